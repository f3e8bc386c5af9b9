//! The fallback backend's engine: it plays the kernel's part of io_uring in user space.
//! `consume` takes SQEs and links them into chains; `start` begins a request; `attempt`
//! tries it without blocking (`io`), and it then either ends (`finish`, which moves its
//! chain along), waits for readiness (`watch`), waits for a timer, or goes to the thread
//! pool; `progress` waits on the epoll set and applies what became ready, what expired
//! and what the pool finished. Everything here runs under the backend's lock, on whichever
//! thread entered.

use std::collections::{HashMap, VecDeque};

use super::io::Try;
use super::pool::{Call, Done, Job, Pool};
use super::requests::{At, NONE, Slab, fails_link};
use super::sqe::{ASYNC_CANCEL_ALL, ASYNC_CANCEL_ANY, ASYNC_CANCEL_FD, IOSQE_FIXED_FILE, Sqe, TIMEOUT_ABS, op};
use super::timers::{Timers, now_ns};
use crate::error::Errno;
use crate::kernel::rings::BackendQueues;

/// epoll tokens of the backend's own descriptors; user fds use their (non-negative) number.
pub(super) const WAKE_TOKEN: u64 = u64::MAX;
pub(super) const TIMER_TOKEN: u64 = u64::MAX - 1;

/// Requests waiting on one descriptor, and the events the epoll set has for it.
#[derive(Default)]
struct Watch {
    waiters: Vec<u32>,
    registered: u32,
}

/// A provided-buffer ring registered with the backend (`struct io_uring_buf_ring`).
pub(super) struct BufRing {
    pub base: *mut u8,
    pub mask: u16,
    /// The next entry to hand out; the user publishes up to the tail in entry 0.
    pub head: u16,
}

pub(super) struct Core {
    pub q: BackendQueues,
    pub reqs: Slab,
    starts: VecDeque<u32>,
    watches: HashMap<i32, Watch>,
    /// Descriptors with events in the epoll set.
    registered: usize,
    pub timers: Timers,
    overflow: VecDeque<(u64, i32, u32)>,
    pub files: Option<Vec<i32>>,
    pub bufs: Option<Vec<libc::iovec>>,
    pub groups: HashMap<u16, BufRing>,
    pool: Pool,
    pool_jobs: usize,
    done: Vec<Done>,
    scratch: Vec<u32>,
    events: Vec<libc::epoll_event>,
    pub epoll: i32,
    wake: i32,
    pub timerfd: i32,
    /// The deadline the timerfd is armed for (0: disarmed).
    pub armed_at: u64,
    /// Enters since the epoll set, the pool and the timers were last looked at.
    unlooked: u32,
}

// SAFETY: the raw pointers (buffer rings, registered buffers) point at memory the user keeps
// valid while it is registered; the core is only used under the backend's mutex.
unsafe impl Send for Core {}

impl Core {
    pub(super) fn new(q: BackendQueues, epoll: i32, wake: i32, timerfd: i32) -> Core {
        Core {
            q,
            reqs: Slab::default(),
            starts: VecDeque::new(),
            watches: HashMap::new(),
            registered: 0,
            timers: Timers::default(),
            overflow: VecDeque::new(),
            files: None,
            bufs: None,
            groups: HashMap::new(),
            pool: Pool::new(wake),
            pool_jobs: 0,
            done: Vec::new(),
            scratch: Vec::new(),
            events: Vec::with_capacity(128),
            epoll,
            wake,
            timerfd,
            armed_at: 0,
            unlooked: 0,
        }
    }

    // --- completions ---------------------------------------------------------------------

    /// Posts a CQE; when the completion queue is full it waits in the overflow list (as the
    /// kernel's `IORING_FEAT_NODROP` keeps it) and the ring is told to enter.
    pub(super) fn post(&mut self, user_data: u64, res: i32, flags: u32) {
        if self.overflow.is_empty() && self.q.post(user_data, res, flags) {
            return;
        }
        self.overflow.push_back((user_data, res, flags));
        self.q.set_overflow(true);
    }

    pub(super) fn flush_overflow(&mut self) {
        while let Some(&(u, r, f)) = self.overflow.front() {
            if !self.q.post(u, r, f) {
                return;
            }
            self.overflow.pop_front();
        }
        self.q.set_overflow(false);
    }

    /// Completions wait for the ring: in the queue, or in the overflow list.
    pub(super) fn has_completions(&self) -> bool {
        !self.overflow.is_empty() || self.q.cq_pending()
    }

    // --- submission ----------------------------------------------------------------------

    /// Takes up to `limit` published SQEs: each chain's head is queued to start, the rest
    /// wait behind it. Returns how many it took.
    pub(super) fn consume(&mut self, limit: u32) -> u32 {
        let mut n = 0;
        let mut tail = NONE;
        while n < limit {
            let Some(entry) = self.q.next_sqe() else { break };
            n += 1;
            let sqe = Sqe::from_entry(&entry);
            let slot = self.reqs.alloc(sqe);
            if tail == NONE {
                self.starts.push_back(slot);
            } else {
                self.reqs.get_mut(tail).next = slot;
                self.reqs.get_mut(slot).at = At::Linked;
            }
            tail = if self.reqs.get(slot).links() { slot } else { NONE };
        }
        n
    }

    /// Starts every request whose turn came.
    pub(super) fn run_starts(&mut self) {
        while let Some(slot) = self.starts.pop_front() {
            self.start(slot);
        }
    }

    fn start(&mut self, slot: u32) {
        let r = self.reqs.get_mut(slot);
        r.at = At::Busy;
        let sqe = r.sqe;
        let next = r.next;
        // A link timeout right behind a request guards it from the moment it starts.
        if next != NONE && self.reqs.get(next).sqe.opcode == op::LINK_TIMEOUT && sqe.opcode != op::LINK_TIMEOUT {
            let deadline = timer_deadline(&self.reqs.get(next).sqe);
            let lt = self.reqs.get_mut(next);
            lt.guards = slot;
            lt.deadline = deadline;
            lt.at = At::Timer;
            let generation = lt.generation;
            self.reqs.get_mut(slot).ltimeout = next;
            self.timers.add(deadline, next, generation);
        }
        if sqe.flags & IOSQE_FIXED_FILE != 0 && sqe.opcode != op::ASYNC_CANCEL {
            match self.files.as_ref().and_then(|f| f.get(sqe.fd as u32 as usize)).copied() {
                Some(fd) if fd >= 0 => self.reqs.get_mut(slot).fd = fd,
                _ => return self.finish(slot, -libc::EBADF, 0),
            }
        }
        match sqe.opcode {
            op::NOP => self.finish(slot, 0, 0),
            op::TIMEOUT => {
                let deadline = timer_deadline(&sqe);
                let r = self.reqs.get_mut(slot);
                r.deadline = deadline;
                r.at = At::Timer;
                let generation = r.generation;
                self.timers.add(deadline, slot, generation);
            }
            // Only valid right behind another request (handled above).
            op::LINK_TIMEOUT => self.finish(slot, -libc::EINVAL, 0),
            op::TIMEOUT_REMOVE => {
                let res = self.remove_timeout(sqe.addr);
                self.finish(slot, res, 0);
            }
            op::ASYNC_CANCEL => {
                let res = self.cancel(slot, &sqe);
                self.finish(slot, res, 0);
            }
            _ => self.attempt(slot),
        }
    }

    /// Tries a request once, without blocking, and acts on the outcome.
    pub(super) fn attempt(&mut self, slot: u32) {
        self.reqs.get_mut(slot).at = At::Busy;
        match self.try_io(slot) {
            Try::Done(res, flags) => self.finish(slot, res, flags),
            Try::ZeroCopyDone(res) => {
                // The result, then the notification that the buffer is free: a copy was
                // made, so it is free at once.
                let ud = self.reqs.get(slot).sqe.user_data;
                self.post(ud, res, super::sqe::CQE_F_MORE);
                let failed = res < 0;
                self.end(slot, 0, super::sqe::CQE_F_NOTIF, failed);
            }
            Try::Wait(fd, events) => self.watch(slot, fd, events),
            Try::Pool(call) => self.hand_to_pool(slot, call),
        }
    }

    // --- ending --------------------------------------------------------------------------

    /// Ends a request with its final CQE and moves its chain along.
    pub(super) fn finish(&mut self, slot: u32, res: i32, flags: u32) {
        let failed = fails_link(&self.reqs.get(slot).sqe, res);
        self.end(slot, res, flags, failed);
    }

    fn end(&mut self, slot: u32, res: i32, flags: u32, failed: bool) {
        let r = self.reqs.get(slot);
        let (ud, hard, mut next, lt) = (r.sqe.user_data, r.hard(), r.next, r.ltimeout);
        self.post(ud, res, flags);
        if lt != NONE {
            // Its link timeout did not fire: it completes cancelled, and the chain goes on
            // from what follows it.
            self.timers_forget(lt);
            let l = self.reqs.get(lt);
            let (lud, lnext) = (l.sqe.user_data, l.next);
            self.post(lud, -libc::ECANCELED, 0);
            self.reqs.free(lt);
            next = lnext;
        }
        self.reqs.free(slot);
        if next == NONE {
            return;
        }
        if failed && !hard {
            self.fail_chain(next);
        } else {
            self.starts.push_back(next);
        }
    }

    /// Ends every request of a chain that will not run, with `-ECANCELED`.
    fn fail_chain(&mut self, mut slot: u32) {
        while slot != NONE {
            let r = self.reqs.get(slot);
            let (ud, next) = (r.sqe.user_data, r.next);
            self.post(ud, -libc::ECANCELED, 0);
            self.reqs.free(slot);
            slot = next;
        }
    }

    fn timers_forget(&mut self, slot: u32) {
        let reqs = &self.reqs;
        self.timers.forget(|s, g| reqs.is(s, g, At::Timer) && s != slot);
    }

    /// Takes a request out of where it waits, so it can be ended now. False if it cannot
    /// be stopped (running on the pool).
    fn detach(&mut self, slot: u32) -> bool {
        let r = self.reqs.get(slot);
        match r.at {
            At::Fd => {
                let fd = r.watch_fd;
                if let Some(w) = self.watches.get_mut(&fd) {
                    w.waiters.retain(|&s| s != slot);
                }
                self.sync(fd);
                true
            }
            At::Timer => {
                self.timers_forget(slot);
                true
            }
            At::Pool => {
                if self.pool.take_back(slot, r.generation) {
                    self.pool_jobs -= 1;
                    true
                } else {
                    false
                }
            }
            At::Free | At::Linked | At::Busy => false,
        }
    }

    // --- cancels and timers --------------------------------------------------------------

    /// `IORING_OP_ASYNC_CANCEL`: by user_data, by fd (`IORING_ASYNC_CANCEL_FD`), or every
    /// request (`_ANY`); one match, or all of them with `_ALL`. Requests not started yet
    /// (behind their chain's head) are not found, as in the kernel. Link timeouts are not
    /// cancelled themselves; they end with the request they guard.
    fn cancel(&mut self, me: u32, sqe: &Sqe) -> i32 {
        let flags = sqe.op_flags;
        let all = flags & (ASYNC_CANCEL_ALL | ASYNC_CANCEL_ANY) != 0;
        let mut targets = std::mem::take(&mut self.scratch);
        targets.clear();
        for (slot, r) in self.reqs.slots() {
            if slot == me || !matches!(r.at, At::Fd | At::Timer | At::Pool) || r.sqe.opcode == op::LINK_TIMEOUT {
                continue;
            }
            let hit = if flags & ASYNC_CANCEL_ANY != 0 {
                true
            } else if flags & ASYNC_CANCEL_FD != 0 {
                r.fd == sqe.fd && r.sqe.opcode != op::TIMEOUT
            } else {
                r.sqe.user_data == sqe.addr
            };
            if hit {
                targets.push(slot);
                if !all {
                    break;
                }
            }
        }
        let (mut cancelled, mut running) = (0, 0);
        for &t in &targets {
            if self.reqs.get(t).at == At::Free {
                continue;
            }
            if self.detach(t) {
                self.finish(t, -libc::ECANCELED, 0);
                cancelled += 1;
            } else {
                running += 1;
            }
        }
        self.scratch = targets;
        if all {
            // As the kernel counts: every match, stopped or already running; 0 for none.
            cancelled + running
        } else if cancelled > 0 {
            0
        } else if running > 0 {
            -libc::EALREADY
        } else {
            -libc::ENOENT
        }
    }

    /// `IORING_OP_TIMEOUT_REMOVE` of the timeout `user_data`.
    fn remove_timeout(&mut self, user_data: u64) -> i32 {
        let found = self
            .reqs
            .slots()
            .find(|(_, r)| r.at == At::Timer && r.sqe.opcode == op::TIMEOUT && r.sqe.user_data == user_data)
            .map(|(s, _)| s);
        match found {
            Some(t) => {
                self.detach(t);
                self.finish(t, -libc::ECANCELED, 0);
                0
            }
            None => -libc::ENOENT,
        }
    }

    /// Fires every timer due by now.
    pub(super) fn expire_timers(&mut self) {
        if self.timers.is_empty() {
            return;
        }
        let now = now_ns();
        while let Some((slot, generation)) = self.timers.pop_due(now) {
            if !self.reqs.is(slot, generation, At::Timer) {
                continue;
            }
            self.timers.fired();
            let r = self.reqs.get_mut(slot);
            r.at = At::Busy;
            if r.sqe.opcode != op::LINK_TIMEOUT {
                self.finish(slot, -libc::ETIME, 0);
                continue;
            }
            // A link timeout fired: it completes with -ETIME, and the request it guards is
            // cancelled (its chain then continues from what followed the timeout).
            let (target, ud, after) = (r.guards, r.sqe.user_data, r.next);
            self.post(ud, -libc::ETIME, 0);
            self.reqs.free(slot);
            let t = self.reqs.get_mut(target);
            t.ltimeout = NONE;
            t.next = after;
            if self.detach(target) {
                self.finish(target, -libc::ECANCELED, 0);
            }
            // Otherwise it is running on the pool and ends with its own result.
        }
    }

    // --- readiness -----------------------------------------------------------------------

    /// Parks a request until `fd` reports one of `events`.
    fn watch(&mut self, slot: u32, fd: i32, events: u32) {
        let r = self.reqs.get_mut(slot);
        r.at = At::Fd;
        r.watch_fd = fd;
        r.events = events;
        self.watches.entry(fd).or_default().waiters.push(slot);
        self.sync(fd);
    }

    /// Makes the epoll set's events for `fd` the union of what its waiters want.
    fn sync(&mut self, fd: i32) {
        let Some(w) = self.watches.get_mut(&fd) else { return };
        let want = w.waiters.iter().fold(0, |acc, &s| acc | self.reqs.get(s).events);
        if want == w.registered {
            return;
        }
        let epoll = self.epoll;
        let ctl = |cmd| {
            let mut ev = libc::epoll_event { events: want, u64: fd as u64 };
            // SAFETY: a valid epoll fd and event.
            if unsafe { libc::epoll_ctl(epoll, cmd, fd, &mut ev) } < 0 { Err(Errno::last()) } else { Ok(()) }
        };
        let result = if want == 0 {
            // The fd may be closed already (then the kernel dropped it from the set).
            let _ = ctl(libc::EPOLL_CTL_DEL);
            Ok(())
        } else if w.registered == 0 {
            ctl(libc::EPOLL_CTL_ADD).or_else(|e| if e == Errno::EEXIST { ctl(libc::EPOLL_CTL_MOD) } else { Err(e) })
        } else {
            ctl(libc::EPOLL_CTL_MOD).or_else(|e| if e == Errno::ENOENT { ctl(libc::EPOLL_CTL_ADD) } else { Err(e) })
        };
        let was = w.registered;
        match result {
            Ok(()) => {
                w.registered = want;
                if was == 0 && want != 0 {
                    self.registered += 1;
                } else if was != 0 && want == 0 {
                    self.registered -= 1;
                }
            }
            Err(e) => {
                // The fd cannot be watched (closed, or a kind epoll refuses): its waiters end
                // with that error.
                if was != 0 {
                    self.registered -= 1;
                }
                w.registered = 0;
                let waiters = std::mem::take(&mut w.waiters);
                for s in waiters {
                    self.reqs.get_mut(s).at = At::Busy;
                    self.finish(s, e.negated(), 0);
                }
            }
        }
    }

    /// `fd` reported `revents`: tries each waiter it concerns again.
    fn on_ready(&mut self, fd: i32, revents: u32) {
        let mut ready = std::mem::take(&mut self.scratch);
        ready.clear();
        if let Some(w) = self.watches.get_mut(&fd) {
            let reqs = &self.reqs;
            let always = (libc::EPOLLERR | libc::EPOLLHUP) as u32;
            w.waiters.retain(|&s| {
                let hit = reqs.get(s).events & revents != 0 || revents & always != 0;
                if hit {
                    ready.push(s);
                }
                !hit
            });
        }
        for &s in &ready {
            self.attempt(s);
        }
        self.scratch = ready;
        self.sync(fd);
    }

    // --- the pool ------------------------------------------------------------------------

    fn hand_to_pool(&mut self, slot: u32, call: Call) {
        let r = self.reqs.get_mut(slot);
        r.at = At::Pool;
        let job = Job { slot, generation: r.generation, call };
        match self.pool.submit(job) {
            Ok(()) => self.pool_jobs += 1,
            Err(e) => {
                self.reqs.get_mut(slot).at = At::Busy;
                self.finish(slot, e.negated(), 0);
            }
        }
    }

    fn collect_pool(&mut self) {
        if self.pool_jobs == 0 {
            return;
        }
        let mut done = std::mem::take(&mut self.done);
        self.pool.collect(&mut done);
        for d in done.drain(..) {
            if self.reqs.is(d.slot, d.generation, At::Pool) {
                self.pool_jobs -= 1;
                self.reqs.get_mut(d.slot).at = At::Busy;
                self.finish(d.slot, d.res, 0);
            }
        }
        self.done = done;
    }

    // --- waiting -------------------------------------------------------------------------

    /// Counts enters that returned with completions without looking at the epoll set, the
    /// pool or the timers; true (and resets) every few, when it is time to look.
    pub(super) fn starving(&mut self) -> bool {
        self.unlooked += 1;
        if self.unlooked < 4 {
            return false;
        }
        self.unlooked = 0;
        true
    }

    /// Whether anything could still complete without a new submission.
    pub(super) fn busy(&self) -> bool {
        self.registered > 0 || self.pool_jobs > 0 || !self.timers.is_empty()
    }

    /// Applies what is ready now, waiting up to `timeout_ns` for something (None: no limit,
    /// Some(0): not at all) and never past the next timer. `EINTR` is returned to the
    /// caller, as `io_uring_enter` returns it.
    pub(super) fn progress(&mut self, timeout_ns: Option<u64>) -> Result<(), Errno> {
        let mut wait = timeout_ns;
        if let Some(next) = self.timers.next() {
            let until = next.saturating_sub(now_ns());
            wait = Some(wait.map_or(until, |w| w.min(until)));
        }
        self.unlooked = 0;
        if wait != Some(0) || self.registered > 0 || self.pool_jobs > 0 {
            self.epoll_wait(wait)?;
        }
        self.collect_pool();
        self.expire_timers();
        self.run_starts();
        Ok(())
    }

    /// Waits up to `wait` (None: no limit) for the epoll set, then applies what it reports.
    ///
    /// A wait that may sleep is a `ppoll` on the epoll fd, not `epoll_wait`, for what each
    /// does when interrupted: `ppoll` returns `EINTR` only if a signal handler ran, and is
    /// restarted by the kernel when all it found was task work (io_uring queues some, with a
    /// signal notification, on a thread that used a ring, even after the ring is gone);
    /// `epoll_wait` returns `EINTR` for both. That is io_uring's own behaviour: a handler
    /// interrupts `ar_ring_run`, nothing else does. The events are then read without
    /// waiting.
    fn epoll_wait(&mut self, wait: Option<u64>) -> Result<(), Errno> {
        if wait != Some(0) {
            // Mutable: the kernel writes the time left back into it.
            let mut ts = wait.map(|ns| libc::timespec {
                tv_sec: (ns / 1_000_000_000) as libc::time_t,
                tv_nsec: (ns % 1_000_000_000) as libc::c_long,
            });
            let tsp = ts.as_mut().map_or(std::ptr::null(), |t| (t as *mut libc::timespec).cast_const());
            let mut pfd = libc::pollfd { fd: self.epoll, events: libc::POLLIN, revents: 0 };
            // SAFETY: one valid pollfd; `tsp` is NULL or a live, writable timespec; no mask.
            let n = unsafe { libc::ppoll(&mut pfd, 1, tsp, std::ptr::null()) };
            if n < 0 {
                return Err(Errno::last());
            }
            if n == 0 {
                return Ok(());
            }
        }
        let cap = self.events.capacity() as i32;
        // SAFETY: the buffer has room for `cap` events; a zero timeout never sleeps.
        let n = unsafe { libc::epoll_wait(self.epoll, self.events.as_mut_ptr(), cap, 0) };
        if n < 0 {
            return Err(Errno::last());
        }
        // SAFETY: the kernel wrote `n` events.
        unsafe { self.events.set_len(n as usize) };
        for i in 0..n as usize {
            let ev = self.events[i];
            let (token, revents) = (ev.u64, ev.events);
            match token {
                WAKE_TOKEN => drain(self.wake),
                TIMER_TOKEN => drain(self.timerfd),
                fd => self.on_ready(fd as i32, revents),
            }
        }
        // SAFETY: plain data; the length only bounds what was read.
        unsafe { self.events.set_len(0) };
        Ok(())
    }
}

/// A timer's deadline from its SQE: absolute, or relative to now.
fn timer_deadline(sqe: &Sqe) -> u64 {
    let ts = sqe.addr as *const libc::timespec;
    // SAFETY: a timeout's timespec stays valid until it completes (`Operation` contract).
    let t = unsafe { ts.read_unaligned() };
    let ns = (t.tv_sec.max(0) as u64).saturating_mul(1_000_000_000).saturating_add(t.tv_nsec.max(0) as u64);
    if sqe.op_flags & TIMEOUT_ABS != 0 { ns } else { now_ns().saturating_add(ns) }
}

/// Empties an eventfd or timerfd.
pub(super) fn drain(fd: i32) {
    let mut v = 0u64;
    // SAFETY: reads 8 bytes into a live u64 from a non-blocking fd.
    unsafe { libc::read(fd, (&raw mut v).cast(), 8) };
}
