//! The way into the submission queue: the *lane* for plain operations, the *backlog* for
//! whatever must wait (a full queue, a linked chain, a drain), and the priority path for
//! the library's own requests (docs/DESIGN.md, "The queue path").
//!
//! `AR_OP_DRAIN` is kept here, in user space, rather than passed to the kernel as
//! `IOSQE_IO_DRAIN`: the kernel holds everything queued after a drained request, cancels
//! included, so neither `ar_op_cancel` nor teardown could reach an operation held behind
//! one. Here a drained chain waits at the head of the backlog until every operation queued
//! before it has finally completed; operations queued after it wait until it has completed
//! too. Cancels bypass the backlog, and a held operation is ended in place.

use io_uring::squeue;

use crate::ring::{Kind, Pending, State, TAG_DEADLINE, TAG_INTERNAL, id_of};

impl State {
    /// Recomputes the lane (see `State::lane`) from the kernel's head: after every push that
    /// did not go through it, and after the kernel consumed entries.
    #[inline]
    pub(crate) fn reopen_lane(&mut self) {
        self.lane = if self.backlog.is_empty() && !self.chain_open && !self.closing && !self.careful && !self.draining {
            self.sq.free_slots()
        } else {
            0
        };
    }

    /// Ends the chain the last operation queued asked to continue (`AR_OP_LINK` followed by
    /// `ar_ring_submit` or `ar_ring_run`): its last SQE, at the back of the backlog, no
    /// longer links onward, so no operation queued later can join it, whenever the backlog
    /// reaches the kernel (a thread-safe ring's submitter enters later than `submit`).
    pub(crate) fn close_chain(&mut self) {
        if !std::mem::take(&mut self.chain_open) {
            return;
        }
        if let Some(last) = self.backlog.back_mut() {
            last.links_next = false;
            unlink(&mut last.entry);
        }
        self.reopen_lane();
    }

    /// `close_chain`, if the open chain was started by the calling thread: what the ring's own
    /// submissions do (a callback that leaves a chain open must not keep `run` waiting for
    /// it), without splitting a chain another thread of a thread-safe ring is still queueing.
    pub(crate) fn close_own_chain(&mut self) {
        if self.chain_open && self.chain_thread == crate::ring::owner::thread_token() {
            self.close_chain();
        }
    }

    /// Publishes pushed entries to the kernel.
    #[inline]
    pub(crate) fn sync_sq(&mut self) {
        self.sq.publish();
    }

    /// Whether a push must queue behind something: the backlog, an open chain, a drain.
    #[inline]
    fn must_wait(&self) -> bool {
        !self.backlog.is_empty() || self.chain_open || self.draining
    }

    /// Pushes one unlinked user operation: straight into the submission queue when nothing
    /// waits before it and there is room, else into the backlog. Returns whether the ring
    /// must be kicked (`Ring::kick`).
    #[inline(always)]
    pub(crate) fn push_one(&mut self, entry: squeue::Entry) -> bool {
        if self.lane != 0 {
            self.lane -= 1;
            // SAFETY: the entry points into its record (stable until the final CQE) or
            // caller memory the caller keeps alive; the lane is never wider than the room.
            unsafe { self.sq.push(entry) };
            self.sq_ops += 1;
            return false;
        }
        self.push_one_careful(entry);
        true
    }

    #[inline(never)]
    pub(crate) fn push_one_careful(&mut self, entry: squeue::Entry) {
        if !self.must_wait() && self.sq.room(1) >= 1 {
            // SAFETY: as in `push_one`; there is room.
            unsafe { self.sq.push(entry) };
            self.sq_ops += 1;
            if self.publish_each_push {
                self.sq.publish();
            }
        } else {
            self.backlog.push_back(Pending::new(entry));
            self.chain_open = false;
        }
        self.reopen_lane();
    }

    /// Pushes the SQEs of one operation: straight into the submission queue when nothing
    /// waits before them and they fit, else into the backlog. `ops` is 1 for a user operation.
    pub(crate) fn push(&mut self, items: &[Pending], ops: u32) {
        let links_next = items.last().is_some_and(|p| p.links_next);
        let drain = items.iter().any(|p| p.drain);
        if !self.must_wait() && !links_next && !drain && self.sq.room(items.len() as u32) as usize >= items.len() {
            for p in items {
                // SAFETY: as in `push_one`; there is room for all of them.
                unsafe { self.sq.push(p.entry.clone()) };
            }
            if self.publish_each_push {
                self.sq.publish();
            }
            self.sq_ops += ops;
            self.reopen_lane();
            return;
        }
        self.backlog.extend(items.iter().cloned());
        self.chain_open = links_next;
        if links_next {
            self.chain_thread = crate::ring::owner::thread_token();
        }
        self.reopen_lane();
    }

    /// Pushes the library's own requests (cancels, timers): ahead of the backlog, so that no
    /// drain or full queue can hold up a cancel of what is already in the kernel. `items`
    /// is one whole chain.
    pub(crate) fn push_internal(&mut self, items: &[Pending]) {
        self.push_priority(items, 0);
    }

    /// `push_internal` for a chain that holds `ops` user operations (a user's cancel).
    pub(crate) fn push_priority(&mut self, items: &[Pending], ops: u32) {
        if self.sq.room(items.len() as u32) as usize >= items.len() {
            for p in items {
                // SAFETY: these entries point into the ring's state or a live record.
                unsafe { self.sq.push(p.entry.clone()) };
            }
            self.sq_ops += ops;
            if self.publish_each_push {
                self.sq.publish();
            }
        } else {
            // A chain ends at the front of the backlog, so this keeps chains whole.
            for p in items.iter().rev() {
                self.backlog.push_front(p.clone());
            }
        }
        self.reopen_lane();
    }

    /// Moves whole chains from the backlog into the submission queue while they fit and no
    /// drain holds them. `inflight` is the ring's count of live user operations. Returns
    /// whether it stopped for lack of room in the submission queue.
    #[inline]
    pub(crate) fn flush_backlog(&mut self, inflight: u32) -> bool {
        if !self.backlog.is_empty() { self.flush_backlog_slow(inflight) } else { false }
    }

    #[cold]
    fn flush_backlog_slow(&mut self, inflight: u32) -> bool {
        let mut out_of_room = false;
        let capacity = self.sq.capacity() as usize;
        // Live operations that are in the kernel (or its queue): neither waiting here,
        // parked, nor finished and waiting for delivery. Computed only when a drain needs it.
        let mut in_kernel: Option<u32> = None;
        while !self.backlog.is_empty() {
            let Some(n) = self.backlog.iter().position(|p| !p.links_next).map(|i| i + 1) else {
                // The chain at the back is still being queued (a thread-safe ring's submitter
                // flushes while the user queues): it goes to the kernel whole, once closed.
                break;
            };
            let drained = self.backlog.iter().take(n).any(|p| p.drain);
            // The ring's own requests (its wake-up read, cancels, timers) never wait for a
            // drain: a full queue put them at the front, and held there, the wake-up read could
            // not let a post end a `run` waiting behind a drain that never completes.
            let own = self.backlog.iter().take(n).all(|p| is_internal(p.entry.get_user_data()));
            if (self.draining || drained) && !own {
                let busy = *in_kernel.get_or_insert_with(|| self.user_ops_in_kernel(inflight));
                if busy > 0 {
                    break;
                }
                self.draining = false;
            }
            if n > capacity {
                // The kernel cannot take this chain in one batch: fail it whole (-E2BIG).
                let ids: Vec<u64> = self.backlog.drain(..n).map(|p| p.entry.get_user_data()).collect();
                self.end_unsubmitted(&ids, -libc::E2BIG);
                continue;
            }
            if (self.sq.room(n as u32) as usize) < n {
                out_of_room = true;
                break;
            }
            for p in self.backlog.drain(..n) {
                if is_user_op(p.entry.get_user_data()) {
                    self.sq_ops += 1;
                    if let Some(k) = in_kernel.as_mut() {
                        *k += 1;
                    }
                }
                // SAFETY: as in `push_one`; there is room for the whole chain.
                unsafe { self.sq.push(p.entry) };
            }
            if drained {
                // What comes after waits until the drained chain has completed.
                self.draining = true;
            }
        }
        if self.publish_each_push {
            self.sq.publish();
        }
        self.reopen_lane();
        out_of_room
    }

    /// Live user operations that the kernel holds: `inflight` minus those waiting in the
    /// backlog, parked for buffers, or finished and waiting for delivery.
    fn user_ops_in_kernel(&self, inflight: u32) -> u32 {
        let waiting: Vec<i64> =
            self.backlog.iter().map(|p| p.entry.get_user_data()).filter(|&ud| is_user_op(ud)).map(id_of).collect();
        // SAFETY: registered groups are alive; we hold the claim.
        let parked: usize = self.groups.iter().map(|&g| unsafe { (*g).state() }.parked.len()).sum();
        // Cancels bypass the backlog and do not hold a drain: one queued after a drained
        // operation may be waiting for something behind it.
        let cancels =
            self.table.live_ids_where(|r| r.kind == Kind::Cancel).into_iter().filter(|id| !waiting.contains(id));
        inflight.saturating_sub((waiting.len() + parked + self.ready.len() + cancels.count()) as u32)
    }

    /// Ends, in place, operation `target` if it waits in the backlog, with `res`, without
    /// the kernel; returns whether it did. As the kernel does with a cancelled request, the
    /// rest of a chain it soft-links to ends with it (`-ECANCELED`), and the operation
    /// linking into it ends its chain there; after a hard link the rest goes on. A chain the
    /// user is still queueing (open) is left to the kernel cancel, retried until submitted.
    pub(crate) fn take_from_backlog(&mut self, target: i64, res: i32) -> bool {
        let mine = |p: &Pending| id_of(p.entry.get_user_data()) == target && !is_internal(p.entry.get_user_data());
        let Some(first) = self.backlog.iter().position(mine) else { return false };
        let last = self.backlog.iter().rposition(mine).unwrap_or(first);
        if !self.backlog.range(first..=last).all(mine) {
            return false;
        }
        let chain_end = (last..self.backlog.len()).find(|&i| !self.backlog[i].links_next);
        let Some(chain_end) = chain_end else { return false }; // an open chain
        let hard_out = link_flags(&self.backlog[last].entry) & IOSQE_IO_HARDLINK != 0;
        let end = if self.backlog[last].links_next && !hard_out { chain_end } else { last };
        if end + 1 == self.backlog.len() && self.chain_open {
            return false;
        }
        let linked_in = first > 0 && self.backlog[first - 1].links_next;
        if linked_in && end == chain_end {
            // The chain now ends before the target.
            let before = &mut self.backlog[first - 1];
            before.links_next = false;
            unlink(&mut before.entry);
        }
        let ends: Vec<u64> = self.backlog.drain(first..=end).map(|p| p.entry.get_user_data()).collect();
        let (own, rest): (Vec<u64>, Vec<u64>) = ends.into_iter().partition(|&ud| id_of(ud) == target);
        self.end_unsubmitted(&own, res);
        self.end_unsubmitted(&rest, -libc::ECANCELED);
        self.reopen_lane();
        true
    }

    /// Accounts SQEs that will never reach the kernel (`user_data` of each): their
    /// operations end with `res` once nothing else is owed; internal ones are forgotten.
    pub(crate) fn end_unsubmitted(&mut self, user_data: &[u64], res: i32) {
        for &ud in user_data {
            if is_park_timer(ud) {
                if let Some(rec) = self.table.get_mut(id_of(ud)) {
                    rec.outstanding -= 1;
                    rec.park_timer = false;
                }
                continue;
            }
            if is_internal(ud) {
                self.internal_inflight -= 1;
                self.forget_internal(ud);
                continue;
            }
            let Some(rec) = self.table.get_mut(id_of(ud)) else { continue };
            rec.outstanding -= 1;
            if ud & TAG_DEADLINE == 0 {
                rec.res = res;
            }
        }
        for &ud in user_data {
            if is_internal(ud) && !is_park_timer(ud) {
                continue;
            }
            let id = id_of(ud);
            if self.table.get_mut(id).is_some_and(|r| r.outstanding == 0 && !r.parked) && !self.ready.contains(&id) {
                self.ready.push(id);
            }
        }
    }
}

/// `IOSQE_IO_LINK` and `IOSQE_IO_HARDLINK`, in the flags byte at offset 1 of the SQE
/// (include/uapi/linux/io_uring.h).
const IOSQE_IO_LINK: u8 = 1 << 2;
const IOSQE_IO_HARDLINK: u8 = 1 << 3;
const _: () = assert!(std::mem::size_of::<squeue::Entry>() == 64);

/// The SQE's flags byte.
fn sqe_flags_byte(entry: &mut squeue::Entry) -> &mut u8 {
    // SAFETY: `squeue::Entry` is `repr(C)` over the kernel's 64-byte `struct io_uring_sqe`,
    // whose `flags` byte is at offset 1; any byte value is a valid `u8`, and the entry is
    // borrowed mutably, so not shared.
    unsafe { &mut (*(entry as *mut squeue::Entry).cast::<[u8; 64]>())[1] }
}

/// The link flags of an SQE.
fn link_flags(entry: &squeue::Entry) -> u8 {
    let mut copy = entry.clone();
    *sqe_flags_byte(&mut copy) & (IOSQE_IO_LINK | IOSQE_IO_HARDLINK)
}

/// Clears `IOSQE_IO_LINK` and `IOSQE_IO_HARDLINK` on an SQE.
fn unlink(entry: &mut squeue::Entry) {
    *sqe_flags_byte(entry) &= !(IOSQE_IO_LINK | IOSQE_IO_HARDLINK);
}

/// Whether `user_data` names a user operation's own SQE (not a timer, not the ring's).
#[inline]
pub(crate) fn is_user_op(user_data: u64) -> bool {
    user_data & (TAG_DEADLINE | TAG_INTERNAL) == 0
}

/// Whether `user_data` names the timer of a parked receive (`Ring::park`), which counts as
/// one of that operation's own CQEs.
#[inline]
pub(crate) fn is_park_timer(user_data: u64) -> bool {
    user_data & (TAG_DEADLINE | TAG_INTERNAL) == TAG_DEADLINE | TAG_INTERNAL
}

/// Whether `user_data` names one of the ring's own requests.
#[inline]
pub(crate) fn is_internal(user_data: u64) -> bool {
    user_data & TAG_INTERNAL != 0
}
