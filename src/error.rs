//! Errors as the kernel reports them: a positive `errno` value.
//!
//! The C API returns `-errno` (the same convention as `cqe->res`); the Rust API returns
//! `Result<_, Errno>`. Both describe an error with [`describe`], which explains what the
//! errno means *for this library* rather than the generic libc text.

use std::ffi::CStr;
use std::fmt;

/// A positive `errno` value.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Errno(pub i32);

impl Errno {
    pub const EPERM: Errno = Errno(libc::EPERM);
    pub const ENOENT: Errno = Errno(libc::ENOENT);
    pub const EINTR: Errno = Errno(libc::EINTR);
    pub const EBADF: Errno = Errno(libc::EBADF);
    pub const EAGAIN: Errno = Errno(libc::EAGAIN);
    pub const ENOMEM: Errno = Errno(libc::ENOMEM);
    pub const EBUSY: Errno = Errno(libc::EBUSY);
    pub const EINVAL: Errno = Errno(libc::EINVAL);
    pub const E2BIG: Errno = Errno(libc::E2BIG);
    pub const ENOSYS: Errno = Errno(libc::ENOSYS);
    pub const ETIME: Errno = Errno(libc::ETIME);
    pub const ETIMEDOUT: Errno = Errno(libc::ETIMEDOUT);
    pub const ECANCELED: Errno = Errno(libc::ECANCELED);
    pub const EALREADY: Errno = Errno(libc::EALREADY);
    pub const ESHUTDOWN: Errno = Errno(libc::ESHUTDOWN);
    pub const EOPNOTSUPP: Errno = Errno(libc::EOPNOTSUPP);
    pub const ENOBUFS: Errno = Errno(libc::ENOBUFS);
    pub const ENOSPC: Errno = Errno(libc::ENOSPC);
    pub const EEXIST: Errno = Errno(libc::EEXIST);
    pub const ENXIO: Errno = Errno(libc::ENXIO);
    pub const ESPIPE: Errno = Errno(libc::ESPIPE);
    pub const EINPROGRESS: Errno = Errno(libc::EINPROGRESS);
    pub const EMFILE: Errno = Errno(libc::EMFILE);
    pub const ENFILE: Errno = Errno(libc::ENFILE);
    /// What a panic caught at the C boundary becomes. It means a bug in this library.
    pub const INTERNAL: Errno = Errno(libc::ENOTRECOVERABLE);

    /// The calling thread's current `errno`.
    pub fn last() -> Errno {
        Errno(std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO))
    }

    /// The value as the C API returns it: `-errno`.
    pub fn negated(self) -> i32 {
        -self.0
    }
}

impl From<std::io::Error> for Errno {
    fn from(e: std::io::Error) -> Errno {
        Errno(e.raw_os_error().unwrap_or(libc::EIO))
    }
}

impl fmt::Debug for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Errno({}: {})", self.0, describe(self.0).to_str().unwrap_or("?"))
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(describe(self.0).to_str().unwrap_or("?"))
    }
}

impl std::error::Error for Errno {}

/// A static, NUL-terminated description of `err` (positive or negative errno).
///
/// The texts say what the error means for a caller of this library where that differs from
/// the plain libc meaning; every other value falls back to a generic description.
pub fn describe(err: i32) -> &'static CStr {
    match err.unsigned_abs() as i32 {
        0 => c"success",
        libc::EPERM => c"operation not permitted (for io_uring: seccomp or kernel.io_uring_disabled; see ar_ring_probe)",
        libc::ENOENT => c"no such file, or no such operation: the id is unknown or already finished",
        libc::EINTR => c"interrupted by a signal",
        libc::EIO => c"input/output error",
        libc::EBADF => c"bad file descriptor",
        libc::EAGAIN => c"resource temporarily unavailable",
        libc::ENOMEM => c"out of memory",
        libc::EACCES => c"permission denied",
        libc::EFAULT => c"bad address",
        libc::EBUSY => c"ring busy: used by another thread at the same time, or a call not allowed inside a callback",
        libc::EEXIST => c"file exists (or: SINGLE_THREAD ring used from a thread other than its creator)",
        libc::ENOTDIR => c"not a directory",
        libc::EISDIR => c"is a directory",
        libc::EINVAL => c"invalid argument (NULL pointer, unknown flags, non-zero reserved field, or a length the kernel does not accept)",
        libc::EMFILE => c"too many open files",
        libc::ENOSPC => c"no space left on device",
        libc::EPIPE => c"broken pipe",
        libc::E2BIG => c"too big: a linked chain longer than the submission queue",
        libc::ENOSYS => c"function not implemented (the kernel has no io_uring or lacks this operation)",
        libc::ENOTEMPTY => c"directory not empty",
        libc::ETIME => c"timer expired",
        libc::EOPNOTSUPP => c"operation not supported by this kernel or for this file",
        libc::ECONNRESET => c"connection reset by peer",
        libc::ENOBUFS => c"no buffer available in the buffer group",
        libc::ETIMEDOUT => c"timed out: the operation's deadline (with AR_COMPLETION_DEADLINE) or the kernel's (a connection that got no answer)",
        libc::ECONNREFUSED => c"connection refused",
        libc::EALREADY => c"operation already in progress and can no longer be cancelled",
        libc::ECANCELED => c"operation cancelled",
        libc::ESHUTDOWN => c"ring is shutting down: no new operations are accepted",
        libc::ENXIO => c"no such resource: nothing of that kind is registered with the ring",
        libc::ENAMETOOLONG => c"path too long (longer than PATH_MAX)",
        libc::EOVERFLOW => c"value too large: a count or offset beyond what the kernel accepts",
        libc::ENOTRECOVERABLE => c"internal error in libasyncring (a bug: please report it)",
        _ => c"unknown error",
    }
}
