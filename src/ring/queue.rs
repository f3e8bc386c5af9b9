//! The queue path (docs/DESIGN.md, "The queue path"): an `ar_op_*` call claims the ring,
//! takes a record, lets the operation build its SQE, and pushes it: through the lane when
//! it is plain, through `State::push` (the backlog, `backlog.rs`) when it has options, a
//! group or a deadline, and ahead of the backlog when it is a cancel.

use std::ffi::c_void;

use io_uring::{opcode, squeue, types};

use super::completion::{Callback, OpCallback};
use super::kind::Kind;
use super::operation::Operation;
use super::opts::{
    AR_OP_ASYNC, AR_OP_DRAIN, AR_OP_FIXED_FILE, AR_OP_HARDLINK, AR_OP_LINK, AR_OP_REARM, KNOWN_OP_FLAGS, OpOpts,
};
use super::{Cx, Pending, Ring, State, TAG_DEADLINE};
use crate::error::Errno;

impl Ring {
    /// Queues an operation; its callback runs from a later `run`. Returns the id.
    ///
    /// # Safety
    ///
    /// Whatever memory the operation points at that it does not copy (data buffers, statx
    /// results) stays valid until its final completion; `cb` may be called with `userdata`.
    #[inline(always)]
    pub unsafe fn queue<O: Operation>(
        &self,
        op: O,
        opts: Option<&OpOpts>,
        userdata: *mut c_void,
        cb: OpCallback,
    ) -> Result<i64, Errno> {
        // SAFETY: the caller's contract.
        let id = unsafe { self.queue_id(op, opts, userdata, cb) };
        if id < 0 { Err(Errno(-id as i32)) } else { Ok(id) }
    }

    /// `queue` as the C API returns it: the id, or `-errno`. Each path converts its own
    /// result, so that no `Result` has to be merged (through memory) on the hot path.
    ///
    /// # Safety
    ///
    /// As for `queue`.
    #[inline(always)]
    pub(crate) unsafe fn queue_id<O: Operation>(
        &self,
        op: O,
        opts: Option<&OpOpts>,
        userdata: *mut c_void,
        cb: OpCallback,
    ) -> i64 {
        let Some(cb) = cb else { return Errno::EINVAL.negated().into() };
        if opts.is_none() && !O::USES_GROUP {
            // SAFETY: the caller's contract.
            unsafe { self.queue_plain(op, userdata, cb) }
        } else {
            // SAFETY: the caller's contract.
            unsafe { self.queue_general(op, opts, userdata, cb) }
        }
    }

    /// `queue` without options or buffer group: one SQE, straight into the submission queue
    /// through the lane (`State::lane`), else `queue_plain_careful`. The path every plain
    /// I/O call takes, so it is kept to what it needs: the SQE is built right in its slot.
    ///
    /// # Safety
    ///
    /// As for `queue`.
    #[inline(always)]
    unsafe fn queue_plain<O: Operation>(&self, op: O, userdata: *mut c_void, cb: Callback) -> i64 {
        debug_assert!(op.buf_group().is_none(), "an operation with a group must declare USES_GROUP");
        let mut cx = match Cx::claim(self) {
            Ok(cx) => cx,
            Err(e) => return e.negated().into(),
        };
        let st = cx.st();
        if st.lane == 0 {
            // SAFETY: the caller's contract.
            return unsafe { self.queue_plain_careful(st, op, userdata, cb) };
        }
        // SAFETY: the caller's contract.
        let (id, entry) = match unsafe { st.start(op, userdata, cb) } {
            Ok(started) => started,
            Err(e) => return e.negated().into(),
        };
        st.lane -= 1;
        // SAFETY: the entry points into its record (stable until the final CQE) or caller
        // memory the caller keeps alive; the lane is never wider than the room.
        unsafe { st.sq.push(entry.user_data(id as u64)) };
        st.sq_ops += 1;
        self.add_inflight(1);
        id
    }

    /// `queue_plain` when the lane is closed: behind the backlog, on a closing, SQPOLL or
    /// thread-safe ring, or with the submission queue full.
    ///
    /// # Safety
    ///
    /// As for `queue`; `st` is this ring's state, under the caller's claim.
    #[inline(never)]
    unsafe fn queue_plain_careful<O: Operation>(
        &self,
        st: &mut State,
        op: O,
        userdata: *mut c_void,
        cb: Callback,
    ) -> i64 {
        if st.closing {
            return Errno::ESHUTDOWN.negated().into();
        }
        // SAFETY: the caller's contract.
        let (id, entry) = match unsafe { st.start(op, userdata, cb) } {
            Ok(started) => started,
            Err(e) => return e.negated().into(),
        };
        st.push_one_careful(entry.user_data(id as u64));
        self.kick(st);
        self.add_inflight(1);
        id
    }

    /// `queue` for an operation without options that must not wait behind the backlog (a
    /// cancel), under the caller's claim: into the submission queue, or at the front of the
    /// backlog.
    ///
    /// # Safety
    ///
    /// As for `queue`.
    pub(crate) unsafe fn queue_priority<O: Operation>(
        &self,
        cx: &mut Cx<'_>,
        op: O,
        userdata: *mut c_void,
        cb: OpCallback,
    ) -> Result<i64, Errno> {
        let Some(cb) = cb else { return Err(Errno::EINVAL) };
        let st = cx.st();
        if st.closing {
            return Err(Errno::ESHUTDOWN);
        }
        // SAFETY: the caller's contract.
        let (id, entry) = unsafe { st.start(op, userdata, cb) }?;
        st.push_priority(&[Pending::new(entry.user_data(id as u64))], 1);
        self.kick(st);
        self.add_inflight(1);
        Ok(id)
    }

    /// `queue` with options (flags, links, a deadline) or a buffer group.
    ///
    /// # Safety
    ///
    /// As for `queue`.
    #[inline(never)]
    unsafe fn queue_general<O: Operation>(
        &self,
        op: O,
        opts: Option<&OpOpts>,
        userdata: *mut c_void,
        cb: Callback,
    ) -> i64 {
        let mut cx = match Cx::claim(self) {
            Ok(cx) => cx,
            Err(e) => return e.negated().into(),
        };
        // SAFETY: the caller's contract.
        id_or_errno(unsafe { self.queue_in(&mut cx, op, opts, userdata, cb) })
    }

    /// `queue` with or without options, under the caller's claim (the path internal callers,
    /// such as a cancel, take).
    ///
    /// # Safety
    ///
    /// As for `queue`.
    #[inline(always)]
    pub(crate) unsafe fn queue_in<O: Operation>(
        &self,
        cx: &mut Cx<'_>,
        op: O,
        opts: Option<&OpOpts>,
        userdata: *mut c_void,
        cb: Callback,
    ) -> Result<i64, Errno> {
        let opts = opts.copied().unwrap_or_default();
        if opts.reserved != 0
            || opts.flags & !KNOWN_OP_FLAGS != 0
            || (opts.flags & AR_OP_FIXED_FILE != 0 && !O::TAKES_FD)
        {
            return Err(Errno::EINVAL);
        }
        let st = cx.st();
        if st.closing {
            return Err(Errno::ESHUTDOWN);
        }
        let group_use = op.buf_group();
        if let Some(g) = &group_use {
            // SAFETY: a non-NULL group pointer came from `new_group` and is not yet freed
            // (the C contract). Its ring's identity is immutable; its state is read only
            // once the group is known to be ours, under our claim.
            let group = unsafe { g.group.as_ref() }.ok_or(Errno::EINVAL)?;
            // SAFETY: as above: checked to be this ring's first.
            if group.ring_id != self.id || unsafe { group.state() }.freed {
                return Err(Errno::EINVAL);
            }
        } else if opts.flags & AR_OP_REARM != 0 {
            return Err(Errno::EINVAL);
        }
        // SAFETY: the caller's contract.
        let (id, entry) = unsafe { st.start(op, userdata, cb) }?;
        let link = opts.flags & (AR_OP_LINK | AR_OP_HARDLINK) != 0;
        let drain = opts.flags & AR_OP_DRAIN != 0;
        let flags = sqe_flags(opts.flags);
        if group_use.is_none() && opts.timeout_ns == 0 && !link && !drain {
            if O::KIND != Kind::Plain {
                // SAFETY: `start` just took this record; nothing else refers to it.
                let rec = st.table.get_mut(id).ok_or(Errno::ENOENT)?;
                if let Some(rearm) = rec.rearm.take() {
                    rec.rearm = Some(rearm.flags(sqe_flags(opts.flags & (AR_OP_ASYNC | AR_OP_FIXED_FILE))));
                }
                if opts.flags & AR_OP_FIXED_FILE != 0 {
                    // A registered-file index is no socket teardown could abort.
                    rec.fd = -1;
                }
            }
            // The common case: one unlinked SQE, straight into the submission queue.
            if st.push_one(entry.flags(flags).user_data(id as u64)) {
                self.kick(st);
            }
            self.add_inflight(1);
            return Ok(id);
        }
        // Everything below writes the record: its CQEs take the general path.
        let rec = st.table.get_mut(id).ok_or(Errno::ENOENT)?;
        if let Some(rearm) = rec.rearm.take() {
            // A re-arm is a fresh, unlinked, undrained submission of the same request.
            rec.rearm = Some(rearm.flags(sqe_flags(opts.flags & (AR_OP_ASYNC | AR_OP_FIXED_FILE))));
        }
        if opts.flags & AR_OP_FIXED_FILE != 0 && rec.kind == Kind::SendZc {
            rec.fd = -1;
        }
        if let Some(g) = group_use {
            rec.group = g.group;
            rec.fd = g.fd;
            rec.park_on_enobufs = opts.flags & AR_OP_REARM != 0;
            // SAFETY: validated above; we hold the claim.
            unsafe { (*g.group).state() }.users += 1;
        }
        if opts.timeout_ns == 0 {
            self.push(st, &[Pending { entry: entry.flags(flags).user_data(id as u64), links_next: link, drain }], 1);
        } else {
            // A deadline is a linked timeout right behind the operation (5.5), on an absolute
            // clock so that a re-armed stream keeps it. If the user links onward, the chain
            // continues from the timeout (the kernel skips it).
            rec.outstanding = 2;
            rec.has_deadline = true;
            rec.deadline = crate::ring::record::deadline_from_now(opts.timeout_ns);
            let op_flags = if link { flags } else { flags | squeue::Flags::IO_LINK };
            let timer_flags = flags & (squeue::Flags::IO_LINK | squeue::Flags::IO_HARDLINK);
            let timer = opcode::LinkTimeout::new(&rec.deadline)
                .flags(types::TimeoutFlags::ABS)
                .build()
                .flags(timer_flags)
                .user_data(TAG_DEADLINE | id as u64);
            self.push(
                st,
                &[
                    Pending { entry: entry.flags(op_flags).user_data(id as u64), links_next: true, drain },
                    Pending { entry: timer, links_next: link, drain: false },
                ],
                1,
            );
        }
        self.add_inflight(1);
        Ok(id)
    }

    /// Pushes an operation's SQEs (see `State::push`); a thread-safe ring's submitter thread
    /// is kicked to hand them to the kernel.
    #[inline]
    pub(crate) fn push(&self, st: &mut State, items: &[Pending], ops: u32) {
        st.push(items, ops);
        self.kick(st);
    }
}

impl State {
    /// Takes a record for `op`, lets it prepare its SQE, and records the callback: what
    /// every queued operation starts with. Returns the id and the SQE (without `user_data`).
    ///
    /// # Safety
    ///
    /// `op`'s pointers are valid as `Operation::prepare` requires.
    #[inline(always)]
    pub(crate) unsafe fn start<O: Operation>(
        &mut self,
        op: O,
        userdata: *mut c_void,
        cb: Callback,
    ) -> Result<(i64, squeue::Entry), Errno> {
        let zero_copy_fd = op.zero_copy_fd();
        let (id, slot, rec) = self.table.alloc().ok_or(Errno::ENOMEM)?;
        // SAFETY: the caller's contract.
        let entry = match unsafe { op.prepare(&mut rec.args) } {
            Ok(entry) => entry,
            Err(e) => {
                self.table.release(id as u32);
                return Err(e);
            }
        };
        slot.userdata = userdata;
        slot.cb = Some(cb);
        // A free record is clean (`OpTable`): only a kind that differs is written to it.
        if O::KIND != Kind::Plain {
            rec.kind = O::KIND;
            slot.mark_general();
            if O::KIND.is_multishot() {
                // The kernel may stop a stream early; it is re-armed from this copy.
                rec.rearm = Some(entry.clone().user_data(id as u64));
            }
            if let Some(fd) = zero_copy_fd {
                rec.fd = fd;
            }
        }
        Ok((id, entry))
    }
}

/// An id, or `-errno`.
#[inline(always)]
fn id_or_errno(r: Result<i64, Errno>) -> i64 {
    match r {
        Ok(id) => id,
        Err(e) => e.negated().into(),
    }
}

/// The `IOSQE_*` flags for `AR_OP_*` flags.
fn sqe_flags(op_flags: u32) -> squeue::Flags {
    let mut f = squeue::Flags::empty();
    if op_flags & AR_OP_LINK != 0 {
        f |= squeue::Flags::IO_LINK;
    }
    if op_flags & AR_OP_HARDLINK != 0 {
        f |= squeue::Flags::IO_HARDLINK;
    }
    // AR_OP_DRAIN is kept in user space (`backlog`), never passed as IOSQE_IO_DRAIN.
    if op_flags & AR_OP_ASYNC != 0 {
        f |= squeue::Flags::ASYNC;
    }
    if op_flags & AR_OP_FIXED_FILE != 0 {
        f |= squeue::Flags::FIXED_FILE;
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn op_flags_become_sqe_flags_except_drain() {
        assert_eq!(sqe_flags(0), squeue::Flags::empty());
        assert_eq!(sqe_flags(AR_OP_LINK), squeue::Flags::IO_LINK);
        assert_eq!(sqe_flags(AR_OP_HARDLINK), squeue::Flags::IO_HARDLINK);
        assert_eq!(sqe_flags(AR_OP_ASYNC | AR_OP_FIXED_FILE), squeue::Flags::ASYNC | squeue::Flags::FIXED_FILE);
        // The library keeps drains itself (backlog.rs): the kernel's would hold cancels.
        assert_eq!(sqe_flags(AR_OP_DRAIN), squeue::Flags::empty());
        // AR_OP_REARM is the library's too.
        assert_eq!(sqe_flags(AR_OP_REARM), squeue::Flags::empty());
    }

    #[test]
    fn failed_results_become_negative_ids() {
        assert_eq!(id_or_errno(Ok(42)), 42);
        assert_eq!(id_or_errno(Err(Errno::EBADF)), -i64::from(libc::EBADF));
    }
}
