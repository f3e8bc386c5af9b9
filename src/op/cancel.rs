//! Cancellation: of one operation by id, or of every operation on a file descriptor.

use std::ffi::c_void;

use io_uring::{opcode, squeue::Entry, types};

use super::{Args, Kind, OpOpts, Operation};
use crate::error::Errno;
use crate::ring::completion::OpCallback;
use crate::ring::operation::check_fd;
use crate::ring::{Cx, Ring};

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
    const KIND: Kind = Kind::Cancel;
    unsafe fn prepare(self, _args: &mut Args) -> Result<Entry, Errno> {
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
    const KIND: Kind = Kind::Cancel;
    const TAKES_FD: bool = true;
    unsafe fn prepare(self, _args: &mut Args) -> Result<Entry, Errno> {
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
    /// A cancel reaches a live target wherever the library keeps it (guarantee 5): one that
    /// waits in the backlog (behind a full queue or a drain) or is parked for buffers ends
    /// here, at once; for one in the kernel the cancel bypasses the backlog, and the target
    /// is marked so that it ends at its next step even if the kernel no longer holds it
    /// (between a CQE and its re-arm); while the kernel cannot place a live target, the
    /// cancel is retried after a back-off (`settle`).
    ///
    /// Returns `-ENOENT` at once, queueing nothing, when `target` is not a live operation of
    /// this ring: an id that already finished, or any other value (guarantee 4). A stale id
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
        if cb.is_none() {
            return Err(Errno::EINVAL);
        }
        let mut cx = Cx::claim(self)?;
        let st = cx.st();
        let Some(rec) = st.table.get_mut(target) else { return Err(Errno::ENOENT) };
        rec.cancel_requested = true;
        if self.end_parked(st, target, -libc::ECANCELED) || st.take_from_backlog(target, -libc::ECANCELED) {
            // The target had no request in the kernel and has ended here; the cancel itself
            // is a no-op that completes with 0.
            // SAFETY: a nop points at no memory; the callback contract is the caller's.
            return unsafe { self.queue_cancel(&mut cx, super::Nop, opts, userdata, cb) };
        }
        // SAFETY: the cancel op points at no memory; the callback contract is the caller's.
        let id = unsafe { self.queue_cancel(&mut cx, AsyncCancel { target }, opts, userdata, cb) }?;
        let st = cx.st();
        if let Some(rec) = st.table.get_mut(id) {
            rec.target = target;
        }
        if let Some(rec) = st.table.get_mut(target) {
            rec.canceller = id;
        }
        Ok(id)
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
        let mut cx = Cx::claim(self)?;
        if fd >= 0 && flags & !AR_CANCEL_ALL == 0 {
            let st = cx.st();
            for id in st.table.live_ids_where(|rec| rec.fd == fd && !rec.group.is_null()) {
                if let Some(rec) = st.table.get_mut(id) {
                    rec.cancel_requested = true;
                }
                self.end_parked(st, id, -libc::ECANCELED);
            }
        }
        // SAFETY: the cancel op points at no memory; the callback contract is the caller's.
        unsafe { self.queue_cancel(&mut cx, CancelFd { fd, flags }, opts, userdata, cb) }
    }

    /// Queues a cancel under the caller's claim: without options it bypasses the backlog,
    /// so that no drain or full queue holds it up behind the operations it is meant to end.
    ///
    /// # Safety
    ///
    /// As for `Ring::queue`.
    unsafe fn queue_cancel<O: Operation>(
        &self,
        cx: &mut Cx<'_>,
        op: O,
        opts: Option<&OpOpts>,
        userdata: *mut c_void,
        cb: OpCallback,
    ) -> Result<i64, Errno> {
        if opts.is_some_and(|o| *o != OpOpts::default()) {
            let cb = cb.ok_or(Errno::EINVAL)?;
            // SAFETY: the caller's contract.
            return unsafe { self.queue_in(cx, op, opts, userdata, cb) };
        }
        // SAFETY: the caller's contract.
        unsafe { self.queue_priority(cx, op, userdata, cb) }
    }
}
