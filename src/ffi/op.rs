//! `ar_op_*`: queueing operations. Each export converts its arguments into an operation of
//! `crate::op` and queues it; the shared contract of every `ar_op_*` call is:
//!
//! - `ring`: the ring; `opts`: NULL or per-operation options (`ar_op_opts`); `userdata` and
//!   `cb`: the callback (required) and its first argument.
//! - Thread safety: the thread using the ring, also from inside a callback; with
//!   `AR_RING_THREADSAFE`, any thread.
//! - Returns the operation id (> 0), or `-EINVAL` (NULL ring or callback, bad flags,
//!   non-zero reserved, NULL required pointer, a length the kernel does not accept),
//!   `-EBADF` (negative fd), `-EBUSY` (another thread is using the ring), `-ESHUTDOWN`
//!   (inside `ar_ring_free`), `-ENOMEM`. On error nothing is queued and no callback runs.
//! - The callback runs exactly once without `AR_COMPLETION_MORE`, from `ar_ring_run`.
//! - Paths, iovec arrays, addresses and timespecs are copied; data buffers are not, and
//!   must stay valid until the final callback.

use std::ffi::{c_char, c_int, c_void};

use super::boundary::{boundary, boundary_i64, opt, ring};
use crate::error::Errno;
use crate::op::{self, OpOpts, Operation};
use crate::ring::Ring;
use crate::ring::completion::OpCallback;

/// The body every `ar_op_*` export shares: the id or `-errno`, with the panic guard.
///
/// # Safety
///
/// `ring` and `opts` are NULL or valid; the operation's pointers obey its contract.
#[inline(always)]
unsafe fn queue<O: Operation>(
    ring: *mut Ring,
    op: O,
    opts: *const OpOpts,
    userdata: *mut c_void,
    cb: OpCallback,
) -> i64 {
    boundary_i64(|| {
        // SAFETY: the caller's contract.
        match unsafe { ring.as_ref() } {
            // SAFETY: as above.
            Some(ring) => unsafe { ring.queue_id(op, opt(opts), userdata, cb) },
            None => Errno::EINVAL.negated().into(),
        }
    })
}

/// Queues a no-op; it completes with 0.
///
/// Parameters: see the module contract.
///
/// Returns: the operation id, or `-errno` as in the module contract.
///
/// Memory and lifetimes: nothing to keep alive.
///
/// Thread safety: the thread using the ring (also from inside a callback); any thread with
/// `AR_RING_THREADSAFE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ar_op_nop(ring: *mut Ring, opts: *const OpOpts, userdata: *mut c_void, cb: OpCallback) -> i64 {
    // SAFETY: the caller passes valid pointers.
    unsafe { queue(ring, op::Nop, opts, userdata, cb) }
}

/// Queues a read of up to `len` bytes from `fd` at `offset` into `buf`; `res` is the byte
/// count (0 at end of file).
///
/// Parameters: `fd`: file descriptor (or registered-file index with `AR_OP_FIXED_FILE`);
/// `buf`, `len`: destination (`len` <= `INT_MAX`); `offset`: file offset, or `UINT64_MAX`
/// for the file's current position (and for pipes and sockets).
///
/// Returns: the operation id, or `-errno` as in the module contract.
///
/// Memory and lifetimes: `buf` must stay valid until the final callback.
///
/// Thread safety: the thread using the ring (also from inside a callback); any thread with
/// `AR_RING_THREADSAFE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ar_op_read(
    ring: *mut Ring,
    fd: c_int,
    buf: *mut c_void,
    len: usize,
    offset: u64,
    opts: *const OpOpts,
    userdata: *mut c_void,
    cb: OpCallback,
) -> i64 {
    // SAFETY: the caller passes valid pointers.
    unsafe { queue(ring, op::Read { fd, buf: buf.cast(), len, offset }, opts, userdata, cb) }
}

/// Queues a write of `len` bytes from `buf` to `fd` at `offset`; `res` is the byte count.
///
/// Parameters: as `ar_op_read`.
///
/// Returns: the operation id, or `-errno` as in the module contract.
///
/// Memory and lifetimes: `buf` must stay valid until the final callback.
///
/// Thread safety: the thread using the ring (also from inside a callback); any thread with
/// `AR_RING_THREADSAFE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ar_op_write(
    ring: *mut Ring,
    fd: c_int,
    buf: *const c_void,
    len: usize,
    offset: u64,
    opts: *const OpOpts,
    userdata: *mut c_void,
    cb: OpCallback,
) -> i64 {
    // SAFETY: the caller passes valid pointers.
    unsafe { queue(ring, op::Write { fd, buf: buf.cast(), len, offset }, opts, userdata, cb) }
}

/// Queues a scatter read (`preadv2`) into `iovcnt` buffers.
///
/// Parameters: `iov`, `iovcnt`: 1 to 1024 iovecs, total length <= `INT_MAX`; `offset` as
/// `ar_op_read`.
///
/// Returns: the operation id, or `-errno` as in the module contract.
///
/// Memory and lifetimes: the iovec array is copied and may be freed at once; the buffers it
/// describes must stay valid until the final callback.
///
/// Thread safety: the thread using the ring (also from inside a callback); any thread with
/// `AR_RING_THREADSAFE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ar_op_readv(
    ring: *mut Ring,
    fd: c_int,
    iov: *const libc::iovec,
    iovcnt: usize,
    offset: u64,
    opts: *const OpOpts,
    userdata: *mut c_void,
    cb: OpCallback,
) -> i64 {
    // SAFETY: the caller passes valid pointers.
    unsafe { queue(ring, op::Readv { fd, iov, iovcnt, offset }, opts, userdata, cb) }
}

/// Queues a gather write (`pwritev2`) from `iovcnt` buffers.
///
/// Parameters: as `ar_op_readv`.
///
/// Returns: the operation id, or `-errno` as in the module contract.
///
/// Memory and lifetimes: the iovec array is copied; the buffers must stay valid until the
/// final callback.
///
/// Thread safety: the thread using the ring (also from inside a callback); any thread with
/// `AR_RING_THREADSAFE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ar_op_writev(
    ring: *mut Ring,
    fd: c_int,
    iov: *const libc::iovec,
    iovcnt: usize,
    offset: u64,
    opts: *const OpOpts,
    userdata: *mut c_void,
    cb: OpCallback,
) -> i64 {
    // SAFETY: the caller passes valid pointers.
    unsafe { queue(ring, op::Writev { fd, iov, iovcnt, offset }, opts, userdata, cb) }
}

/// Queues `fsync(fd)`, or `fdatasync(fd)` with `AR_FSYNC_DATASYNC`.
///
/// Parameters: `flags`: 0 or `AR_FSYNC_DATASYNC`.
///
/// Returns: the operation id, or `-errno` as in the module contract.
///
/// Memory and lifetimes: nothing to keep alive.
///
/// Thread safety: the thread using the ring (also from inside a callback); any thread with
/// `AR_RING_THREADSAFE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ar_op_fsync(
    ring: *mut Ring,
    fd: c_int,
    flags: u32,
    opts: *const OpOpts,
    userdata: *mut c_void,
    cb: OpCallback,
) -> i64 {
    // SAFETY: the caller passes valid pointers.
    unsafe { queue(ring, op::Fsync { fd, flags }, opts, userdata, cb) }
}

/// Queues `fallocate(fd, mode, offset, len)`.
///
/// Parameters: `mode`: `FALLOC_FL_*` flags; `offset`, `len`: the range (<= `INT64_MAX`).
///
/// Returns: the operation id, or `-errno` as in the module contract.
///
/// Memory and lifetimes: nothing to keep alive.
///
/// Thread safety: the thread using the ring (also from inside a callback); any thread with
/// `AR_RING_THREADSAFE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ar_op_fallocate(
    ring: *mut Ring,
    fd: c_int,
    mode: c_int,
    offset: u64,
    len: u64,
    opts: *const OpOpts,
    userdata: *mut c_void,
    cb: OpCallback,
) -> i64 {
    // SAFETY: the caller passes valid pointers.
    unsafe { queue(ring, op::Fallocate { fd, mode, offset, len }, opts, userdata, cb) }
}

/// Queues `openat(dirfd, path, flags, mode)`; `res` is the new file descriptor.
///
/// Parameters: `dirfd`: a directory fd or `AT_FDCWD`; `path`: NUL-terminated;
/// `flags`: `O_*`; `mode`: permissions with `O_CREAT`.
///
/// Returns: the operation id, or `-errno` as in the module contract.
///
/// Memory and lifetimes: `path` is copied and may be freed at once.
///
/// Thread safety: the thread using the ring (also from inside a callback); any thread with
/// `AR_RING_THREADSAFE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ar_op_openat(
    ring: *mut Ring,
    dirfd: c_int,
    path: *const c_char,
    flags: c_int,
    mode: u32,
    opts: *const OpOpts,
    userdata: *mut c_void,
    cb: OpCallback,
) -> i64 {
    // SAFETY: the caller passes valid pointers.
    unsafe { queue(ring, op::OpenAt { dirfd, path, flags, mode }, opts, userdata, cb) }
}

/// Queues `close(fd)`.
///
/// Parameters: `fd`: the descriptor (`AR_OP_FIXED_FILE` is not accepted).
///
/// Returns: the operation id, or `-errno` as in the module contract.
///
/// Memory and lifetimes: nothing to keep alive.
///
/// Thread safety: the thread using the ring (also from inside a callback); any thread with
/// `AR_RING_THREADSAFE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ar_op_close(
    ring: *mut Ring,
    fd: c_int,
    opts: *const OpOpts,
    userdata: *mut c_void,
    cb: OpCallback,
) -> i64 {
    // SAFETY: the caller passes valid pointers.
    unsafe { queue(ring, op::Close { fd }, opts, userdata, cb) }
}

/// Queues `statx(dirfd, path, flags, mask, statxbuf)`.
///
/// Parameters: `dirfd`: a directory fd or `AT_FDCWD`; `path`: NUL-terminated (`""` with
/// `AT_EMPTY_PATH` for `dirfd` itself); `flags`: `AT_*`; `mask`: `STATX_*`; `statxbuf`:
/// where the kernel writes the result.
///
/// Returns: the operation id, or `-errno` as in the module contract.
///
/// Memory and lifetimes: `path` is copied; `statxbuf` must stay valid until the final
/// callback.
///
/// Thread safety: the thread using the ring (also from inside a callback); any thread with
/// `AR_RING_THREADSAFE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ar_op_statx(
    ring: *mut Ring,
    dirfd: c_int,
    path: *const c_char,
    flags: c_int,
    mask: u32,
    statxbuf: *mut libc::statx,
    opts: *const OpOpts,
    userdata: *mut c_void,
    cb: OpCallback,
) -> i64 {
    // SAFETY: the caller passes valid pointers.
    unsafe { queue(ring, op::Statx { dirfd, path, flags, mask, out: statxbuf }, opts, userdata, cb) }
}

/// Queues `unlinkat(dirfd, path, flags)` (`AT_REMOVEDIR` removes a directory).
///
/// Parameters: `dirfd`: a directory fd or `AT_FDCWD`; `path`: NUL-terminated; `flags`.
///
/// Returns: the operation id, or `-errno` as in the module contract.
///
/// Memory and lifetimes: `path` is copied.
///
/// Thread safety: the thread using the ring (also from inside a callback); any thread with
/// `AR_RING_THREADSAFE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ar_op_unlinkat(
    ring: *mut Ring,
    dirfd: c_int,
    path: *const c_char,
    flags: c_int,
    opts: *const OpOpts,
    userdata: *mut c_void,
    cb: OpCallback,
) -> i64 {
    // SAFETY: the caller passes valid pointers.
    unsafe { queue(ring, op::UnlinkAt { dirfd, path, flags }, opts, userdata, cb) }
}

/// Queues `renameat2(olddirfd, oldpath, newdirfd, newpath, flags)`.
///
/// Parameters: directory fds (or `AT_FDCWD`), NUL-terminated paths, `RENAME_*` flags.
///
/// Returns: the operation id, or `-errno` as in the module contract.
///
/// Memory and lifetimes: both paths are copied.
///
/// Thread safety: the thread using the ring (also from inside a callback); any thread with
/// `AR_RING_THREADSAFE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ar_op_renameat(
    ring: *mut Ring,
    olddirfd: c_int,
    oldpath: *const c_char,
    newdirfd: c_int,
    newpath: *const c_char,
    flags: u32,
    opts: *const OpOpts,
    userdata: *mut c_void,
    cb: OpCallback,
) -> i64 {
    // SAFETY: the caller passes valid pointers.
    unsafe { queue(ring, op::RenameAt { olddirfd, oldpath, newdirfd, newpath, flags }, opts, userdata, cb) }
}

/// Queues `mkdirat(dirfd, path, mode)`.
///
/// Parameters: `dirfd`: a directory fd or `AT_FDCWD`; `path`: NUL-terminated; `mode`.
///
/// Returns: the operation id, or `-errno` as in the module contract.
///
/// Memory and lifetimes: `path` is copied.
///
/// Thread safety: the thread using the ring (also from inside a callback); any thread with
/// `AR_RING_THREADSAFE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ar_op_mkdirat(
    ring: *mut Ring,
    dirfd: c_int,
    path: *const c_char,
    mode: u32,
    opts: *const OpOpts,
    userdata: *mut c_void,
    cb: OpCallback,
) -> i64 {
    // SAFETY: the caller passes valid pointers.
    unsafe { queue(ring, op::MkdirAt { dirfd, path, mode }, opts, userdata, cb) }
}

/// Queues a timer of `ns` nanoseconds; `res` is 0 when it fires, `-ECANCELED` if cancelled.
///
/// Parameters: `ns`: the delay.
///
/// Returns: the operation id, or `-errno` as in the module contract.
///
/// Memory and lifetimes: nothing to keep alive.
///
/// Thread safety: the thread using the ring (also from inside a callback); any thread with
/// `AR_RING_THREADSAFE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ar_op_timeout(
    ring: *mut Ring,
    ns: u64,
    opts: *const OpOpts,
    userdata: *mut c_void,
    cb: OpCallback,
) -> i64 {
    // SAFETY: the caller passes valid pointers.
    unsafe { queue(ring, op::Timeout { ns }, opts, userdata, cb) }
}

/// Requests cancellation of operation `target`. The target then completes with
/// `-ECANCELED`; the cancel itself completes with 0 (done), `-ENOENT` (the target finished
/// first) or `-EALREADY` (it is running and cannot be interrupted).
///
/// Parameters: `target`: an id returned by an `ar_op_*` call on this ring.
///
/// Returns: the cancel's own id; `-ENOENT` at once, queueing nothing, when `target` is not a
/// live operation (already finished, or never existed): ids carry a generation, so a stale
/// id never affects the operation that reuses its slot. Otherwise as the module contract.
///
/// Memory and lifetimes: nothing to keep alive.
///
/// Thread safety: the thread using the ring (also from inside a callback); any thread with
/// `AR_RING_THREADSAFE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ar_op_cancel(
    ring: *mut Ring,
    target: i64,
    opts: *const OpOpts,
    userdata: *mut c_void,
    cb: OpCallback,
) -> i64 {
    // SAFETY: the caller passes valid pointers.
    boundary(|| unsafe { self::ring(ring)?.cancel(target, opt(opts), userdata, cb) })
}

/// Requests cancellation of operations on file descriptor `fd`: the first one found, or all
/// of them with `AR_CANCEL_ALL`. `res` is 0 (or, with `AR_CANCEL_ALL`, how many were
/// cancelled), or `-ENOENT` when none matched.
///
/// Parameters: `fd`: the descriptor; `flags`: 0 or `AR_CANCEL_ALL`.
///
/// Returns: the cancel's own id, or `-errno` as in the module contract.
///
/// Memory and lifetimes: nothing to keep alive.
///
/// Thread safety: the thread using the ring (also from inside a callback); any thread with
/// `AR_RING_THREADSAFE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ar_op_cancel_fd(
    ring: *mut Ring,
    fd: c_int,
    flags: u32,
    opts: *const OpOpts,
    userdata: *mut c_void,
    cb: OpCallback,
) -> i64 {
    // SAFETY: the caller passes valid pointers.
    boundary(|| unsafe { self::ring(ring)?.cancel_fd(fd, flags, opt(opts), userdata, cb) })
}

/// Queues `socket(domain, type, protocol)`; `res` is the new socket fd.
///
/// Parameters: as `socket(2)` (`SOCK_NONBLOCK`/`SOCK_CLOEXEC` may be or'ed into `type`).
///
/// Returns: the operation id, or `-errno` as in the module contract.
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
/// Returns: the operation id, or `-errno` as in the module contract.
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
/// Returns: the operation id, or `-errno` as in the module contract.
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
/// Returns: the operation id, or `-errno` as in the module contract.
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
/// Returns: the operation id, or `-errno` as in the module contract.
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
/// Returns: the operation id, or `-errno` as in the module contract.
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
/// Returns: the operation id, or `-errno` as in the module contract.
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
/// Returns: the operation id, or `-errno` as in the module contract.
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
/// Returns: the operation id, or `-errno` as in the module contract.
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
/// Returns: the operation id, or `-errno` as in the module contract.
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
/// Returns: the operation id, or `-errno` as in the module contract.
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
/// Returns: the operation id, or `-errno` as in the module contract.
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
/// Returns: the operation id, or `-errno` as in the module contract.
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

/// Queues `splice(fd_in, off_in, fd_out, off_out, len, flags)`; `res` is the byte count.
///
/// Parameters: offsets are -1 for "none" (required for pipes); `len` <= `UINT32_MAX`;
/// `flags`: `SPLICE_F_*`.
///
/// Returns: the operation id, or `-errno` as in the module contract.
///
/// Memory and lifetimes: nothing to keep alive.
///
/// Thread safety: the thread using the ring (also from inside a callback); any thread with
/// `AR_RING_THREADSAFE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ar_op_splice(
    ring: *mut Ring,
    fd_in: c_int,
    off_in: i64,
    fd_out: c_int,
    off_out: i64,
    len: usize,
    flags: u32,
    opts: *const OpOpts,
    userdata: *mut c_void,
    cb: OpCallback,
) -> i64 {
    // SAFETY: the caller passes valid pointers.
    unsafe { queue(ring, op::Splice { fd_in, off_in, fd_out, off_out, len, flags }, opts, userdata, cb) }
}

/// Queues a read into registered buffer `buf_index` (see `ar_ring_register_buffers`).
///
/// Parameters: `buf`, `len`: a range inside that registered buffer; others as `ar_op_read`.
///
/// Returns: the operation id, or `-errno` as in the module contract; a range outside the
/// registered buffer completes with `-EFAULT`.
///
/// Memory and lifetimes: the registered buffer must stay valid until the final callback.
///
/// Thread safety: the thread using the ring (also from inside a callback); any thread with
/// `AR_RING_THREADSAFE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ar_op_read_fixed(
    ring: *mut Ring,
    fd: c_int,
    buf: *mut c_void,
    len: usize,
    offset: u64,
    buf_index: u16,
    opts: *const OpOpts,
    userdata: *mut c_void,
    cb: OpCallback,
) -> i64 {
    // SAFETY: the caller passes valid pointers.
    unsafe { queue(ring, op::ReadFixed { fd, buf: buf.cast(), len, offset, buf_index }, opts, userdata, cb) }
}

/// Queues a write from registered buffer `buf_index` (see `ar_ring_register_buffers`).
///
/// Parameters: `buf`, `len`: a range inside that registered buffer; others as `ar_op_write`.
///
/// Returns: the operation id, or `-errno` as in the module contract; a range outside the
/// registered buffer completes with `-EFAULT`.
///
/// Memory and lifetimes: the registered buffer must stay valid until the final callback.
///
/// Thread safety: the thread using the ring (also from inside a callback); any thread with
/// `AR_RING_THREADSAFE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ar_op_write_fixed(
    ring: *mut Ring,
    fd: c_int,
    buf: *const c_void,
    len: usize,
    offset: u64,
    buf_index: u16,
    opts: *const OpOpts,
    userdata: *mut c_void,
    cb: OpCallback,
) -> i64 {
    // SAFETY: the caller passes valid pointers.
    unsafe { queue(ring, op::WriteFixed { fd, buf: buf.cast(), len, offset, buf_index }, opts, userdata, cb) }
}
