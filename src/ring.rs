//! The ring: one io_uring instance, the operations in flight, and their delivery.
//!
//! Submission path: `queue` validates an operation, takes a record from the table, lets the
//! operation build its SQE, and pushes it straight into the submission queue when there is
//! room (an operation without options takes the *lane*, `State::lane`: one counter says
//! the SQE may be built right in its slot). Otherwise the SQE waits in the *backlog*, a FIFO of SQEs that `submit` moves into
//! the submission queue as space frees up (SPEC §3.2). Linked chains always travel through
//! the backlog and are moved whole, because the kernel ends a chain at a batch boundary.
//!
//! Completion path: `run` copies CQEs out of the completion queue in batches, settles each
//! one against its record, and invokes the user's callback with no borrow of the ring's
//! state held, so a callback may queue new operations. An operation's final callback runs
//! when the kernel owes it no more CQEs (its own, plus its deadline timer's), exactly once
//! (SPEC §3.1).
//!
//! Internal CQEs (deadline timers, the post wake-up read, teardown cancels) carry tagged
//! `user_data` and never reach the user.

use std::cell::UnsafeCell;
use std::collections::VecDeque;
use std::ffi::c_void;
use std::mem::ManuallyDrop;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use io_uring::{IoUring, cqueue, opcode, squeue, types};

use crate::buf::BufGroup;
use crate::completion::{AR_COMPLETION_BUFFER, AR_COMPLETION_MORE, Callback, Completion, OpCallback, PostFn};
use crate::config::{AR_RING_SINGLE_THREAD, AR_RING_SQPOLL, AR_RING_THREADSAFE, RingConfig};
use crate::error::Errno;
use crate::op::table::OpTable;
use crate::op::{
    AR_OP_ASYNC, AR_OP_DRAIN, AR_OP_FIXED_FILE, AR_OP_HARDLINK, AR_OP_LINK, AR_OP_REARM, KNOWN_OP_FLAGS, Kind, OpOpts,
    Operation, Step,
};
use crate::owner::{Claim, Owner};
use crate::post::{PostQueue, Posted};
use crate::probe;
use crate::shared_rings::{self, CompletionRing, SubmissionRing};
use crate::submitter::Submitter;

/// `user_data` of a deadline timer: this bit plus the id of the operation it guards.
const TAG_DEADLINE: u64 = 1 << 63;
/// `user_data` of the ring's own requests.
const TAG_INTERNAL: u64 = 1 << 62;
const INTERNAL_WAKE: u64 = TAG_INTERNAL | 1;
const INTERNAL_CANCEL: u64 = TAG_INTERNAL | 2;
/// A cancel of one operation the library issued itself (freeing a group in use).
pub(crate) const INTERNAL_CANCEL_OP: u64 = TAG_INTERNAL | 3;

/// How `run` waits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunMode {
    /// Deliver what is ready; never block.
    NoWait,
    /// Block until at least one callback has run (returns 0 at once if nothing is in flight).
    Once,
    /// Run until no operation is in flight and no posted work is waiting.
    UntilDone,
}

/// One SQE waiting in the backlog, and whether the next one belongs to the same chain.
#[derive(Clone)]
pub(crate) struct Pending {
    pub(crate) entry: squeue::Entry,
    pub(crate) links_next: bool,
}

/// Everything only the thread holding the ring's claim may touch.
pub(crate) struct State {
    pub(crate) table: OpTable,
    backlog: VecDeque<Pending>,
    /// The last operation queued asked to be linked to the next one.
    chain_open: bool,
    /// Ids of operations finished without a kernel CQE (never submitted), to be delivered.
    pub(crate) ready: Vec<i64>,
    /// User operations pushed into the submission queue since the last `io_uring_enter`.
    sq_ops: u32,
    /// Internal requests the kernel still owes a CQE.
    pub(crate) internal_inflight: u32,
    cancel_all_in_flight: bool,
    wake_armed: bool,
    /// Inside `run` (or teardown): `run` and `free` are refused from callbacks.
    running: bool,
    /// Teardown has begun: new operations are refused with `-ESHUTDOWN`.
    closing: bool,
    /// Posted work being run; keeps its capacity so draining allocates nothing.
    posted: Vec<Posted>,
    /// Buffer groups registered with this ring and not yet released.
    pub(crate) groups: Vec<*mut BufGroup>,
    /// The submission queue: pushes go to its local tail, published right before each
    /// enter (or at once with SQPOLL, whose kernel thread reads the tail continuously).
    pub(crate) sq: SubmissionRing,
    sqpoll: bool,
    /// The *lane*: how many unlinked operations may go straight into the submission queue
    /// with no other check (see `push_one`). At most the free slots; 0 whenever something
    /// else must happen on a push: a backlog or an open chain to queue behind, teardown,
    /// an SQPOLL tail to publish, a submitter thread to kick (`careful`).
    lane: u32,
    /// Every push must take the careful path (SQPOLL or thread-safe rings).
    careful: bool,
}

/// A ring: see the module documentation.
pub struct Ring {
    pub(crate) uring: IoUring,
    /// Dropped only after a clean teardown: otherwise the kernel may still write into
    /// records, and they are leaked instead.
    state: UnsafeCell<ManuallyDrop<State>>,
    /// The completion queue, read in place by the claim holder.
    cq: CompletionRing,
    pub(crate) owner: Owner,
    posts: PostQueue,
    notify: OwnedFd,
    /// `notify` is registered with the io_uring (see `notify_fd`).
    notify_registered: AtomicBool,
    /// Serialises the registration.
    notify_lock: Mutex<()>,
    /// User operations queued and not yet finally completed. Atomic so any thread may read it.
    inflight: AtomicU32,
    /// The post wake-up read lands here.
    wake_buf: UnsafeCell<u64>,
    /// `IORING_SETUP_DEFER_TASKRUN`: completions are posted only when this thread enters
    /// the kernel with GETEVENTS.
    defer_taskrun: bool,
    /// `AR_RING_THREADSAFE`: the ring-owned thread that does every `io_uring_enter`.
    pub(crate) submitter: Option<Submitter>,
}

// SAFETY: `state` and `wake_buf` are touched only by the thread holding `owner`'s claim (or
// by the kernel, for `wake_buf`); `posts` is a mutex-protected queue; `inflight` is atomic;
// the io_uring rings are only pushed to and reaped by the claim holder.
unsafe impl Sync for Ring {}
// SAFETY: as above; nothing in a ring is tied to the thread that created it, except with
// AR_RING_SINGLE_THREAD, where the kernel itself refuses other threads.
unsafe impl Send for Ring {}

impl Ring {
    /// Creates a ring. `None` means the default configuration.
    pub fn new(config: Option<&RingConfig>) -> Result<Box<Ring>, Errno> {
        let cfg = config.copied().unwrap_or_default().resolved()?;
        let mut builder = IoUring::builder();
        builder.setup_cqsize(cfg.cq_entries);
        // Keep submitting the rest of a batch when one SQE fails (5.18): every SQE then
        // gets its CQE, which is how each operation gets exactly one final completion.
        builder.setup_submit_all();
        if cfg.flags & AR_RING_SINGLE_THREAD != 0 {
            builder.setup_single_issuer().setup_defer_taskrun().setup_taskrun_flag();
        }
        if cfg.flags & AR_RING_SQPOLL != 0 {
            builder.setup_sqpoll(cfg.sqpoll_idle_ms);
        }
        let uring = builder.build(cfg.sq_entries).map_err(|e| probe::classify_setup_error(Errno::from(e)))?;
        if !uring.params().is_feature_nodrop() {
            // Without NODROP (5.5) a full completion queue drops completions.
            return Err(Errno::ENOSYS);
        }
        // SAFETY: eventfd takes no pointers.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if fd < 0 {
            return Err(Errno::last());
        }
        // SAFETY: `fd` is a fresh descriptor we own.
        let notify = unsafe { OwnedFd::from_raw_fd(fd) };
        let threadsafe = cfg.flags & AR_RING_THREADSAFE != 0;
        if threadsafe {
            // `run` waits on the notification fd itself.
            uring.submitter().register_eventfd(notify.as_raw_fd())?;
        }
        let (sq, cq) = shared_rings::map(&uring)?;
        let ring = Box::new(Ring {
            uring,
            state: UnsafeCell::new(ManuallyDrop::new(State::new(sq, cfg.flags & AR_RING_SQPOLL != 0, threadsafe))),
            cq,
            owner: Owner::new(cfg.flags & AR_RING_THREADSAFE != 0),
            posts: PostQueue::new()?,
            notify,
            notify_registered: AtomicBool::new(threadsafe),
            notify_lock: Mutex::new(()),
            inflight: AtomicU32::new(0),
            wake_buf: UnsafeCell::new(0),
            defer_taskrun: cfg.flags & AR_RING_SINGLE_THREAD != 0,
            submitter: if cfg.flags & AR_RING_THREADSAFE != 0 { Some(Submitter::new()?) } else { None },
        });
        ring.start_submitter()?;
        {
            let _claim = ring.owner.claim()?;
            ring.arm_wake();
            // Submit the wake-up read now, so a post made before the first `run` still
            // signals the notification fd.
            ring.submit_inner(false)?;
        }
        Ok(ring)
    }

    /// The registered eventfd: readable when completions or posted work may be waiting.
    ///
    /// The eventfd is registered with the io_uring on the first call: the kernel signals a
    /// registered eventfd on every batch of completions it posts, which costs a program that
    /// never watches the fd (one that just calls `run`) up to a third of a NOP round trip.
    /// What completed before registration is covered by signalling the fd once at
    /// registration. Returns `-errno` if the registration fails.
    #[inline]
    pub fn notify_fd(&self) -> Result<i32, Errno> {
        if !self.notify_registered.load(Ordering::Acquire) {
            self.register_notify()?;
        }
        Ok(self.notify.as_raw_fd())
    }

    #[cold]
    fn register_notify(&self) -> Result<(), Errno> {
        let _guard = self.notify_lock.lock().unwrap_or_else(|e| e.into_inner());
        if self.notify_registered.load(Ordering::Acquire) {
            return Ok(());
        }
        self.uring.submitter().register_eventfd(self.notify.as_raw_fd())?;
        // Completions may be waiting already: make the fd readable once, so a host that
        // starts watching now runs the ring at least once.
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live u64 to our eventfd.
        unsafe { libc::write(self.notify.as_raw_fd(), (&raw const one).cast(), 8) };
        self.notify_registered.store(true, Ordering::Release);
        Ok(())
    }

    /// User operations queued and not yet finally completed.
    pub fn inflight(&self) -> u32 {
        self.inflight.load(Ordering::Relaxed)
    }

    /// Only the claim holder changes the count, so a plain load and store suffice: an
    /// atomic read-modify-write (`lock xadd`) per operation measurably slowed the hot path.
    fn add_inflight(&self, delta: i32) {
        let n = self.inflight.load(Ordering::Relaxed);
        self.inflight.store(n.wrapping_add_signed(delta), Ordering::Relaxed);
    }

    /// # Safety
    ///
    /// The caller holds the ring's claim, and no other reference into the state is live.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn state(&self) -> &mut State {
        // SAFETY: the caller's contract.
        unsafe { &mut *self.state.get() }
    }

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
        let _claim = match self.owner.claim() {
            Ok(claim) => claim,
            Err(e) => return e.negated().into(),
        };
        // SAFETY: we hold the claim; no other borrow of the state is live.
        let st = unsafe { self.state() };
        if st.lane == 0 {
            // SAFETY: the caller's contract.
            return unsafe { self.queue_plain_careful(st, op, userdata, cb) };
        }
        let (id, entry) = match st.start(op, userdata, cb) {
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
        let (id, entry) = match st.start(op, userdata, cb) {
            Ok(started) => started,
            Err(e) => return e.negated().into(),
        };
        st.push_one_careful(entry.user_data(id as u64));
        self.kick();
        self.add_inflight(1);
        id
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
        // SAFETY: the caller's contract.
        id_or_errno(unsafe { self.queue_general_inner(op, opts, userdata, cb) })
    }

    /// # Safety
    ///
    /// As for `queue`.
    #[inline(always)]
    unsafe fn queue_general_inner<O: Operation>(
        &self,
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
        let _claim = self.owner.claim()?;
        // SAFETY: we hold the claim; no other borrow of the state is live.
        let st = unsafe { self.state() };
        if st.closing {
            return Err(Errno::ESHUTDOWN);
        }
        let group_use = op.buf_group();
        if let Some(g) = &group_use {
            // SAFETY: a non-NULL group pointer came from `new_group` and is not yet freed
            // (the C contract); we only read its owner and state under our claim.
            let group = unsafe { g.group.as_ref() }.ok_or(Errno::EINVAL)?;
            // SAFETY: we hold the claim of the group's ring (checked just below).
            if !std::ptr::eq(group.ring, self) || unsafe { group.state() }.freed {
                return Err(Errno::EINVAL);
            }
        } else if opts.flags & AR_OP_REARM != 0 {
            return Err(Errno::EINVAL);
        }
        let (id, slot, rec) = st.table.alloc().ok_or(Errno::ENOMEM)?;
        let entry = match op.prepare(&mut rec.args) {
            Ok(entry) => entry,
            Err(e) => {
                st.table.release(id as u32);
                return Err(e);
            }
        };
        slot.userdata = userdata;
        slot.cb = Some(cb);
        if O::KIND != Kind::Plain || group_use.is_some() || opts.timeout_ns != 0 {
            // The record will differ from a clean one: its CQEs take the general path.
            rec.kind = O::KIND;
            slot.mark_general();
        }
        let link = opts.flags & (AR_OP_LINK | AR_OP_HARDLINK) != 0;
        let flags = sqe_flags(opts.flags);
        if group_use.is_none() && opts.timeout_ns == 0 && !link {
            // The common case: one unlinked SQE, straight into the submission queue.
            if st.push_one(entry.flags(flags).user_data(id as u64)) {
                self.kick();
            }
            self.add_inflight(1);
            return Ok(id);
        }
        if let Some(g) = group_use {
            rec.group = g.group;
            rec.fd = g.fd;
            // SAFETY: validated above; we hold the claim.
            unsafe { (*g.group).state() }.users += 1;
            if opts.flags & AR_OP_REARM != 0 {
                // A re-arm is a fresh, unlinked submission of the same request.
                let keep = sqe_flags(opts.flags & (AR_OP_ASYNC | AR_OP_FIXED_FILE));
                rec.rearm = Some(entry.clone().flags(keep).user_data(id as u64));
            }
        }
        if opts.timeout_ns == 0 {
            self.push(st, &[Pending { entry: entry.flags(flags).user_data(id as u64), links_next: link }], 1);
        } else {
            // A deadline is a linked timeout right behind the operation (5.5). If the user
            // links onward, the chain continues from the timeout (the kernel skips it).
            rec.outstanding = 2;
            rec.deadline = crate::op::timespec_from_ns(opts.timeout_ns);
            let op_flags = if link { flags } else { flags | squeue::Flags::IO_LINK };
            let timer_flags = flags & (squeue::Flags::IO_LINK | squeue::Flags::IO_HARDLINK);
            let timer =
                opcode::LinkTimeout::new(&rec.deadline).build().flags(timer_flags).user_data(TAG_DEADLINE | id as u64);
            self.push(
                st,
                &[
                    Pending { entry: entry.flags(op_flags).user_data(id as u64), links_next: true },
                    Pending { entry: timer, links_next: link },
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
        self.kick();
    }

    /// Marks `target` as cancel-requested and returns whether it is live.
    pub(crate) fn claim_live(&self, target: i64) -> Result<(Claim<'_>, bool), Errno> {
        let claim = self.owner.claim()?;
        // SAFETY: we hold the claim; no other borrow of the state is live.
        let st = unsafe { self.state() };
        let live = st.table.contains(target);
        Ok((claim, live))
    }

    /// Hands every queued operation to the kernel. Returns how many operations it took.
    pub fn submit(&self) -> Result<u32, Errno> {
        let _claim = self.owner.claim()?;
        // SAFETY: we hold the claim; no other borrow of the state is live.
        unsafe { self.state() }.chain_open = false;
        self.submit_inner(false)
    }

    /// Delivers completions; see [`RunMode`]. Returns how many callbacks ran (completions
    /// and posted functions). Refused with `-EBUSY` from inside a callback.
    pub fn run(&self, mode: RunMode) -> Result<u32, Errno> {
        let claim = self.owner.claim()?;
        // SAFETY: we hold the claim; no other borrow of the state is live.
        let st = unsafe { self.state() };
        if st.running || claim.nested() {
            return Err(Errno::EBUSY);
        }
        st.running = true;
        st.chain_open = false;
        if self.submitter.is_some() {
            // Other threads may queue while this one waits: hold the claim only per step.
            drop(claim);
            let result = self.run_threadsafe(mode);
            let _claim = self.owner.claim()?;
            // SAFETY: we hold the claim again; no other borrow is live.
            unsafe { self.state() }.running = false;
            return result;
        }
        let result = match mode {
            RunMode::NoWait => self.run_nowait(),
            RunMode::Once => self.run_once(),
            RunMode::UntilDone => self.run_until_done(),
        };
        // SAFETY: we hold the claim; callbacks have returned, so no other borrow is live.
        unsafe { self.state() }.running = false;
        result
    }

    /// Queues `func(userdata)` to run inside a later `run` on the ring's thread, and wakes
    /// the ring. Callable from any thread.
    pub fn post(&self, userdata: *mut c_void, func: PostFn) -> Result<(), Errno> {
        self.posts.post(userdata, func)
    }

    /// `run` for a thread-safe ring: reap under the claim, wait in `poll(2)` without it,
    /// and never enter the kernel from this (possibly short-lived) thread.
    fn run_threadsafe(&self, mode: RunMode) -> Result<u32, Errno> {
        let mut total = 0u32;
        loop {
            // Drain before reaping: a completion posted afterwards signals the fd again.
            self.drain_notify();
            let n = {
                let _claim = self.owner.claim()?;
                self.deliver()?
            };
            total = total.saturating_add(n);
            let idle = self.inflight() == 0 && !self.posts.is_pending();
            match mode {
                RunMode::NoWait => return Ok(total),
                RunMode::Once if total > 0 || idle => return Ok(total),
                RunMode::UntilDone if idle => return Ok(total),
                _ => {}
            }
            let mut pfd = libc::pollfd { fd: self.notify.as_raw_fd(), events: libc::POLLIN, revents: 0 };
            // SAFETY: one valid pollfd.
            if unsafe { libc::poll(&mut pfd, 1, -1) } < 0 {
                let e = Errno::last();
                if e != Errno::EINTR || total > 0 {
                    return if total > 0 { Ok(total) } else { Err(e) };
                }
                return Err(Errno::EINTR);
            }
        }
    }

    /// The submitter thread's work: move the backlog into the submission queue and enter
    /// the kernel, under the claim (only this thread enters; SQ access stays serialised).
    pub(crate) fn submit_as_submitter(&self) -> Result<(), Errno> {
        let _claim = self.owner.claim()?;
        loop {
            // SAFETY: we hold the claim; no other borrow is live.
            let st = unsafe { self.state() };
            st.flush_backlog();
            let more = !st.backlog.is_empty();
            st.sync_sq();
            let sq_len = st.sq.pending();
            if sq_len == 0 && !st.sq.cq_overflow() {
                return Ok(());
            }
            match self.enter(st, sq_len, false) {
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

    fn run_nowait(&self) -> Result<u32, Errno> {
        // Drain before reaping: a completion posted after the drain signals the fd again,
        // so the host never misses one (at worst it wakes once for nothing).
        self.drain_notify();
        self.submit_inner(false)?;
        if self.defer_taskrun {
            // With DEFER_TASKRUN the kernel signals the eventfd when it queues deferred work
            // and again when our enter runs it and posts CQEs. Drain that second signal too,
            // or the host would wake once per batch for nothing; IORING_SQ_TASKRUN (set
            // before the kernel signals) tells us if new work arrived in between.
            loop {
                self.drain_notify();
                // SAFETY: we hold the claim; no other borrow is live.
                if !unsafe { self.state() }.sq.taskrun() {
                    break;
                }
                self.submit_inner(false)?;
            }
        }
        self.deliver()
    }

    #[inline(always)]
    fn run_once(&self) -> Result<u32, Errno> {
        loop {
            // SAFETY: we hold the claim (taken by `run`); no other borrow is live.
            let st = unsafe { self.state() };
            let ready = !st.ready.is_empty() || self.posts.is_pending() || self.cq_has_entries();
            if self.inflight() == 0 && !ready {
                // Nothing could ever complete: do not block forever.
                self.submit_inner(false)?;
                return self.deliver();
            }
            self.submit_inner(!ready)?;
            let n = self.deliver()?;
            if n > 0 {
                return Ok(n);
            }
        }
    }

    #[inline(always)]
    fn run_until_done(&self) -> Result<u32, Errno> {
        let mut total = 0u32;
        while self.inflight() > 0 || self.posts.is_pending() {
            match self.run_once() {
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
        if st.sqpoll {
            let r = if wait { self.uring.submit_and_wait(1) } else { self.uring.submit() };
            return r.map(|n| n as u32).map_err(Errno::from);
        }
        st.sq.enter(to_submit, wait)
    }

    /// Empties the notification eventfd so a level-triggered host loop does not spin.
    fn drain_notify(&self) {
        if !self.notify_registered.load(Ordering::Relaxed) {
            // Nobody watches it, and the kernel does not signal it.
            return;
        }
        let mut count = 0u64;
        // SAFETY: reads 8 bytes into a live u64 from our non-blocking eventfd.
        unsafe { libc::read(self.notify.as_raw_fd(), (&raw mut count).cast(), 8) };
    }

    /// Keeps a read armed on the post wake-up eventfd.
    fn arm_wake(&self) {
        // SAFETY: the caller holds the claim; no other borrow is live.
        let st = unsafe { self.state() };
        if st.wake_armed || st.closing {
            return;
        }
        let entry = opcode::Read::new(types::Fd(self.posts.wake_fd()), self.wake_buf.get().cast(), 8)
            .offset(u64::MAX)
            .build()
            .user_data(INTERNAL_WAKE);
        st.wake_armed = true;
        st.internal_inflight += 1;
        self.push(st, &[Pending { entry, links_next: false }], 0);
    }

    /// Moves the backlog into the submission queue and enters the kernel as needed; with
    /// `wait_one`, the last enter also waits for a completion. Returns operations handed over.
    #[inline(always)]
    fn submit_inner(&self, wait_one: bool) -> Result<u32, Errno> {
        if self.submitter.is_some() {
            // Only the submitter thread enters the kernel; hand it what is queued.
            // SAFETY: the caller holds the claim; no other borrow is live.
            let st = unsafe { self.state() };
            let queued = st.sq_ops
                + st.backlog.iter().filter(|p| p.entry.get_user_data() & (TAG_DEADLINE | TAG_INTERNAL) == 0).count()
                    as u32;
            self.kick();
            return Ok(queued);
        }
        let handed = self.submit_entering(wait_one);
        // The kernel consumed entries: the lane may widen.
        // SAFETY: the caller holds the claim; no other borrow is live.
        unsafe { self.state() }.reopen_lane();
        handed
    }

    /// `submit_inner` for a ring whose own thread enters the kernel.
    #[inline(always)]
    fn submit_entering(&self, wait_one: bool) -> Result<u32, Errno> {
        let mut handed = 0u32;
        loop {
            // SAFETY: the caller holds the claim; no other borrow is live.
            let st = unsafe { self.state() };
            st.flush_backlog();
            let backlog_left = !st.backlog.is_empty();
            // Never block while SQEs still wait in the backlog: one of them may be what
            // the operations already in the kernel are waiting for.
            let wait = wait_one && !backlog_left;
            st.sync_sq();
            let sq_len = st.sq.pending();
            if !wait && sq_len == 0 && !st.sq.flags_need_enter() {
                return Ok(handed);
            }
            match self.enter(st, sq_len, wait) {
                Ok(n) => {
                    let ops = if n >= sq_len { st.sq_ops } else { st.sq_ops.min(n) };
                    st.sq_ops -= ops;
                    handed += ops;
                    if wait || !backlog_left || n == 0 {
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

    /// Delivers every completion that is ready and runs posted work. Returns callbacks run.
    fn deliver(&self) -> Result<u32, Errno> {
        let mut delivered = 0u32;
        loop {
            // Operations finished without a CQE (never submitted).
            // SAFETY: the caller holds the claim; the borrow ends before any callback.
            while let Some(id) = unsafe { self.state() }.ready.pop() {
                delivered += self.finish(id);
            }
            // `pop` frees each CQE's slot before its callback runs.
            while let Some((user_data, res, flags)) = self.cq.pop() {
                delivered += self.settle(user_data, res, flags);
            }
            // SAFETY: the caller holds the claim; no other borrow is live.
            let st = unsafe { self.state() };
            if !st.ready.is_empty() {
                // Callbacks made more ready.
                continue;
            }
            if !st.sq.cq_overflow() {
                break;
            }
            if self.submitter.is_some() {
                // The submitter thread's enter flushes the overflow list.
                self.kick();
                break;
            }
            // Completions wait in the kernel's overflow list (NODROP): an enter with
            // GETEVENTS moves them into the now-empty completion queue.
            match self.enter(st, 0, false) {
                Ok(_) | Err(Errno::EINTR) => {}
                Err(e) => return Err(e),
            }
        }
        delivered += self.run_posted();
        // SAFETY: the caller holds the claim; the callbacks above have returned.
        if self.submitter.is_some() && !unsafe { self.state() }.backlog.is_empty() {
            self.kick();
        }
        Ok(delivered)
    }

    /// Accounts one CQE to its operation; runs a callback when one is due. Returns 0 or 1.
    #[inline]
    fn settle(&self, user_data: u64, res: i32, cqe_flags: u32) -> u32 {
        if !cqueue::more(cqe_flags) && !cqueue::notif(cqe_flags) {
            // The common case: the one CQE of a plain operation with no group or deadline.
            // (Tagged `user_data` never matches a slot: `take_plain` sees to it.)
            // SAFETY: the caller holds the claim; the borrow ends before the callback.
            let st = unsafe { self.state() };
            let id = user_data as i64;
            // Freed before the callback, as `finish_at` does.
            if let Some((userdata, cb)) = st.table.take_plain(id) {
                self.add_inflight(-1);
                let c = Completion { ring: self.as_ptr(), op: id, res, flags: 0, buf: std::ptr::null_mut(), buf_id: 0 };
                if let Some(cb) = cb {
                    // SAFETY: the queue-time contract: `cb` may be called with `userdata`.
                    unsafe { cb(userdata, &c) };
                }
                return 1;
            }
        }
        self.settle_general(user_data, res, cqe_flags)
    }

    /// `settle` for everything but the common case.
    fn settle_general(&self, user_data: u64, res: i32, cqe_flags: u32) -> u32 {
        if user_data & TAG_INTERNAL != 0 {
            self.settle_internal(user_data, res);
            return 0;
        }
        // SAFETY: the caller holds the claim; the borrow ends before any callback.
        let st = unsafe { self.state() };
        let id = (user_data & !TAG_DEADLINE) as i64;
        let index = id as u32;
        let Some(rec) = st.table.get_mut(id) else {
            // A record lives until the kernel owes it nothing, so this cannot happen.
            debug_assert!(false, "CQE for unknown operation {id:#x}");
            return 0;
        };
        if user_data & TAG_DEADLINE != 0 {
            rec.deadline_fired = res == -libc::ETIME;
            rec.outstanding -= 1;
        } else {
            let buf = cqueue::buffer_select(cqe_flags);
            match rec.kind.step(cqe_flags) {
                Step::More => {
                    let group = rec.group;
                    let (userdata, cb) = {
                        let (slot, _) = st.table.at_mut(index);
                        (slot.userdata, slot.cb)
                    };
                    let c = self.completion(id, res, AR_COMPLETION_MORE, group, buf);
                    if let Some(cb) = cb {
                        // SAFETY: the queue-time contract: `cb` may be called with `userdata`.
                        unsafe { cb(userdata, &c) };
                    }
                    self.after_buffer_callback(group, &c);
                    return 1;
                }
                // The buffer stays the kernel's until the notification: hold the result.
                Step::FinalThenNotif => rec.res = res,
                Step::Notif => rec.outstanding -= 1,
                Step::Final if res == -libc::ENOBUFS && rec.rearm.is_some() => {
                    // AR_OP_REARM: park instead of ending; a recycled buffer re-arms it.
                    rec.outstanding -= 1;
                    rec.parked = true;
                    let group = rec.group;
                    // SAFETY: a record's group outlives the record; we hold the claim.
                    let gs = unsafe { (*group).state() };
                    gs.parked.push(id);
                    // Buffers may have come back while the kernel was failing this request.
                    // SAFETY: as above.
                    if unsafe { &*group }.has_free_buffers() {
                        self.unpark(group);
                    }
                    return 0;
                }
                Step::Final => {
                    rec.res = res;
                    rec.buf = buf;
                    rec.outstanding -= 1;
                }
            }
        }
        if rec.outstanding == 0 && !rec.parked { self.finish_at(id) } else { 0 }
    }

    fn settle_internal(&self, user_data: u64, _res: i32) {
        // SAFETY: the caller holds the claim; no other borrow is live.
        let st = unsafe { self.state() };
        st.internal_inflight -= 1;
        match user_data {
            INTERNAL_WAKE => {
                // A post woke us; the posted work itself is drained by `deliver`.
                st.wake_armed = false;
                self.arm_wake();
            }
            INTERNAL_CANCEL => st.cancel_all_in_flight = false,
            INTERNAL_CANCEL_OP => {}
            _ => debug_assert!(false, "unknown internal CQE {user_data:#x}"),
        }
    }

    /// The completion the user sees; lends the buffer `buf` of `group` if there is one.
    fn completion(&self, id: i64, res: i32, flags: u32, group: *mut BufGroup, buf: Option<u16>) -> Completion {
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
    fn after_buffer_callback(&self, group: *mut BufGroup, c: &Completion) {
        // SAFETY: a record's group outlives the record; we hold the claim.
        if let Some(g) = unsafe { group.as_ref() } {
            // SAFETY: as above.
            if c.flags & AR_COMPLETION_BUFFER != 0 && unsafe { g.state() }.freed {
                let _ = g.recycle(c.buf_id);
            }
        }
    }

    /// Delivers the final completion of `id` and frees its record. Returns 1.
    pub(crate) fn finish(&self, id: i64) -> u32 {
        // SAFETY: the caller holds the claim; no other borrow is live.
        if unsafe { self.state() }.table.get_mut(id).is_none() {
            return 0;
        }
        self.finish_at(id)
    }

    /// `finish` for an id the caller has just validated (the CQE path): no second lookup.
    fn finish_at(&self, id: i64) -> u32 {
        // SAFETY: the caller holds the claim; the borrow ends before the callback.
        let st = unsafe { self.state() };
        let index = id as u32;
        let (slot, rec) = st.table.at_mut(index);
        let (userdata, cb) = (slot.userdata, slot.cb);
        let group = rec.group;
        let c = self.completion(id, rec.final_res(), 0, group, rec.buf);
        // Free first: inside its final callback the operation is finished, so cancelling its
        // id reports -ENOENT and the record may serve an operation the callback queues.
        st.table.release(index);
        self.add_inflight(-1);
        if let Some(cb) = cb {
            // SAFETY: the queue-time contract: `cb` may be called with `userdata`.
            unsafe { cb(userdata, &c) };
        }
        // The group stays alive through the callback (its buffer may be in use there).
        if !group.is_null() {
            self.after_buffer_callback(group, &c);
            // SAFETY: a record's group outlives the record; we hold the claim.
            let gs = unsafe { (*group).state() };
            gs.users -= 1;
            if gs.freed && gs.users == 0 {
                self.destroy_group(group);
            }
        }
        1
    }

    #[inline]
    fn run_posted(&self) -> u32 {
        if !self.posts.is_pending() { 0 } else { self.run_posted_slow() }
    }

    #[cold]
    fn run_posted_slow(&self) -> u32 {
        let mut posted = {
            // SAFETY: the caller holds the claim; the borrow ends before any callback.
            let st = unsafe { self.state() };
            std::mem::take(&mut st.posted)
        };
        self.posts.take(&mut posted);
        let n = posted.len() as u32;
        for p in posted.drain(..) {
            // SAFETY: the poster's contract.
            unsafe { p.run() };
        }
        // SAFETY: as above; give the (empty) vector back so its capacity is reused.
        unsafe { self.state() }.posted = posted;
        n
    }

    fn as_ptr(&self) -> *mut Ring {
        (self as *const Ring).cast_mut()
    }

    /// Whether the calling thread may free the ring now: it is not inside `run` or a
    /// callback, and no other thread is using the ring.
    pub fn check_free(&self) -> Result<(), &'static str> {
        let claim = self.owner.claim().map_err(|_| "ar_ring_free: the ring is in use by another thread")?;
        // SAFETY: we hold the claim; no other borrow is live.
        let st = unsafe { self.state() };
        if claim.nested() || st.running {
            return Err(
                "ar_ring_free: called from inside a callback or ar_ring_run; free the ring after ar_ring_run returns",
            );
        }
        Ok(())
    }

    /// Teardown (SPEC §3.3): operations that never reached the kernel complete with
    /// `-ECANCELED`; everything in the kernel is cancelled, and we wait until the kernel
    /// owes no CQE at all, delivering every final callback. Only then may memory be freed.
    /// Returns `false` if the kernel could not be drained; the caller must then leak the
    /// records rather than free memory the kernel may still use.
    fn shutdown(&self) -> bool {
        // From here on this thread enters the kernel itself: the submitter is done.
        self.stop_submitter();
        let Ok(_claim) = self.owner.claim() else {
            return false;
        };
        {
            // SAFETY: we hold the claim; no other borrow is live.
            let st = unsafe { self.state() };
            st.closing = true;
            st.lane = 0;
            st.running = true;
            // Parked receives wait for buffers that will not come back now.
            for &g in &st.groups {
                // SAFETY: registered groups are alive; we hold the claim.
                for id in std::mem::take(&mut unsafe { (*g).state() }.parked) {
                    if let Some(rec) = st.table.get_mut(id) {
                        rec.parked = false;
                        rec.res = -libc::ECANCELED;
                        st.ready.push(id);
                    }
                }
            }
            while let Some(p) = st.backlog.pop_front() {
                let ud = p.entry.get_user_data();
                if ud & TAG_INTERNAL != 0 {
                    // Never submitted: the kernel owes nothing for it.
                    st.internal_inflight -= 1;
                    match ud {
                        INTERNAL_WAKE => st.wake_armed = false,
                        INTERNAL_CANCEL => st.cancel_all_in_flight = false,
                        _ => {}
                    }
                } else if ud & TAG_DEADLINE == 0 {
                    if let Some(rec) = st.table.get_mut(ud as i64) {
                        rec.res = -libc::ECANCELED;
                        rec.outstanding = 0;
                        st.ready.push(ud as i64);
                    }
                }
            }
        }
        // Wake up now and then to re-issue the cancel for operations started meanwhile.
        let idle = types::Timespec::new().nsec(100_000_000);
        loop {
            if self.deliver().is_err() {
                return false;
            }
            // SAFETY: we hold the claim; the previous borrow has ended.
            let st = unsafe { self.state() };
            if self.inflight() == 0 && st.internal_inflight == 0 {
                break;
            }
            if !st.cancel_all_in_flight {
                // IORING_ASYNC_CANCEL_ANY (5.19): one request cancels everything.
                let entry = opcode::AsyncCancel2::new(types::CancelBuilder::any()).build().user_data(INTERNAL_CANCEL);
                st.cancel_all_in_flight = true;
                st.internal_inflight += 1;
                self.push(st, &[Pending { entry, links_next: false }], 0);
            }
            st.flush_backlog();
            st.sync_sq();
            let args = types::SubmitArgs::new().timespec(&idle);
            match self.uring.submitter().submit_with_args(1, &args) {
                Ok(_) => {}
                Err(e) if matches!(e.raw_os_error(), Some(libc::ETIME | libc::EINTR | libc::EBUSY | libc::EAGAIN)) => {}
                Err(e) => {
                    eprintln!(
                        "libasyncring: teardown cannot drain the ring ({e}); leaking its memory instead of freeing it while the kernel may use it"
                    );
                    return false;
                }
            }
        }
        let _ = self.uring.submitter().unregister_eventfd();
        // Groups the user has not freed outlive the ring: unregister them and leave their
        // memory to ar_bufgroup_free.
        // SAFETY: we hold the claim; every callback has returned.
        let st = unsafe { self.state() };
        for g in st.groups.drain(..) {
            // SAFETY: registered groups are alive.
            let group = unsafe { &*g };
            let _ = self.uring.submitter().unregister_buf_ring(group.bgid);
            // SAFETY: as above.
            unsafe { group.state() }.orphaned = true;
        }
        true
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // If the kernel could not be drained it may still write into records: leak them.
        if self.shutdown() {
            // SAFETY: dropped once, here; nothing uses the state after teardown.
            unsafe { ManuallyDrop::drop(self.state.get_mut()) };
        }
    }
}

impl State {
    fn new(sq: SubmissionRing, sqpoll: bool, threadsafe: bool) -> State {
        State {
            table: OpTable::new(),
            backlog: VecDeque::new(),
            chain_open: false,
            ready: Vec::new(),
            sq_ops: 0,
            internal_inflight: 0,
            cancel_all_in_flight: false,
            wake_armed: false,
            running: false,
            closing: false,
            posted: Vec::new(),
            groups: Vec::new(),
            sq,
            sqpoll,
            lane: 0,
            careful: sqpoll || threadsafe,
        }
    }

    /// Takes a record for `op`, lets it prepare its SQE, and records the callback: what
    /// every queued operation starts with. Returns the id and the SQE (without `user_data`).
    #[inline(always)]
    fn start<O: Operation>(
        &mut self,
        op: O,
        userdata: *mut c_void,
        cb: Callback,
    ) -> Result<(i64, squeue::Entry), Errno> {
        let (id, slot, rec) = self.table.alloc().ok_or(Errno::ENOMEM)?;
        let entry = match op.prepare(&mut rec.args) {
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
        }
        Ok((id, entry))
    }

    /// Recomputes the lane (see `lane`) from the kernel's head: after every push that did
    /// not go through it, and after the kernel consumed entries.
    #[inline]
    pub(crate) fn reopen_lane(&mut self) {
        self.lane = if self.backlog.is_empty() && !self.chain_open && !self.closing && !self.careful {
            self.sq.free_slots()
        } else {
            0
        };
    }

    /// Publishes pushed entries to the kernel.
    #[inline]
    pub(crate) fn sync_sq(&mut self) {
        self.sq.publish();
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
        if self.backlog.is_empty() && !self.chain_open && self.sq.room(1) >= 1 {
            // SAFETY: as in `push_one`; there is room.
            unsafe { self.sq.push(entry) };
            self.sq_ops += 1;
            if self.sqpoll {
                self.sq.publish();
            }
        } else {
            self.backlog.push_back(Pending { entry, links_next: false });
            self.chain_open = false;
        }
        self.reopen_lane();
    }

    /// Pushes the SQEs of one operation: straight into the submission queue when nothing
    /// waits before them and they fit, else into the backlog. `ops` is 1 for a user operation.
    pub(crate) fn push(&mut self, items: &[Pending], ops: u32) {
        let links_next = items.last().is_some_and(|p| p.links_next);
        if self.backlog.is_empty()
            && !self.chain_open
            && !links_next
            && self.sq.room(items.len() as u32) as usize >= items.len()
        {
            for p in items {
                // SAFETY: as in `push_one`; there is room for all of them.
                unsafe { self.sq.push(p.entry.clone()) };
            }
            if self.sqpoll {
                self.sq.publish();
            }
            self.sq_ops += ops;
            self.reopen_lane();
            return;
        }
        self.backlog.extend(items.iter().cloned());
        self.chain_open = links_next;
        self.reopen_lane();
    }

    /// Moves whole chains from the backlog into the submission queue while they fit.
    #[inline]
    fn flush_backlog(&mut self) {
        if !self.backlog.is_empty() {
            self.flush_backlog_slow();
        }
    }

    #[cold]
    fn flush_backlog_slow(&mut self) {
        let capacity = self.sq.capacity() as usize;
        while !self.backlog.is_empty() {
            let n = self.backlog.iter().position(|p| !p.links_next).map_or(self.backlog.len(), |i| i + 1);
            if n > capacity {
                // The kernel cannot take this chain in one batch: fail it whole.
                for p in self.backlog.drain(..n) {
                    let ud = p.entry.get_user_data();
                    if ud & (TAG_DEADLINE | TAG_INTERNAL) == 0 {
                        if let Some(rec) = self.table.get_mut(ud as i64) {
                            rec.res = -libc::E2BIG;
                            rec.outstanding = 0;
                            self.ready.push(ud as i64);
                        }
                    }
                }
                continue;
            }
            if (self.sq.room(n as u32) as usize) < n {
                break;
            }
            for p in self.backlog.drain(..n) {
                if p.entry.get_user_data() & (TAG_DEADLINE | TAG_INTERNAL) == 0 {
                    self.sq_ops += 1;
                }
                // SAFETY: as in `push_one`; there is room for the whole chain.
                unsafe { self.sq.push(p.entry) };
            }
        }
        if self.sqpoll {
            self.sq.publish();
        }
        self.reopen_lane();
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
    if op_flags & AR_OP_DRAIN != 0 {
        f |= squeue::Flags::IO_DRAIN;
    }
    if op_flags & AR_OP_ASYNC != 0 {
        f |= squeue::Flags::ASYNC;
    }
    if op_flags & AR_OP_FIXED_FILE != 0 {
        f |= squeue::Flags::FIXED_FILE;
    }
    f
}
