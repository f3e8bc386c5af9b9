//! File-system operations: `fsync`, `fallocate`, `openat`, `close`, `statx`, `unlinkat`,
//! `renameat`, `mkdirat`. Paths are copied into the operation's record.

use io_uring::{opcode, squeue::Entry, types, types::Fd};

use super::{Args, Operation};
use crate::error::Errno;
use crate::ring::operation::check_fd;

/// With `ar_op_fsync`: flush data only, like `fdatasync(2)`.
pub const AR_FSYNC_DATASYNC: u32 = 1 << 0;

/// A directory fd for the `*at` calls: a real descriptor or `AT_FDCWD`.
fn check_dirfd(fd: i32) -> Result<i32, Errno> {
    if fd == libc::AT_FDCWD { Ok(fd) } else { check_fd(fd) }
}

/// `fsync(2)`, or `fdatasync(2)` with `AR_FSYNC_DATASYNC`.
pub struct Fsync {
    pub fd: i32,
    pub flags: u32,
}

// SAFETY: the entry points at no memory.
unsafe impl Operation for Fsync {
    const TAKES_FD: bool = true;
    unsafe fn prepare(self, _args: &mut Args) -> Result<Entry, Errno> {
        let fd = check_fd(self.fd)?;
        let flags = match self.flags {
            0 => types::FsyncFlags::empty(),
            AR_FSYNC_DATASYNC => types::FsyncFlags::DATASYNC,
            _ => return Err(Errno::EINVAL),
        };
        Ok(opcode::Fsync::new(Fd(fd)).flags(flags).build())
    }
}

/// `fallocate(2)`.
pub struct Fallocate {
    pub fd: i32,
    pub mode: i32,
    pub offset: u64,
    pub len: u64,
}

// SAFETY: the entry points at no memory.
unsafe impl Operation for Fallocate {
    const TAKES_FD: bool = true;
    unsafe fn prepare(self, _args: &mut Args) -> Result<Entry, Errno> {
        let fd = check_fd(self.fd)?;
        if self.offset > i64::MAX as u64 || self.len > i64::MAX as u64 {
            return Err(Errno::EINVAL);
        }
        Ok(opcode::Fallocate::new(Fd(fd), self.len).offset(self.offset).mode(self.mode).build())
    }
}

/// `openat(2)`; the result is the new fd.
pub struct OpenAt {
    pub dirfd: i32,
    pub path: *const libc::c_char,
    pub flags: i32,
    pub mode: u32,
}

// SAFETY: the entry points at the record's copy of the path.
unsafe impl Operation for OpenAt {
    unsafe fn prepare(self, args: &mut Args) -> Result<Entry, Errno> {
        let dirfd = check_dirfd(self.dirfd)?;
        // SAFETY: the C API's contract: `path` is NULL or NUL-terminated.
        let path = unsafe { Args::copy_path(&mut args.path, self.path)? };
        // O_CLOEXEC by default would surprise C users who pass their own flags; pass as given.
        Ok(opcode::OpenAt::new(Fd(dirfd), path).flags(self.flags).mode(self.mode).build())
    }
}

/// `close(2)`.
pub struct Close {
    pub fd: i32,
}

// SAFETY: the entry points at no memory.
unsafe impl Operation for Close {
    unsafe fn prepare(self, _args: &mut Args) -> Result<Entry, Errno> {
        Ok(opcode::Close::new(Fd(check_fd(self.fd)?)).build())
    }
}

/// `statx(2)` into the caller's `struct statx`.
pub struct Statx {
    pub dirfd: i32,
    pub path: *const libc::c_char,
    pub flags: i32,
    pub mask: u32,
    pub out: *mut libc::statx,
}

// SAFETY: the entry points at the record's copy of the path and the caller's statx buffer.
unsafe impl Operation for Statx {
    unsafe fn prepare(self, args: &mut Args) -> Result<Entry, Errno> {
        let dirfd = check_dirfd(self.dirfd)?;
        if self.out.is_null() {
            return Err(Errno::EINVAL);
        }
        // SAFETY: the C API's contract: `path` is NULL or NUL-terminated.
        let path = unsafe { Args::copy_path(&mut args.path, self.path)? };
        Ok(opcode::Statx::new(Fd(dirfd), path, self.out.cast()).flags(self.flags).mask(self.mask).build())
    }
}

/// `unlinkat(2)` (`AT_REMOVEDIR` in `flags` removes a directory).
pub struct UnlinkAt {
    pub dirfd: i32,
    pub path: *const libc::c_char,
    pub flags: i32,
}

// SAFETY: the entry points at the record's copy of the path.
unsafe impl Operation for UnlinkAt {
    unsafe fn prepare(self, args: &mut Args) -> Result<Entry, Errno> {
        let dirfd = check_dirfd(self.dirfd)?;
        // SAFETY: the C API's contract: `path` is NULL or NUL-terminated.
        let path = unsafe { Args::copy_path(&mut args.path, self.path)? };
        Ok(opcode::UnlinkAt::new(Fd(dirfd), path).flags(self.flags).build())
    }
}

/// `renameat2(2)`.
pub struct RenameAt {
    pub olddirfd: i32,
    pub oldpath: *const libc::c_char,
    pub newdirfd: i32,
    pub newpath: *const libc::c_char,
    pub flags: u32,
}

// SAFETY: the entry points at the record's copies of both paths.
unsafe impl Operation for RenameAt {
    unsafe fn prepare(self, args: &mut Args) -> Result<Entry, Errno> {
        let (olddir, newdir) = (check_dirfd(self.olddirfd)?, check_dirfd(self.newdirfd)?);
        // SAFETY: the C API's contract: both paths are NULL or NUL-terminated.
        let old = unsafe { Args::copy_path(&mut args.path, self.oldpath)? };
        // SAFETY: as above.
        let new = unsafe { Args::copy_path(&mut args.path2, self.newpath)? };
        Ok(opcode::RenameAt::new(Fd(olddir), old, Fd(newdir), new).flags(self.flags).build())
    }
}

/// `mkdirat(2)`.
pub struct MkdirAt {
    pub dirfd: i32,
    pub path: *const libc::c_char,
    pub mode: u32,
}

// SAFETY: the entry points at the record's copy of the path.
unsafe impl Operation for MkdirAt {
    unsafe fn prepare(self, args: &mut Args) -> Result<Entry, Errno> {
        let dirfd = check_dirfd(self.dirfd)?;
        // SAFETY: the C API's contract: `path` is NULL or NUL-terminated.
        let path = unsafe { Args::copy_path(&mut args.path, self.path)? };
        Ok(opcode::MkDirAt::new(Fd(dirfd), path).mode(self.mode).build())
    }
}
