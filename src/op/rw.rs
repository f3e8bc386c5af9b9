//! Reads and writes: `read`, `write`, `readv`, `writev`.
//!
//! The data buffers belong to the caller, who keeps them alive until the final completion;
//! the iovec arrays of `readv`/`writev` are copied, so the caller's array may be temporary.

use io_uring::{opcode, squeue::Entry, types::Fd};

use super::{Args, Operation};
use crate::error::Errno;
use crate::ring::operation::check_buf;
use crate::ring::operation::check_fd;

/// The kernel's limit on iovecs per call (`UIO_MAXIOV`).
const IOV_MAX: usize = 1024;

/// `read(2)` at `offset` (`u64::MAX`: the file's current position, 5.6).
pub struct Read {
    pub fd: i32,
    pub buf: *mut u8,
    pub len: usize,
    pub offset: u64,
}

/// `write(2)` at `offset` (`u64::MAX`: the file's current position, 5.6).
pub struct Write {
    pub fd: i32,
    pub buf: *const u8,
    pub len: usize,
    pub offset: u64,
}

/// `preadv2(2)`: scatter into `iovcnt` caller buffers.
pub struct Readv {
    pub fd: i32,
    pub iov: *const libc::iovec,
    pub iovcnt: usize,
    pub offset: u64,
}

/// `pwritev2(2)`: gather from `iovcnt` caller buffers.
pub struct Writev {
    pub fd: i32,
    pub iov: *const libc::iovec,
    pub iovcnt: usize,
    pub offset: u64,
}

// SAFETY: the entry points at the caller's buffer, which the caller keeps alive.
unsafe impl Operation for Read {
    const TAKES_FD: bool = true;
    unsafe fn prepare(self, _args: &mut Args) -> Result<Entry, Errno> {
        let len = check_buf(self.buf, self.len)?;
        Ok(opcode::Read::new(Fd(check_fd(self.fd)?), self.buf, len).offset(self.offset).build())
    }
}

// SAFETY: the entry points at the caller's buffer, which the caller keeps alive.
unsafe impl Operation for Write {
    const TAKES_FD: bool = true;
    unsafe fn prepare(self, _args: &mut Args) -> Result<Entry, Errno> {
        let len = check_buf(self.buf, self.len)?;
        Ok(opcode::Write::new(Fd(check_fd(self.fd)?), self.buf, len).offset(self.offset).build())
    }
}

/// Copies the caller's iovec array into the record and checks it.
///
/// # Safety
///
/// `iov` points to `iovcnt` readable iovecs (or is NULL, which is rejected).
pub(crate) unsafe fn copy_iovecs(
    args: &mut Args,
    iov: *const libc::iovec,
    iovcnt: usize,
) -> Result<(*const libc::iovec, u32), Errno> {
    if iov.is_null() || iovcnt == 0 || iovcnt > IOV_MAX {
        return Err(Errno::EINVAL);
    }
    // SAFETY: the caller guarantees `iovcnt` readable iovecs at `iov`.
    let src = unsafe { std::slice::from_raw_parts(iov, iovcnt) };
    let mut total = 0usize;
    for v in src {
        check_buf(v.iov_base.cast(), v.iov_len)?;
        total = total.checked_add(v.iov_len).ok_or(Errno::EINVAL)?;
    }
    if total > i32::MAX as usize {
        return Err(Errno::EINVAL);
    }
    args.iovecs.clear();
    args.iovecs.try_reserve(iovcnt).map_err(|_| Errno::ENOMEM)?;
    args.iovecs.extend_from_slice(src);
    Ok((args.iovecs.as_ptr(), iovcnt as u32))
}

// SAFETY: the entry points at the record's copy of the iovecs and at caller buffers.
unsafe impl Operation for Readv {
    const TAKES_FD: bool = true;
    unsafe fn prepare(self, args: &mut Args) -> Result<Entry, Errno> {
        let fd = check_fd(self.fd)?;
        // SAFETY: `Readv`'s contract (the C API's) is that `iov` holds `iovcnt` iovecs.
        let (iov, n) = unsafe { copy_iovecs(args, self.iov, self.iovcnt)? };
        Ok(opcode::Readv::new(Fd(fd), iov, n).offset(self.offset).build())
    }
}

// SAFETY: the entry points at the record's copy of the iovecs and at caller buffers.
unsafe impl Operation for Writev {
    const TAKES_FD: bool = true;
    unsafe fn prepare(self, args: &mut Args) -> Result<Entry, Errno> {
        let fd = check_fd(self.fd)?;
        // SAFETY: `Writev`'s contract (the C API's) is that `iov` holds `iovcnt` iovecs.
        let (iov, n) = unsafe { copy_iovecs(args, self.iov, self.iovcnt)? };
        Ok(opcode::Writev::new(Fd(fd), iov, n).offset(self.offset).build())
    }
}
