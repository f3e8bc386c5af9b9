//! Registered resources: buffers (for `read_fixed`/`write_fixed`) and files (for
//! `AR_OP_FIXED_FILE`). Registering saves the kernel per-operation work: pinning pages, and
//! looking up and reference-counting the file.

use crate::error::Errno;
use crate::ring::Ring;

/// The kernel's limit on registered buffers (`IORING_MAX_REG_BUFFERS`).
const MAX_BUFFERS: u32 = 1 << 14;
/// A generous bound on registered files; the kernel's limit is RLIMIT_NOFILE.
const MAX_FILES: u32 = 1 << 20;

impl Ring {
    /// Registers `count` buffers; operation `read_fixed`/`write_fixed` name one by index.
    ///
    /// # Safety
    ///
    /// `iovs` points to `count` iovecs describing memory that stays valid until the buffers
    /// are unregistered or the ring is freed.
    pub unsafe fn register_buffers(&self, iovs: *const libc::iovec, count: u32) -> Result<(), Errno> {
        if iovs.is_null() || count == 0 || count > MAX_BUFFERS {
            return Err(Errno::EINVAL);
        }
        let _claim = self.owner.claim()?;
        // SAFETY: the caller guarantees `count` iovecs at `iovs`.
        let iovs = unsafe { std::slice::from_raw_parts(iovs, count as usize) };
        // SAFETY: the caller keeps the memory valid while registered.
        unsafe { self.kernel.register_buffers(iovs) }?;
        Ok(())
    }

    /// Unregisters the buffers; `-ENXIO` when none are registered.
    pub fn unregister_buffers(&self) -> Result<(), Errno> {
        let _claim = self.owner.claim()?;
        self.kernel.unregister_buffers()?;
        Ok(())
    }

    /// Registers `count` file descriptors; with `AR_OP_FIXED_FILE` an operation's `fd` is an
    /// index into this table. `-1` entries leave a slot empty for `update_files`.
    ///
    /// # Safety
    ///
    /// `fds` points to `count` readable ints.
    pub unsafe fn register_files(&self, fds: *const i32, count: u32) -> Result<(), Errno> {
        if fds.is_null() || count == 0 || count > MAX_FILES {
            return Err(Errno::EINVAL);
        }
        let _claim = self.owner.claim()?;
        // SAFETY: the caller guarantees `count` ints at `fds`.
        let fds = unsafe { std::slice::from_raw_parts(fds, count as usize) };
        self.kernel.register_files(fds)?;
        Ok(())
    }

    /// Replaces `count` registered files starting at slot `offset` (`-1` empties a slot).
    /// Returns how many slots were updated.
    ///
    /// # Safety
    ///
    /// `fds` points to `count` readable ints.
    pub unsafe fn update_files(&self, offset: u32, fds: *const i32, count: u32) -> Result<u32, Errno> {
        if fds.is_null() || count == 0 || count > MAX_FILES {
            return Err(Errno::EINVAL);
        }
        let _claim = self.owner.claim()?;
        // SAFETY: the caller guarantees `count` ints at `fds`.
        let fds = unsafe { std::slice::from_raw_parts(fds, count as usize) };
        self.kernel.update_files(offset, fds)
    }

    /// Unregisters the files; `-ENXIO` when none are registered.
    pub fn unregister_files(&self) -> Result<(), Errno> {
        let _claim = self.owner.claim()?;
        self.kernel.unregister_files()?;
        Ok(())
    }
}
