//! `ar_op_*` for files and byte streams: reads and writes (plain, vectored, fixed), sync
//! and allocation, the `*at` path calls, `statx`, `close` and `splice`.

use std::ffi::{c_char, c_int, c_void};

use super::queue;
use crate::op::{self, OpOpts};
use crate::ring::Ring;
use crate::ring::completion::OpCallback;

/// Queues a read of up to `len` bytes from `fd` at `offset` into `buf`; `res` is the byte
/// count (0 at end of file).
///
/// Parameters: `fd`: file descriptor (or registered-file index with `AR_OP_FIXED_FILE`);
/// `buf`, `len`: destination (`len` <= `INT_MAX`); `offset`: file offset, or `UINT64_MAX`
/// for the file's current position (and for pipes and sockets).
///
/// Returns: the operation id, or `-errno` as in the ar_op_* contract.
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
/// Returns: the operation id, or `-errno` as in the ar_op_* contract.
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
/// Returns: the operation id, or `-errno` as in the ar_op_* contract.
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
/// Returns: the operation id, or `-errno` as in the ar_op_* contract.
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

/// Queues a read into registered buffer `buf_index` (see `ar_ring_register_buffers`).
///
/// Parameters: `buf`, `len`: a range inside that registered buffer; others as `ar_op_read`.
///
/// Returns: the operation id, or `-errno` as in the ar_op_* contract; a range outside the
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
/// Returns: the operation id, or `-errno` as in the ar_op_* contract; a range outside the
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

/// Queues `fsync(fd)`, or `fdatasync(fd)` with `AR_FSYNC_DATASYNC`.
///
/// Parameters: `flags`: 0 or `AR_FSYNC_DATASYNC`.
///
/// Returns: the operation id, or `-errno` as in the ar_op_* contract.
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
/// Returns: the operation id, or `-errno` as in the ar_op_* contract.
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
/// Returns: the operation id, or `-errno` as in the ar_op_* contract.
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
/// Returns: the operation id, or `-errno` as in the ar_op_* contract.
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
/// Returns: the operation id, or `-errno` as in the ar_op_* contract.
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
/// Returns: the operation id, or `-errno` as in the ar_op_* contract.
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
/// Returns: the operation id, or `-errno` as in the ar_op_* contract.
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
/// Returns: the operation id, or `-errno` as in the ar_op_* contract.
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

/// Queues `splice(fd_in, off_in, fd_out, off_out, len, flags)`; `res` is the byte count.
///
/// Parameters: offsets are -1 for "none" (required for pipes); `len` <= `UINT32_MAX`;
/// `flags`: `SPLICE_F_*`.
///
/// Returns: the operation id, or `-errno` as in the ar_op_* contract.
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
