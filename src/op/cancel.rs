//! Cancellation: of one operation by id, or of every operation on a file descriptor.

use std::ffi::c_void;

use io_uring::{opcode, squeue::Entry, types};

use super::{Args, OpOpts, Operation, check_fd};
use crate::completion::OpCallback;
use crate::error::Errno;
use crate::ring::Ring;

/// With `ar_op_cancel_fd`: cancel every matching operation, not just the first; the result
/// is then how many were cancelled.
pub const AR_CANCEL_ALL: u32 = 1 << 0;

/// `IORING_OP_ASYNC_CANCEL` for one operation id. Queue it through [`Ring::cancel`], which
/// first checks that the id is live.
pub struct AsyncCancel {
    target: i64,
}

// SAFETY: the entry points at no memory.
unsafe impl Operation for AsyncCancel {
    fn prepare(self, _args: &mut Args) -> Result<Entry, Errno> {
        // Operations carry their id as user_data, so the kernel finds it by that.
        Ok(opcode::AsyncCancel::new(self.target as u64).build())
    }
}

/// `IORING_OP_ASYNC_CANCEL` by file descriptor (5.19).
pub struct CancelFd {
    pub fd: i32,
    pub flags: u32,
}

// SAFETY: the entry points at no memory.
unsafe impl Operation for CancelFd {
    const TAKES_FD: bool = true;
    fn prepare(self, _args: &mut Args) -> Result<Entry, Errno> {
        let fd = check_fd(self.fd)?;
        let builder = match self.flags {
            0 => types::CancelBuilder::fd(types::Fd(fd)),
            AR_CANCEL_ALL => types::CancelBuilder::fd(types::Fd(fd)).all(),
            _ => return Err(Errno::EINVAL),
        };
        Ok(opcode::AsyncCancel2::new(builder).build())
    }
}

impl Ring {
    /// Requests cancellation of `target`. The target completes with `-ECANCELED` (if the
    /// cancel won); the cancel itself completes with 0, `-ENOENT` (the target finished
    /// meanwhile) or `-EALREADY` (it is running and cannot be stopped).
    ///
    /// Returns `-ENOENT` at once, queueing nothing, when `target` is not a live operation of
    /// this ring: an id that already finished, or any other value (SPEC §3.4). A stale id
    /// never touches the operation that reuses its record, because ids carry a generation.
    ///
    /// # Safety
    ///
    /// `cb` may be called with `userdata`.
    pub unsafe fn cancel(
        &self,
        target: i64,
        opts: Option<&OpOpts>,
        userdata: *mut c_void,
        cb: OpCallback,
    ) -> Result<i64, Errno> {
        let (_claim, live) = self.claim_live(target)?;
        if !live {
            return Err(Errno::ENOENT);
        }
        if self.end_parked(target, -libc::ECANCELED) {
            // A parked receive (AR_OP_REARM) has no request in the kernel: end it here; the
            // cancel itself is a no-op that completes with 0.
            // SAFETY: a nop points at no memory; the callback contract is the caller's.
            return unsafe { self.queue(super::Nop, opts, userdata, cb) };
        }
        // SAFETY: the cancel op points at no memory; the callback contract is the caller's.
        unsafe { self.queue(AsyncCancel { target }, opts, userdata, cb) }
    }

    /// Requests cancellation of operations on `fd` (`AR_CANCEL_ALL`: every one). Receives
    /// parked for lack of buffers on that fd end with `-ECANCELED` too; the cancel's result
    /// counts the operations the kernel cancelled.
    ///
    /// # Safety
    ///
    /// `cb` may be called with `userdata`.
    pub unsafe fn cancel_fd(
        &self,
        fd: i32,
        flags: u32,
        opts: Option<&OpOpts>,
        userdata: *mut c_void,
        cb: OpCallback,
    ) -> Result<i64, Errno> {
        let _claim = self.owner.claim()?;
        if fd >= 0 && flags & !AR_CANCEL_ALL == 0 {
            // SAFETY: we hold the claim; no other borrow is live.
            let st = unsafe { self.state() };
            let parked = st.table.live_ids_where(|rec| rec.parked && rec.fd == fd);
            for id in parked {
                self.end_parked(id, -libc::ECANCELED);
            }
        }
        // SAFETY: the cancel op points at no memory; the callback contract is the caller's.
        unsafe { self.queue(CancelFd { fd, flags }, opts, userdata, cb) }
    }
}
