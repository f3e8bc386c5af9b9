//! `IORING_OP_NOP`: completes with 0. Useful to measure the ring itself and to wake a loop.

use io_uring::{opcode, squeue::Entry};

use super::{Args, Operation};
use crate::error::Errno;

/// Does nothing; completes with `res` 0.
pub struct Nop;

// SAFETY: the entry points at no memory.
unsafe impl Operation for Nop {
    unsafe fn prepare(self, _args: &mut Args) -> Result<Entry, Errno> {
        Ok(opcode::Nop::new().build())
    }
}
