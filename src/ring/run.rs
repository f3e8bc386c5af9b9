//! Running the ring: handing queued work to the kernel (`submit`), waiting, and the loop
//! that delivers completions and posted work (`deliver`), for each `RunMode` and driver.

use std::ffi::c_void;
use std::os::fd::AsRawFd;
use std::sync::atomic::Ordering;

use io_uring::{opcode, types};

use super::completion::PostFn;
use super::driver::Driver;
use super::{Cx, INTERNAL_WAKE, Pending, Ring, RunMode, State, TAG_DEADLINE, TAG_INTERNAL};
use crate::error::Errno;

impl Ring {
    /// Hands every queued operation to the kernel. Returns how many operations it took.
    pub fn submit(&self) -> Result<u32, Errno> {
        let mut cx = Cx::claim(self)?;
        cx.st().close_chain();
        let n = self.submit_inner(&mut cx, false);
        self.signal_undelivered();
        n
    }

    /// Delivers completions; see [`RunMode`]. Returns how many callbacks ran (completions
    /// and posted functions). Refused with `-EBUSY` from inside a callback.
    pub fn run(&self, mode: RunMode) -> Result<u32, Errno> {
        let mut cx = Cx::claim(self)?;
        let nested = cx.nested();
        let st = cx.st();
        if st.running || nested {
            return Err(Errno::EBUSY);
        }
        st.running = true;
        st.close_chain();
        if self.driver.shared() {
            // Other threads may queue while this one waits: hold the claim only per step.
            drop(cx);
            let result = self.run_threadsafe(mode);
            Cx::claim(self)?.st().running = false;
            return result;
        }
        let result = match mode {
            RunMode::NoWait => self.run_nowait(&mut cx),
            RunMode::Once => self.run_once(&mut cx),
            RunMode::UntilDone => self.run_until_done(&mut cx),
        };
        let backlog = !cx.st().backlog.is_empty();
        if mode == RunMode::NoWait || backlog {
            // A host loop waits on the notification fd next: what the callbacks queued (or a
            // drain released) must be in the kernel by then, or nothing would ever wake it.
            let _ = self.submit_inner(&mut cx, false);
        }
        self.signal_undelivered();
        cx.st().running = false;
        result
    }

    /// Queues `func(userdata)` to run inside a later `run` on the ring's thread, and wakes
    /// the ring. Callable from any thread.
    ///
    /// # Safety
    ///
    /// `func` may be called with `userdata` on the thread that runs the ring, once, from a
    /// later `run` (or teardown): whatever `userdata` points at stays valid until then.
    pub unsafe fn post(&self, userdata: *mut c_void, func: PostFn) -> Result<(), Errno> {
        self.posts.post(userdata, func)
    }

    /// `run` for a thread-safe ring: reap under the claim, wait in `poll(2)` without it,
    /// and never enter the kernel from this (possibly short-lived) thread.
    fn run_threadsafe(&self, mode: RunMode) -> Result<u32, Errno> {
        let submitter = self.driver.submitter().is_some();
        let fallback = self.kernel.is_fallback();
        let mut total = 0u32;
        loop {
            if submitter {
                // Drain before reaping: a completion posted afterwards signals the fd again.
                self.drain_notify();
            }
            let n = {
                let mut cx = Cx::claim(self)?;
                if fallback {
                    // The fallback backend progresses only when entered: apply what became
                    // ready (any thread may; nothing there belongs to a thread).
                    match self.kernel.enter(&cx.st().sq, 0, false) {
                        Ok(_) | Err(Errno::EINTR) => {}
                        Err(e) => return Err(e),
                    }
                }
                let n = self.deliver(&mut cx)?;
                if !submitter {
                    // SQPOLL: after the callbacks (and the ring's own follow-ups, such as
                    // re-arms and retried cancels), publish what waits in the backlog and wake
                    // the poller if it sleeps, before this thread waits for completions.
                    self.submit_inner(&mut cx, false)?;
                }
                n
            };
            total = total.saturating_add(n);
            let idle = self.inflight() == 0 && !self.posts.is_pending();
            match mode {
                RunMode::NoWait => return Ok(total),
                RunMode::Once if total > 0 || idle => return Ok(total),
                RunMode::UntilDone if idle => return Ok(total),
                _ => {}
            }
            let waited = if submitter {
                let fd = self.kernel.notify_fd().unwrap_or(self.notify.as_raw_fd());
                let mut pfd = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
                // SAFETY: one valid pollfd.
                if unsafe { libc::poll(&mut pfd, 1, -1) } < 0 { Err(Errno::last()) } else { Ok(()) }
            } else if self.spin_for_completion() {
                Ok(())
            } else {
                // In the kernel, without the claim: returns at once if a completion is
                // already waiting, so none posted since `deliver` is missed.
                self.kernel.poller.wait_for_completion()
            };
            if let Err(e) = waited {
                if e != Errno::EINTR || total > 0 {
                    return if total > 0 { Ok(total) } else { Err(e) };
                }
                return Err(Errno::EINTR);
            }
        }
    }

    /// On a shared SQPOLL ring the kernel's polling thread, on another CPU, completes work
    /// within microseconds, while sleeping in the kernel costs this thread a wake-up per
    /// batch (tens of microseconds from an idle CPU): watch the completion queue that long
    /// first. Returns whether a completion arrived.
    fn spin_for_completion(&self) -> bool {
        /// About 20 µs.
        const SPINS: u32 = 4000;
        for _ in 0..SPINS {
            if self.cq.published() {
                return true;
            }
            std::hint::spin_loop();
        }
        false
    }

    /// The submitter thread's work: move the backlog into the submission queue and enter
    /// the kernel, under the claim (only this thread enters; SQ access stays serialised).
    pub(crate) fn submit_as_submitter(&self) -> Result<(), Errno> {
        let mut cx = Cx::claim(self)?;
        loop {
            let st = cx.st();
            st.flush_backlog(self.inflight());
            if !st.ready.is_empty() {
                // Ended here, without a CQE: the thread in `run` must come round for them.
                self.posts.wake();
            }
            let more = !st.backlog.is_empty();
            st.sync_sq();
            let sq_len = st.sq.pending();
            if sq_len == 0 && !st.sq.cq_overflow() {
                return Ok(());
            }
            let entered = self.enter(st, sq_len, false);
            self.signal_undelivered();
            match entered {
                Ok(n) => {
                    st.sq_ops = 0;
                    if !more || n == 0 {
                        return Ok(());
                    }
                }
                Err(e) => match e {
                    Errno::EINTR => {}
                    // The host reaps, and kicks again while a backlog remains.
                    Errno::EBUSY | Errno::EAGAIN => return Ok(()),
                    e => return Err(e),
                },
            }
        }
    }

    fn run_nowait(&self, cx: &mut Cx<'_>) -> Result<u32, Errno> {
        // Drain before reaping: a completion posted after the drain signals the fd again,
        // so the host never misses one (at worst it wakes once for nothing).
        self.drain_notify();
        self.submit_inner(cx, false)?;
        if self.kernel.is_fallback() {
            // The fallback backend makes progress only when entered (the host came here
            // because its fd, the backend's epoll set, was readable).
            match self.kernel.enter(&cx.st().sq, 0, false) {
                Ok(_) | Err(Errno::EINTR) => {}
                Err(e) => return Err(e),
            }
        }
        if matches!(self.driver, Driver::DeferTaskrun) {
            // With DEFER_TASKRUN the kernel signals the eventfd when it queues deferred work
            // and again when our enter runs it and posts CQEs. Drain that second signal too,
            // or the host would wake once per batch for nothing; IORING_SQ_TASKRUN (set
            // before the kernel signals) tells us if new work arrived in between.
            loop {
                self.drain_notify();
                if !cx.st().sq.taskrun() {
                    break;
                }
                self.submit_inner(cx, false)?;
            }
        }
        self.deliver(cx)
    }

    #[inline(always)]
    fn run_once(&self, cx: &mut Cx<'_>) -> Result<u32, Errno> {
        loop {
            let ready = !cx.st().ready.is_empty() || self.posts.is_pending() || self.cq_has_entries();
            if self.inflight() == 0 && !ready {
                // Nothing could ever complete: do not block forever.
                self.submit_inner(cx, false)?;
                return self.deliver(cx);
            }
            self.submit_inner(cx, !ready)?;
            let n = self.deliver(cx)?;
            if n > 0 {
                return Ok(n);
            }
        }
    }

    #[inline(always)]
    fn run_until_done(&self, cx: &mut Cx<'_>) -> Result<u32, Errno> {
        let mut total = 0u32;
        while self.inflight() > 0 || self.posts.is_pending() {
            match self.run_once(cx) {
                Ok(n) => total = total.saturating_add(n),
                Err(e) if total > 0 && e == Errno::EINTR => return Ok(total),
                Err(e) => return Err(e),
            }
        }
        Ok(total)
    }

    fn cq_has_entries(&self) -> bool {
        self.cq.has_entries()
    }

    /// One `io_uring_enter` for `to_submit` published SQEs, waiting for a completion with
    /// `wait`: our own call, or the crate's on an SQPOLL ring (it knows the wake-up protocol
    /// of the kernel's polling thread).
    #[inline]
    fn enter(&self, st: &mut State, to_submit: u32, wait: bool) -> Result<u32, Errno> {
        self.kernel.enter(&st.sq, to_submit, wait)
    }

    /// On the fallback backend, completions posted by an enter that does not deliver them
    /// (`ar_ring_submit`, the submissions at the end of `run`, the submitter thread's) must
    /// make a watched notification fd readable, as the kernel's eventfd signal does.
    pub(crate) fn signal_undelivered(&self) {
        if self.kernel.is_fallback() && self.notify_registered.load(Ordering::Relaxed) && self.cq.has_entries() {
            self.kernel.signal_notify();
        }
    }

    /// Empties the notification eventfd so a level-triggered host loop does not spin.
    fn drain_notify(&self) {
        if !self.notify_registered.load(Ordering::Relaxed) || self.kernel.is_fallback() {
            // Nobody watches it, and the kernel does not signal it (the fallback backend's
            // notification fd is its own, drained when it is entered).
            return;
        }
        let mut count = 0u64;
        // SAFETY: reads 8 bytes into a live u64 from our non-blocking eventfd.
        unsafe { libc::read(self.notify.as_raw_fd(), (&raw mut count).cast(), 8) };
    }

    /// Keeps a read armed on the post wake-up eventfd.
    pub(crate) fn arm_wake(&self, st: &mut State) {
        if st.wake_armed || st.closing {
            return;
        }
        let entry = opcode::Read::new(types::Fd(self.posts.wake_fd()), self.wake_buf.get().cast(), 8)
            .offset(u64::MAX)
            .build()
            .user_data(INTERNAL_WAKE);
        st.wake_armed = true;
        st.internal_inflight += 1;
        st.push_internal(&[Pending::new(entry)]);
        self.kick(st);
    }

    /// Moves the backlog into the submission queue and enters the kernel as needed; with
    /// `wait_one`, the last enter also waits for a completion. Returns operations handed over.
    #[inline(always)]
    pub(crate) fn submit_inner(&self, cx: &mut Cx<'_>, wait_one: bool) -> Result<u32, Errno> {
        cx.st().close_own_chain();
        if self.driver.submitter().is_some() {
            // Only the submitter thread enters the kernel; hand it what is queued.
            let st = cx.st();
            let queued = st.sq_ops
                + st.backlog.iter().filter(|p| p.entry.get_user_data() & (TAG_DEADLINE | TAG_INTERNAL) == 0).count()
                    as u32;
            self.kick(st);
            return Ok(queued);
        }
        let st = cx.st();
        let handed = self.submit_entering(st, wait_one);
        // The kernel consumed entries: the lane may widen.
        st.reopen_lane();
        handed
    }

    /// `submit_inner` for a ring whose own thread enters the kernel (or publishes to the
    /// kernel's polling thread).
    #[inline(always)]
    pub(crate) fn submit_entering(&self, st: &mut State, mut wait_one: bool) -> Result<u32, Errno> {
        let mut handed = 0u32;
        loop {
            let out_of_room = st.flush_backlog(self.inflight());
            if !st.ready.is_empty() {
                // Operations ended here without a CQE (an over-long chain): never wait in
                // the kernel for a completion while they wait for delivery, and wake whoever
                // waits elsewhere (a thread-safe ring's runner).
                wait_one = false;
                self.posts.wake();
            }
            let backlog_left = !st.backlog.is_empty();
            // Never block while SQEs wait in the backlog for room in the submission queue:
            // one of them may be what the operations already in the kernel are waiting for.
            // What a drain holds back cannot go before completions arrive anyway: waiting for
            // them is right (spinning was not, and the fallback backend, which progresses
            // only when entered, would never get them).
            let wait = wait_one && (!backlog_left || !out_of_room);
            st.sync_sq();
            let sq_len = st.sq.pending();
            if !wait && sq_len == 0 && !st.sq.flags_need_enter() {
                if out_of_room {
                    // An SQPOLL thread consumed the queue since the flush: flush again, or
                    // what is left would wait with nothing in the kernel to wake us.
                    continue;
                }
                return Ok(handed);
            }
            match self.enter(st, sq_len, wait) {
                Ok(n) => {
                    let ops = if n >= sq_len { st.sq_ops } else { st.sq_ops.min(n) };
                    st.sq_ops -= ops;
                    handed += ops;
                    if wait || !backlog_left {
                        return Ok(handed);
                    }
                    if st.publish_each_push {
                        // SQPOLL: the enter reports what is still published, not what the
                        // poller took, so its 0 means an empty queue, not "nothing taken".
                        if !self.room_for_backlog(out_of_room)? {
                            return Ok(handed);
                        }
                    } else if n == 0 {
                        return Ok(handed);
                    }
                }
                Err(e) => match e {
                    Errno::EINTR if wait => return Err(Errno::EINTR),
                    Errno::EINTR => {}
                    // The completion queue is overflowing (EBUSY) or the kernel is short of
                    // memory (EAGAIN): nothing is lost, the caller reaps and we retry later.
                    Errno::EBUSY | Errno::EAGAIN => return Ok(handed),
                    e => return Err(e),
                },
            }
        }
    }

    /// On an SQPOLL ring, after publishing while the backlog still holds work: whether the
    /// flush should go on. What a drain holds (a completion releases it) or a chain still
    /// being queued (closing it submits) waits; what found no room waits for room, here:
    /// only the poller makes it, on its own time and with no completion to say so, and the
    /// operations ahead may never complete (the ring's wake-up read), so leaving it would
    /// leave `run` waiting for ever.
    #[cold]
    fn room_for_backlog(&self, out_of_room: bool) -> Result<bool, Errno> {
        if !out_of_room {
            return Ok(false);
        }
        self.kernel.poller.wait_for_room()?;
        Ok(true)
    }

    /// Delivers every completion that is ready and runs posted work. Returns callbacks run.
    pub(crate) fn deliver(&self, cx: &mut Cx<'_>) -> Result<u32, Errno> {
        if self.driver.shared() { self.deliver_as::<true>(cx) } else { self.deliver_as::<false>(cx) }
    }

    /// `deliver`, for a thread-safe ring (`SHARED`, which releases the ring during
    /// callbacks: `Cx::invoke`) or another.
    #[inline(always)]
    fn deliver_as<const SHARED: bool>(&self, cx: &mut Cx<'_>) -> Result<u32, Errno> {
        let mut delivered = 0u32;
        loop {
            // Operations finished without a CQE (never submitted).
            while let Some(id) = cx.st().ready.pop() {
                delivered += self.finish::<SHARED>(cx, id);
            }
            // `pop` frees each CQE's slot before its callback runs.
            while let Some((user_data, res, flags)) = self.cq.pop() {
                delivered += self.settle::<SHARED>(cx, user_data, res, flags);
            }
            let st = cx.st();
            if !st.ready.is_empty() {
                // Callbacks made more ready.
                continue;
            }
            if !st.sq.cq_overflow() {
                break;
            }
            if self.driver.submitter().is_some() {
                // The submitter thread's enter flushes the overflow list.
                self.kick(st);
                break;
            }
            // Completions wait in the kernel's overflow list (NODROP): an enter with
            // GETEVENTS moves them into the now-empty completion queue.
            match self.kernel.flush_overflow(&st.sq) {
                Ok(_) | Err(Errno::EINTR) => {}
                Err(e) => return Err(e),
            }
        }
        delivered += self.run_posted::<SHARED>(cx);
        // The submitter thread enters only when kicked: what settling queued (re-arms, timers
        // and retried cancels of the ring's own) must reach it, or it would wait forever.
        if self.driver.submitter().is_some() && (!cx.st().backlog.is_empty() || cx.st().sq.pending() > 0) {
            self.kick(cx.st());
        }
        Ok(delivered)
    }

    #[inline]
    fn run_posted<const SHARED: bool>(&self, cx: &mut Cx<'_>) -> u32 {
        if !self.posts.is_pending() { 0 } else { self.run_posted_slow::<SHARED>(cx) }
    }

    #[cold]
    fn run_posted_slow<const SHARED: bool>(&self, cx: &mut Cx<'_>) -> u32 {
        let mut posted = std::mem::take(&mut cx.st().posted);
        self.posts.take(&mut posted);
        let n = posted.len() as u32;
        for p in posted.drain(..) {
            cx.run_posted_work::<SHARED>(p);
        }
        // Give the (empty) vector back so its capacity is reused.
        cx.st().posted = posted;
        n
    }
}
