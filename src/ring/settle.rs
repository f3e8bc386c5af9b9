//! The completion path: each CQE is settled against its operation's record by the rule its
//! kind decides (`op::Kind::step`), and the user's callback runs from one place, `deliver`,
//! with no borrow of the ring's state held (docs/DESIGN.md, "The completion path").
//!
//! Where a rule keeps an operation going after a CQE the kernel meant as final (a multishot
//! stream the kernel stopped, a receive parked for buffers, a cancel the kernel could not
//! place yet), the record's `cancel_requested` and `deadline_fired` decide instead whether
//! it ends: that is how a cancel reaches its target whatever state the library keeps it
//! in (guarantee 5), and why teardown never waits on something nobody will end.

use io_uring::{opcode, squeue, types};

use crate::ring::buf::BufGroup;
use crate::ring::completion::{AR_COMPLETION_BUFFER, AR_COMPLETION_MORE, Completion};
use crate::ring::kind::Step;
use crate::ring::record::{ERESTART_LAST, ERESTARTSYS};
use crate::ring::table::split_id;
use crate::ring::{
    Cx, INTERNAL_CANCEL, INTERNAL_RETRY_TIMER, INTERNAL_TIMER_REMOVE, INTERNAL_WAKE, Pending, Ring, State,
    TAG_DEADLINE, TAG_INTERNAL, TAG_OWNED, id_of,
};

/// The first back-off of a cancel the kernel could not place (`Kind::Cancel`), doubled per
/// retry up to `RETRY_MAX_NS`. The kernel cannot find a request that sits between its
/// worker queue and a worker (`io-wq`), or a linked request whose head still runs.
const RETRY_FIRST_NS: u32 = 1_000_000;
const RETRY_MAX_NS: u32 = 64_000_000;

/// What settling one CQE leaves to do once the state's borrow has ended.
enum Outcome {
    Nothing,
    /// Deliver an intermediate completion; with `rearm`, the kernel's request is over and
    /// the stream goes on in a new one (`Step::MoreThenRearm`).
    More {
        c: Completion,
        cb: Callback,
        rearm: bool,
    },
    /// The operation owes nothing more: deliver its final completion.
    Finish,
}

type Callback = (*mut std::ffi::c_void, crate::ring::completion::OpCallback);

impl Ring {
    /// Accounts one CQE to its operation; runs a callback when one is due. Returns 0 or 1.
    #[inline]
    pub(crate) fn settle<const SHARED: bool>(&self, cx: &mut Cx<'_>, user_data: u64, res: i32, cqe_flags: u32) -> u32 {
        if !io_uring::cqueue::more(cqe_flags) && !io_uring::cqueue::notif(cqe_flags) {
            // The common case: the one CQE of a plain operation with no group or deadline.
            // (Tagged `user_data` never matches a slot: `take_plain` sees to it.)
            let id = user_data as i64;
            // Freed before the callback, as `finish` does.
            if let Some((userdata, cb)) = cx.st().table.take_plain(id) {
                self.add_inflight(-1);
                // A request interrupted in a kernel worker (a cancel by fd, or teardown's)
                // can report the kernel's internal restart codes, which must never reach the
                // user.
                let res = if res <= -ERESTARTSYS { unrestart(res) } else { res };
                let c = Completion { ring: self.as_ptr(), op: id, res, flags: 0, buf: std::ptr::null_mut(), buf_id: 0 };
                cx.invoke::<SHARED>(cb, userdata, &c);
                return 1;
            }
        }
        self.settle_general::<SHARED>(cx, user_data, res, cqe_flags)
    }

    /// `settle` for everything but the common case.
    #[inline(never)]
    fn settle_general<const SHARED: bool>(&self, cx: &mut Cx<'_>, user_data: u64, res: i32, cqe_flags: u32) -> u32 {
        if user_data & TAG_INTERNAL != 0 {
            return self.settle_internal::<SHARED>(cx, user_data, res);
        }
        let id = id_of(user_data);
        match self.apply(cx.st(), id, user_data & TAG_DEADLINE != 0, res, cqe_flags) {
            Outcome::Nothing => 0,
            Outcome::More { c, cb: (userdata, cb), rearm } => {
                cx.invoke::<SHARED>(cb, userdata, &c);
                let st = cx.st();
                self.after_buffer_callback(st, &c);
                if rearm {
                    // A stream the kernel stopped goes on, unless it must end now.
                    self.after_stopped_stream(st, id);
                }
                1
            }
            Outcome::Finish => self.finish::<SHARED>(cx, id),
        }
    }

    /// Applies one CQE's rule to the record of `id` (the state is borrowed only here).
    fn apply(&self, st: &mut State, id: i64, deadline_cqe: bool, res: i32, cqe_flags: u32) -> Outcome {
        let closing = st.closing;
        let index = id as u32;
        let Some(rec) = st.table.get_mut(id) else {
            // A notification can follow a zero-copy send's final CQE without `F_MORE` (the
            // kernel posts one for a send cancelled by a broken link before it ran): its
            // operation has ended, and the generation in the id keeps it from touching
            // another. Anything else would be a bookkeeping error.
            debug_assert!(io_uring::cqueue::notif(cqe_flags), "CQE for unknown operation {id:#x}");
            return Outcome::Nothing;
        };
        if deadline_cqe {
            // Any answer but -ECANCELED (the timer removed because its operation completed
            // first, or teardown) means the timer fired: it cancelled the operation (-ETIME),
            // interrupted it in a kernel worker (-EALREADY), or raced its move into one
            // (-ENOENT, while the kernel's cancel flag still ends it). If the operation then
            // ends cancelled or interrupted, the deadline is what ended it.
            rec.deadline_fired |= res != -libc::ECANCELED;
            rec.outstanding -= 1;
            let (outstanding, parked) = (rec.outstanding, rec.parked);
            if (res == -libc::EALREADY || res == -libc::ENOENT) && outstanding > 0 && !parked && !st.closing {
                // The timer fired but could not stop the operation: it was running in a
                // kernel worker (an interrupted pipe read goes back to polling, and on an
                // SQPOLL ring it did so every time) or between places. A deadline must end
                // it (guarantee 5): cancel it as the library cancels its own operations,
                // retried while the kernel cannot stop it.
                rec.cancel_requested = true;
                let entry = opcode::AsyncCancel::new(id as u64).build().user_data(TAG_INTERNAL | TAG_OWNED | id as u64);
                st.internal_inflight += 1;
                st.push_internal(&[Pending::new(entry)]);
            }
            return if outstanding == 0 && !parked { Outcome::Finish } else { Outcome::Nothing };
        }
        let buf = io_uring::cqueue::buffer_select(cqe_flags);
        match rec.kind.step(cqe_flags, res) {
            step @ (Step::More | Step::MoreThenRearm) => {
                let rearm = step == Step::MoreThenRearm;
                if rearm {
                    // The request is over; `after_stopped_stream` re-arms it or ends it.
                    rec.outstanding -= 1;
                }
                let group = rec.group;
                let (slot, _) = st.table.at_mut(index);
                let cb = (slot.userdata, slot.cb);
                return Outcome::More { c: self.completion(id, res, AR_COMPLETION_MORE, group, buf), cb, rearm };
            }
            Step::FinalThenNotif => {
                // The buffer stays the kernel's until the notification: hold the result.
                rec.res = res;
                return Outcome::Nothing;
            }
            Step::Notif => rec.outstanding -= 1,
            Step::OutOfBuffers if rec.park_on_enobufs && !rec.stopping() && !closing => {
                // AR_OP_REARM: park instead of ending; a recycled buffer re-arms it.
                rec.outstanding -= 1;
                rec.parked = true;
                self.park(st, id);
                return Outcome::Nothing;
            }
            Step::OutOfBuffers | Step::Final => {
                rec.res = res;
                rec.buf = buf;
                rec.outstanding -= 1;
                let (kind, target, canceller) = (rec.kind, rec.target, rec.canceller);
                if res == -libc::ENOBUFS && rec.park_on_enobufs && (rec.stopping() || closing) {
                    // It would have been parked, and the cancel, its deadline or teardown would
                    // have ended it there: the kernel just got there first (a fired deadline
                    // maps this to -ETIMEDOUT).
                    rec.res = -libc::ECANCELED;
                    note_cancel_hit(st, canceller);
                } else if kind == crate::ring::Kind::Cancel
                    && (res == -libc::ENOENT || res == -libc::EALREADY)
                    && !closing
                    && self.retry_cancel(st, id, target, res)
                {
                    return Outcome::Nothing;
                }
            }
        }
        let Some(rec) = st.table.get_mut(id) else { return Outcome::Nothing };
        if rec.outstanding == 0 && !rec.parked { Outcome::Finish } else { Outcome::Nothing }
    }

    /// After the intermediate completion of a stream the kernel stopped
    /// (`Step::MoreThenRearm`): submit it again under the same id, or end it if it is being
    /// cancelled, timed out or torn down (guarantee 8).
    fn after_stopped_stream(&self, st: &mut State, id: i64) {
        let closing = st.closing;
        let Some(rec) = st.table.get_mut(id) else { return };
        if rec.rearm.is_some() && !rec.stopping() && !closing {
            self.rearm(st, id);
            return;
        }
        rec.res = -libc::ECANCELED;
        let (canceller, cancelled, owed) = (rec.canceller, rec.cancel_requested, rec.outstanding);
        if cancelled {
            note_cancel_hit(st, canceller);
        }
        if owed == 0 {
            st.ready.push(id);
        }
        // Otherwise its deadline timer's CQE, still owed, ends it.
    }

    /// Submits a multishot operation's request again (`Record::rearm`), with a fresh linked
    /// timer for its (absolute) deadline if it has one.
    pub(crate) fn rearm(&self, st: &mut State, id: i64) {
        let Some(rec) = st.table.get_mut(id) else { return };
        let Some(entry) = rec.rearm.clone() else { return };
        if rec.has_deadline {
            rec.outstanding += 2;
            let timer = opcode::LinkTimeout::new(&rec.deadline)
                .flags(types::TimeoutFlags::ABS)
                .build()
                .user_data(TAG_DEADLINE | id as u64);
            let op = entry.flags(squeue::Flags::IO_LINK);
            self.push(st, &[Pending { entry: op, links_next: true, drain: false }, Pending::new(timer)], 1);
        } else {
            rec.outstanding += 1;
            self.push(st, &[Pending::new(entry)], 1);
        }
    }

    /// Parks the receive `id` (its group ran dry, `AR_OP_REARM`): a standalone timer keeps
    /// its deadline meanwhile, and buffers that came back in the meantime re-arm it at once.
    fn park(&self, st: &mut State, id: i64) {
        let Some(rec) = st.table.get_mut(id) else { return };
        let group = rec.group;
        if rec.has_deadline {
            rec.outstanding += 1;
            rec.park_timer = true;
            let timer = opcode::Timeout::new(&rec.deadline)
                .flags(types::TimeoutFlags::ABS)
                .build()
                .user_data(TAG_INTERNAL | TAG_DEADLINE | id as u64);
            st.push_internal(&[Pending::new(timer)]);
        }
        // SAFETY: a record's group outlives the record; we hold the claim.
        let g = unsafe { &*group };
        // SAFETY: as above.
        unsafe { g.state() }.parked.push(id);
        if g.has_free_buffers() {
            self.unpark(st, group);
        }
    }

    /// Re-submits every receive parked on `group`.
    pub(crate) fn unpark(&self, st: &mut State, group: *mut BufGroup) {
        // SAFETY: the caller holds the claim; a parked record's group is alive.
        let gs = unsafe { (*group).state() };
        let mut parked = std::mem::take(&mut gs.parked);
        for id in parked.drain(..) {
            let Some(rec) = st.table.get_mut(id) else { continue };
            if !rec.parked {
                continue;
            }
            rec.parked = false;
            if rec.park_timer {
                remove_park_timer(st, id);
            }
            self.rearm(st, id);
        }
        // Give the (now empty) vector back so its capacity is reused.
        // SAFETY: as above.
        unsafe { (*group).state() }.parked = parked;
    }

    /// Ends a parked receive with `res` without the kernel (it holds no request for it).
    /// Returns whether `id` was parked.
    pub(crate) fn end_parked(&self, st: &mut State, id: i64, res: i32) -> bool {
        let Some(rec) = st.table.get_mut(id) else { return false };
        if !rec.parked {
            return false;
        }
        rec.parked = false;
        rec.res = res;
        let (group, owed, timer) = (rec.group, rec.outstanding, rec.park_timer);
        // SAFETY: a parked record's group is alive; we hold the claim.
        unsafe { (*group).state() }.parked.retain(|&p| p != id);
        if timer {
            // Its CQE ends the operation.
            remove_park_timer(st, id);
        } else if owed == 0 {
            st.ready.push(id);
        }
        true
    }

    /// A CQE of the ring's own requests. Returns callbacks run (a parked receive's timer
    /// may end it).
    fn settle_internal<const SHARED: bool>(&self, cx: &mut Cx<'_>, user_data: u64, res: i32) -> u32 {
        let st = cx.st();
        if user_data & TAG_DEADLINE != 0 {
            // The timer of a parked receive (`park`): not counted as internal, but as one of
            // the operation's own CQEs.
            let id = id_of(user_data);
            let Some(rec) = st.table.get_mut(id) else { return 0 };
            rec.outstanding -= 1;
            rec.park_timer = false;
            if res == -libc::ETIME && rec.parked {
                rec.deadline_fired = true;
                self.end_parked(st, id, -libc::ECANCELED);
            }
            let Some(rec) = st.table.get_mut(id) else { return 0 };
            if rec.outstanding == 0 && !rec.parked {
                return self.finish::<SHARED>(cx, id);
            }
            return 0;
        }
        st.internal_inflight -= 1;
        if user_data & TAG_OWNED != 0 {
            // The library's own cancel of one operation (freeing its group, or a deadline
            // that could not stop it): like a user's cancel, it is retried while the kernel
            // cannot place or stop a live target.
            let target = id_of(user_data);
            if (res == -libc::ENOENT || res == -libc::EALREADY)
                && !st.closing
                && st.table.get_mut(target).is_some_and(|r| !r.parked && r.outstanding > 0)
            {
                st.internal_inflight += 2;
                let (timer, cancel) = retry_pair(&st.retry_ts, target as u64, user_data);
                st.push_internal(&[timer, cancel]);
            }
            return 0;
        }
        match user_data {
            INTERNAL_WAKE => {
                // A post woke us; the posted work itself is drained by `deliver`.
                st.wake_armed = false;
                self.arm_wake(st);
            }
            INTERNAL_CANCEL => st.cancel_all_in_flight = false,
            INTERNAL_RETRY_TIMER | INTERNAL_TIMER_REMOVE => {}
            _ => debug_assert!(false, "unknown internal CQE {user_data:#x}"),
        }
        0
    }

    /// A cancel (`id`) the kernel answered with `-ENOENT` or `-EALREADY` (`res`): if its
    /// target still lives (the kernel could not place it yet, or an interrupted request
    /// went back to waiting), submit it again after a back-off and return true.
    fn retry_cancel(&self, st: &mut State, id: i64, target: i64, res: i32) -> bool {
        let Some(trec) = st.table.get_mut(target) else { return false };
        if trec.parked || trec.outstanding == 0 {
            // Parked targets are ended in place; one that owes nothing is being delivered.
            return false;
        }
        let Some(rec) = st.table.get_mut(id) else { return false };
        // `-EALREADY`: the target was running and the kernel signalled it; it normally ends
        // at once, but a request interrupted in a worker can be re-armed (a pipe read goes
        // back to polling) and would live on uncancelled. If it is still live after the
        // back-off, the retry finds it; if not, the cancel reports `-EALREADY`.
        rec.already |= res == -libc::EALREADY;
        rec.outstanding += 1;
        rec.backoff_ns = if rec.backoff_ns == 0 { RETRY_FIRST_NS } else { (rec.backoff_ns * 2).min(RETRY_MAX_NS) };
        rec.backoff = types::Timespec::new().nsec(rec.backoff_ns);
        let (timer, cancel) = retry_pair(&rec.backoff, target as u64, id as u64);
        st.internal_inflight += 1;
        st.push_internal(&[timer, cancel]);
        true
    }

    /// The completion the user sees; lends the buffer `buf` of `group` if there is one.
    pub(crate) fn completion(
        &self,
        id: i64,
        res: i32,
        flags: u32,
        group: *mut BufGroup,
        buf: Option<u16>,
    ) -> Completion {
        let mut c = Completion { ring: self.as_ptr(), op: id, res, flags, buf: std::ptr::null_mut(), buf_id: 0 };
        // SAFETY: a record's group outlives the record.
        if let (Some(bid), Some(g)) = (buf, unsafe { group.as_ref() }) {
            if u32::from(bid) < g.count() {
                g.lend(bid);
                c.flags |= AR_COMPLETION_BUFFER;
                c.buf = g.buf_ptr(bid).cast();
                c.buf_id = bid;
            }
        }
        c
    }

    /// After a callback that got a buffer from a group the user already freed: nobody can
    /// recycle it any more, so take it back here.
    fn after_buffer_callback(&self, st: &mut State, c: &Completion) {
        if c.flags & AR_COMPLETION_BUFFER == 0 {
            return;
        }
        let Some(rec) = st.table.get_mut(c.op) else { return };
        // SAFETY: a record's group outlives the record; we hold the claim.
        if let Some(g) = unsafe { rec.group.as_ref() } {
            // SAFETY: as above.
            if unsafe { g.state() }.freed {
                let _ = g.recycle(c.buf_id);
            }
        }
    }

    /// Delivers the final completion of `id` and frees its record. Returns 1 (0 for an id
    /// that is not live).
    pub(crate) fn finish<const SHARED: bool>(&self, cx: &mut Cx<'_>, id: i64) -> u32 {
        let (c, userdata, cb, group) = {
            let st = cx.st();
            let Some(rec) = st.table.get_mut(id) else { return 0 };
            debug_assert!(rec.outstanding == 0 && !rec.parked, "finishing {id:#x} while the kernel owes it CQEs");
            let (res, flags) = rec.final_completion();
            let (group, buf) = (rec.group, rec.buf);
            if rec.cancel_requested && res == -libc::ECANCELED {
                // Cancelled while a cancel of it was pending: that cancel succeeded, even if
                // one of its attempts found the target still moving in the kernel (`-ENOENT`).
                let canceller = rec.canceller;
                note_cancel_hit(st, canceller);
            }
            let c = self.completion(id, res, flags, group, buf);
            let index = id as u32;
            let (slot, _) = st.table.at_mut(index);
            let (userdata, cb) = (slot.userdata, slot.cb);
            // Free first: inside its final callback the operation is finished, so cancelling
            // its id reports -ENOENT and the record may serve an operation the callback queues.
            st.table.release(index);
            (c, userdata, cb, group)
        };
        self.add_inflight(-1);
        cx.invoke::<SHARED>(cb, userdata, &c);
        // The group stays alive through the callback (its buffer may be in use there).
        if !group.is_null() {
            // SAFETY: a record's group outlives the record; we hold the claim.
            let g = unsafe { &*group };
            // SAFETY: as above.
            let gs = unsafe { g.state() };
            if c.flags & AR_COMPLETION_BUFFER != 0 && gs.freed {
                let _ = g.recycle(c.buf_id);
            }
            gs.users -= 1;
            if gs.freed && gs.users == 0 {
                self.destroy_group(cx.st(), group);
            }
        }
        1
    }
}

/// A result that may be one of the kernel's internal restart codes, as the user must see it.
#[cold]
fn unrestart(res: i32) -> i32 {
    if (-ERESTART_LAST..=-ERESTARTSYS).contains(&res) { -libc::EINTR } else { res }
}

/// Tells the cancel `canceller` (if it still waits) that its target ended because of it.
fn note_cancel_hit(st: &mut State, canceller: i64) {
    if split_id(canceller).is_none() {
        return;
    }
    if let Some(c) = st.table.get_mut(canceller) {
        if c.kind == crate::ring::Kind::Cancel {
            c.ended_target = true;
        }
    }
}

/// Asks the kernel to drop the timer guarding parked receive `id`; its CQE (`-ECANCELED`,
/// or `-ETIME` if it fired first) still arrives and is accounted to the operation.
fn remove_park_timer(st: &mut State, id: i64) {
    let entry =
        opcode::TimeoutRemove::new(TAG_INTERNAL | TAG_DEADLINE | id as u64).build().user_data(INTERNAL_TIMER_REMOVE);
    st.internal_inflight += 1;
    st.push_internal(&[Pending::new(entry)]);
}

/// A cancel of `target` behind a back-off timer that, when it fires, counts as success for
/// the link (`IORING_TIMEOUT_ETIME_SUCCESS`, 5.16).
fn retry_pair(backoff: &types::Timespec, target: u64, cancel_user_data: u64) -> (Pending, Pending) {
    let timer = opcode::Timeout::new(backoff)
        .flags(types::TimeoutFlags::ETIME_SUCCESS)
        .build()
        .flags(squeue::Flags::IO_LINK)
        .user_data(INTERNAL_RETRY_TIMER);
    let cancel = opcode::AsyncCancel::new(target).build().user_data(cancel_user_data);
    (Pending { entry: timer, links_next: true, drain: false }, Pending::new(cancel))
}
