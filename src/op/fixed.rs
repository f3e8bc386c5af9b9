//! Reads and writes through buffers registered with `ar_ring_register_buffers`: the kernel
//! skips pinning and mapping the pages on every operation.

use io_uring::{opcode, squeue::Entry, types::Fd};

use super::{Args, Operation};
use crate::error::Errno;
use crate::ring::operation::check_buf;
use crate::ring::operation::check_fd;

/// `read` into registered buffer `buf_index`; `buf..buf+len` must lie inside it.
pub struct ReadFixed {
    pub fd: i32,
    pub buf: *mut u8,
    pub len: usize,
    pub offset: u64,
    pub buf_index: u16,
}

/// `write` from registered buffer `buf_index`; `buf..buf+len` must lie inside it.
pub struct WriteFixed {
    pub fd: i32,
    pub buf: *const u8,
    pub len: usize,
    pub offset: u64,
    pub buf_index: u16,
}

// SAFETY: the entry points into a registered buffer, which the caller keeps alive.
unsafe impl Operation for ReadFixed {
    const TAKES_FD: bool = true;
    unsafe fn prepare(self, _args: &mut Args) -> Result<Entry, Errno> {
        let fd = check_fd(self.fd)?;
        let len = check_buf(self.buf, self.len)?;
        Ok(opcode::ReadFixed::new(Fd(fd), self.buf, len, self.buf_index).offset(self.offset).build())
    }
}

// SAFETY: the entry points into a registered buffer, which the caller keeps alive.
unsafe impl Operation for WriteFixed {
    const TAKES_FD: bool = true;
    unsafe fn prepare(self, _args: &mut Args) -> Result<Entry, Errno> {
        let fd = check_fd(self.fd)?;
        let len = check_buf(self.buf, self.len)?;
        Ok(opcode::WriteFixed::new(Fd(fd), self.buf, len, self.buf_index).offset(self.offset).build())
    }
}
