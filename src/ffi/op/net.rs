//! `ar_op_*` for sockets: `socket`, `connect`, `accept` (single and multishot), `send` and
//! `recv` (plain, multishot into a buffer group, zero-copy, msghdr), `shutdown`, `poll`.

use std::ffi::{c_int, c_void};

use super::queue;
use crate::op::{self, OpOpts};
use crate::ring::Ring;
use crate::ring::completion::OpCallback;

/// Queues `socket(domain, type, protocol)`; `res` is the new socket fd.
///
/// Parameters: as `socket(2)` (`SOCK_NONBLOCK`/`SOCK_CLOEXEC` may be or'ed into `type`).
///
/// Returns: the operation id, or `-errno` as in the ar_op_* contract.
///
/// Memory and lifetimes: nothing to keep alive.
///
/// Thread safety: the thread using the ring (also from inside a callback); any thread with
/// `AR_RING_THREADSAFE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ar_op_socket(
    ring: *mut Ring,
    domain: c_int,
    r#type: c_int,
    protocol: c_int,
    opts: *const OpOpts,
    userdata: *mut c_void,
    cb: OpCallback,
) -> i64 {
    // SAFETY: the caller passes valid pointers.
    unsafe { queue(ring, op::Socket { domain, socket_type: r#type, protocol }, opts, userdata, cb) }
}

/// Queues `connect(fd, addr, addrlen)`; `res` is 0 once connected.
///
/// Parameters: `addr`, `addrlen`: the peer address (at most `sizeof(struct sockaddr_storage)`).
///
/// Returns: the operation id, or `-errno` as in the ar_op_* contract.
///
/// Memory and lifetimes: the address is copied and may be freed at once.
///
/// Thread safety: the thread using the ring (also from inside a callback); any thread with
/// `AR_RING_THREADSAFE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ar_op_connect(
    ring: *mut Ring,
    fd: c_int,
    addr: *const libc::sockaddr,
    addrlen: libc::socklen_t,
    opts: *const OpOpts,
    userdata: *mut c_void,
    cb: OpCallback,
) -> i64 {
    // SAFETY: the caller passes valid pointers.
    unsafe { queue(ring, op::Connect { fd, addr, addrlen }, opts, userdata, cb) }
}

/// Queues `accept4(fd, NULL, NULL, flags)`; `res` is the new connection's fd.
///
/// Parameters: `fd`: a listening socket; `flags`: `SOCK_NONBLOCK`, `SOCK_CLOEXEC`.
///
/// Returns: the operation id, or `-errno` as in the ar_op_* contract.
///
/// Memory and lifetimes: nothing to keep alive.
///
/// Thread safety: the thread using the ring (also from inside a callback); any thread with
/// `AR_RING_THREADSAFE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ar_op_accept(
    ring: *mut Ring,
    fd: c_int,
    flags: c_int,
    opts: *const OpOpts,
    userdata: *mut c_void,
    cb: OpCallback,
) -> i64 {
    // SAFETY: the caller passes valid pointers.
    unsafe { queue(ring, op::Accept { fd, flags }, opts, userdata, cb) }
}

/// Queues a multishot accept: one callback per accepted connection (`res` the new fd,
/// `AR_COMPLETION_MORE` set), until an error, a cancel or teardown ends it with a final
/// callback (without `AR_COMPLETION_MORE`).
///
/// Parameters: as `ar_op_accept`.
///
/// Returns: the operation id, or `-errno` as in the ar_op_* contract.
///
/// Memory and lifetimes: nothing to keep alive.
///
/// Thread safety: the thread using the ring (also from inside a callback); any thread with
/// `AR_RING_THREADSAFE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ar_op_accept_multishot(
    ring: *mut Ring,
    fd: c_int,
    flags: c_int,
    opts: *const OpOpts,
    userdata: *mut c_void,
    cb: OpCallback,
) -> i64 {
    // SAFETY: the caller passes valid pointers.
    unsafe { queue(ring, op::AcceptMulti { fd, flags }, opts, userdata, cb) }
}

/// Queues `send(fd, buf, len, flags)`; `res` is the byte count sent (possibly short unless
/// `MSG_WAITALL` is given).
///
/// Parameters: `buf`, `len`: the data (`len` <= `INT_MAX`); `flags`: `MSG_*`.
///
/// Returns: the operation id, or `-errno` as in the ar_op_* contract.
///
/// Memory and lifetimes: `buf` must stay valid until the final callback.
///
/// Thread safety: the thread using the ring (also from inside a callback); any thread with
/// `AR_RING_THREADSAFE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ar_op_send(
    ring: *mut Ring,
    fd: c_int,
    buf: *const c_void,
    len: usize,
    flags: c_int,
    opts: *const OpOpts,
    userdata: *mut c_void,
    cb: OpCallback,
) -> i64 {
    // SAFETY: the caller passes valid pointers.
    unsafe { queue(ring, op::Send { fd, buf: buf.cast(), len, flags }, opts, userdata, cb) }
}

/// Queues `recv(fd, buf, len, flags)`; `res` is the byte count (0 at end of stream).
///
/// Parameters: `buf`, `len`: the destination; `flags`: `MSG_*`.
///
/// Returns: the operation id, or `-errno` as in the ar_op_* contract.
///
/// Memory and lifetimes: `buf` must stay valid until the final callback.
///
/// Thread safety: the thread using the ring (also from inside a callback); any thread with
/// `AR_RING_THREADSAFE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ar_op_recv(
    ring: *mut Ring,
    fd: c_int,
    buf: *mut c_void,
    len: usize,
    flags: c_int,
    opts: *const OpOpts,
    userdata: *mut c_void,
    cb: OpCallback,
) -> i64 {
    // SAFETY: the caller passes valid pointers.
    unsafe { queue(ring, op::Recv { fd, buf: buf.cast(), len, flags }, opts, userdata, cb) }
}

/// Queues a multishot receive into buffer group `group`: one callback per arrival, carrying
/// a buffer (`AR_COMPLETION_BUFFER`, `buf`, `buf_id`, `res` bytes) and `AR_COMPLETION_MORE`,
/// until end of stream (`res` 0), an error, or a cancel ends it with a final callback.
/// When the group runs dry the kernel ends it with `-ENOBUFS`; with `AR_OP_REARM` in
/// `opts->flags` the library instead keeps it (same id, no callback) and re-arms it when a
/// buffer is recycled, so a burst never ends a stream.
///
/// Parameters: `group`: a buffer group of this ring (another ring's → `-EINVAL`);
/// `flags`: `MSG_*`.
///
/// Returns: the operation id, or `-errno` as in the ar_op_* contract.
///
/// Memory and lifetimes: each buffer is lent until `ar_bufgroup_recycle`; the group must
/// not be freed while you still use a lent buffer.
///
/// Thread safety: the thread using the ring (also from inside a callback); any thread with
/// `AR_RING_THREADSAFE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ar_op_recv_multishot(
    ring: *mut Ring,
    fd: c_int,
    group: *mut crate::ring::buf::BufGroup,
    flags: c_int,
    opts: *const OpOpts,
    userdata: *mut c_void,
    cb: OpCallback,
) -> i64 {
    // SAFETY: the caller passes valid pointers.
    unsafe { queue(ring, op::RecvMulti { fd, group, flags }, opts, userdata, cb) }
}

/// Queues a zero-copy send (6.0). Exactly one callback: `res` is the byte count, delivered
/// only after the kernel has also released the buffer (its notification is handled here).
///
/// Parameters: as `ar_op_send`.
///
/// Returns: the operation id, or `-errno` as in the ar_op_* contract.
///
/// Memory and lifetimes: `buf` must stay valid and unmodified until the callback; after it,
/// the buffer is yours again.
///
/// Thread safety: the thread using the ring (also from inside a callback); any thread with
/// `AR_RING_THREADSAFE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ar_op_send_zc(
    ring: *mut Ring,
    fd: c_int,
    buf: *const c_void,
    len: usize,
    flags: c_int,
    opts: *const OpOpts,
    userdata: *mut c_void,
    cb: OpCallback,
) -> i64 {
    // SAFETY: the caller passes valid pointers.
    unsafe { queue(ring, op::SendZc { fd, buf: buf.cast(), len, flags }, opts, userdata, cb) }
}

/// Queues `sendmsg(fd, msg, flags)`; `res` is the byte count.
///
/// Parameters: `msg`: the message header.
///
/// Returns: the operation id, or `-errno` as in the ar_op_* contract.
///
/// Memory and lifetimes: the header, its iovec array, address and control data are copied;
/// the data buffers must stay valid until the final callback.
///
/// Thread safety: the thread using the ring (also from inside a callback); any thread with
/// `AR_RING_THREADSAFE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ar_op_sendmsg(
    ring: *mut Ring,
    fd: c_int,
    msg: *const libc::msghdr,
    flags: u32,
    opts: *const OpOpts,
    userdata: *mut c_void,
    cb: OpCallback,
) -> i64 {
    // SAFETY: the caller passes valid pointers.
    unsafe { queue(ring, op::SendMsg { fd, msg, flags }, opts, userdata, cb) }
}

/// Queues `recvmsg(fd, msg, flags)`; `res` is the byte count, and the kernel fills
/// `msg->msg_flags`, `msg_namelen` and `msg_controllen`.
///
/// Parameters: `msg`: the message header.
///
/// Returns: the operation id, or `-errno` as in the ar_op_* contract.
///
/// Memory and lifetimes: `msg` and everything it points to must stay valid until the final
/// callback (the kernel writes into them).
///
/// Thread safety: the thread using the ring (also from inside a callback); any thread with
/// `AR_RING_THREADSAFE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ar_op_recvmsg(
    ring: *mut Ring,
    fd: c_int,
    msg: *mut libc::msghdr,
    flags: u32,
    opts: *const OpOpts,
    userdata: *mut c_void,
    cb: OpCallback,
) -> i64 {
    // SAFETY: the caller passes valid pointers.
    unsafe { queue(ring, op::RecvMsg { fd, msg, flags }, opts, userdata, cb) }
}

/// Queues `shutdown(fd, how)`.
///
/// Parameters: `how`: `SHUT_RD`, `SHUT_WR` or `SHUT_RDWR` (else `-EINVAL`).
///
/// Returns: the operation id, or `-errno` as in the ar_op_* contract.
///
/// Memory and lifetimes: nothing to keep alive.
///
/// Thread safety: the thread using the ring (also from inside a callback); any thread with
/// `AR_RING_THREADSAFE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ar_op_shutdown(
    ring: *mut Ring,
    fd: c_int,
    how: c_int,
    opts: *const OpOpts,
    userdata: *mut c_void,
    cb: OpCallback,
) -> i64 {
    // SAFETY: the caller passes valid pointers.
    unsafe { queue(ring, op::Shutdown { fd, how }, opts, userdata, cb) }
}

/// Queues a one-shot poll of `fd` for `events` (`POLLIN`, `POLLOUT`, …); `res` is the ready
/// mask.
///
/// Parameters: `events`: a `poll(2)` event mask.
///
/// Returns: the operation id, or `-errno` as in the ar_op_* contract.
///
/// Memory and lifetimes: nothing to keep alive.
///
/// Thread safety: the thread using the ring (also from inside a callback); any thread with
/// `AR_RING_THREADSAFE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ar_op_poll(
    ring: *mut Ring,
    fd: c_int,
    events: u32,
    opts: *const OpOpts,
    userdata: *mut c_void,
    cb: OpCallback,
) -> i64 {
    // SAFETY: the caller passes valid pointers.
    unsafe { queue(ring, op::Poll { fd, events }, opts, userdata, cb) }
}

/// Queues a multishot poll: a callback with `AR_COMPLETION_MORE` each time `fd` becomes
/// ready, until cancelled (final callback `-ECANCELED`) or an error.
///
/// Parameters: `events`: a `poll(2)` event mask.
///
/// Returns: the operation id, or `-errno` as in the ar_op_* contract.
///
/// Memory and lifetimes: nothing to keep alive.
///
/// Thread safety: the thread using the ring (also from inside a callback); any thread with
/// `AR_RING_THREADSAFE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ar_op_poll_multishot(
    ring: *mut Ring,
    fd: c_int,
    events: u32,
    opts: *const OpOpts,
    userdata: *mut c_void,
    cb: OpCallback,
) -> i64 {
    // SAFETY: the caller passes valid pointers.
    unsafe { queue(ring, op::PollMulti { fd, events }, opts, userdata, cb) }
}
