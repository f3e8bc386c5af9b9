//! The ring: one io_uring instance, the operations in flight, and their delivery.
//!
//! Submission path: `queue` validates an operation, takes a record from the table, lets the
//! operation build its SQE, and pushes it straight into the submission queue when there is
//! room (an operation without options takes the *lane*, `State::lane`: one counter says
//! the SQE may be built right in its slot). Otherwise the SQE waits in the *backlog*, a FIFO of SQEs that `submit` moves into
//! the submission queue as space frees up (docs/DESIGN.md, guarantee 2). Linked chains always travel through
//! the backlog and are moved whole, because the kernel ends a chain at a batch boundary.
//!
//! Completion path: `run` copies CQEs out of the completion queue in batches, settles each
//! one against its record, and invokes the user's callback with no borrow of the ring's
//! state held, so a callback may queue new operations. An operation's final callback runs
//! when the kernel owes it no more CQEs (its own, plus its deadline timer's), exactly once
//! (docs/DESIGN.md, guarantee 1).
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

use io_uring::{IoUring, opcode, squeue, types};

use crate::buf::BufGroup;
use crate::completion::{Callback, OpCallback, PostFn};
use crate::config::{AR_RING_SINGLE_THREAD, AR_RING_SQPOLL, AR_RING_THREADSAFE, RingConfig};
use crate::error::Errno;
use crate::op::table::OpTable;
use crate::op::{
    AR_OP_ASYNC, AR_OP_DRAIN, AR_OP_FIXED_FILE, AR_OP_HARDLINK, AR_OP_LINK, AR_OP_REARM, KNOWN_OP_FLAGS, Kind, OpOpts,
    Operation,
};
use crate::owner::Owner;
use crate::post::{PostQueue, Posted};
use crate::probe;
use crate::shared_rings::{self, CompletionRing, SubmissionRing};
use crate::submitter::Submitter;

/// `user_data` of a deadline timer: this bit plus the id of the operation it guards.
/// With `TAG_INTERNAL` too: the standalone timer of a parked receive (`Ring::park`).
pub(crate) const TAG_DEADLINE: u64 = 1 << 63;
/// `user_data` of the ring's own requests.
pub(crate) const TAG_INTERNAL: u64 = 1 << 62;
/// With `TAG_INTERNAL`: the library's own cancel of the operation in the low bits (freeing
/// a group in use). Ids stay below this bit (`op::table`).
pub(crate) const TAG_OWNED: u64 = 1 << 61;
/// The id part of a tagged `user_data`.
const ID_MASK: u64 = TAG_OWNED - 1;
pub(crate) const INTERNAL_WAKE: u64 = TAG_INTERNAL | 1;
/// Teardown's cancel of everything.
pub(crate) const INTERNAL_CANCEL: u64 = TAG_INTERNAL | 2;
/// The back-off timer in front of a retried cancel.
pub(crate) const INTERNAL_RETRY_TIMER: u64 = TAG_INTERNAL | 3;
/// The removal of a parked receive's timer.
pub(crate) const INTERNAL_TIMER_REMOVE: u64 = TAG_INTERNAL | 4;

/// The operation id in a (possibly tagged) `user_data`.
#[inline]
pub(crate) fn id_of(user_data: u64) -> i64 {
    (user_data & ID_MASK) as i64
}

/// Every ring gets a distinct identity, so that a buffer group can tell its own ring from
/// one that the allocator placed at a freed ring's address.
static NEXT_RING_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

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

/// One SQE waiting in the backlog, whether the next one belongs to the same chain, and
/// whether its chain is drained (`AR_OP_DRAIN`, kept in user space: `backlog`).
#[derive(Clone)]
pub(crate) struct Pending {
    pub(crate) entry: squeue::Entry,
    pub(crate) links_next: bool,
    pub(crate) drain: bool,
}

impl Pending {
    /// An unlinked, undrained SQE.
    pub(crate) fn new(entry: squeue::Entry) -> Pending {
        Pending { entry, links_next: false, drain: false }
    }
}

/// Everything only the thread holding the ring's claim may touch.
pub(crate) struct State {
    pub(crate) table: OpTable,
    pub(crate) backlog: VecDeque<Pending>,
    /// The last operation queued asked to be linked to the next one.
    pub(crate) chain_open: bool,
    /// A drained chain is in the kernel: what follows waits in the backlog (`backlog`).
    pub(crate) draining: bool,
    /// Ids of operations finished without a kernel CQE (never submitted), to be delivered.
    pub(crate) ready: Vec<i64>,
    /// User operations pushed into the submission queue since the last `io_uring_enter`.
    pub(crate) sq_ops: u32,
    /// Internal requests the kernel still owes a CQE.
    pub(crate) internal_inflight: u32,
    pub(crate) cancel_all_in_flight: bool,
    pub(crate) wake_armed: bool,
    /// Inside `run` (or teardown): `run` and `free` are refused from callbacks.
    pub(crate) running: bool,
    /// Teardown has begun: new operations are refused with `-ESHUTDOWN`, and nothing is
    /// re-armed or parked any more.
    pub(crate) closing: bool,
    /// The back-off of the library's own retried cancels (`settle`), read by the kernel.
    pub(crate) retry_ts: types::Timespec,
    /// Posted work being run; keeps its capacity so draining allocates nothing.
    posted: Vec<Posted>,
    /// Buffer groups registered with this ring and not yet released.
    pub(crate) groups: Vec<*mut BufGroup>,
    /// The submission queue: pushes go to its local tail, published right before each
    /// enter (or at once with SQPOLL, whose kernel thread reads the tail continuously).
    pub(crate) sq: SubmissionRing,
    pub(crate) sqpoll: bool,
    /// The *lane*: how many unlinked operations may go straight into the submission queue
    /// with no other check (see `push_one`). At most the free slots; 0 whenever something
    /// else must happen on a push: a backlog or an open chain to queue behind, teardown,
    /// an SQPOLL tail to publish, a submitter thread to kick (`careful`).
    pub(crate) lane: u32,
    /// Every push must take the careful path (SQPOLL or thread-safe rings).
    pub(crate) careful: bool,
}

/// A ring: see the module documentation.
pub struct Ring {
    pub(crate) uring: IoUring,
    /// This ring's identity (`NEXT_RING_ID`).
    pub(crate) id: u64,
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
        // A seccomp policy may allow io_uring_setup and still refuse io_uring_enter or
        // io_uring_register: prove both work before anything is handed to the kernel, so a
        // refusal fails here, cleanly, instead of leaving a ring that cannot deliver.
        probe::check_usable(&uring)?;
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
            id: NEXT_RING_ID.fetch_add(1, Ordering::Relaxed),
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
            if let Err(e) = ring.submit_inner(false) {
                // The enter failed as a whole, so the kernel took nothing: forget the read,
                // and the ring is dropped with nothing to drain (no leak).
                // SAFETY: we hold the claim; no other borrow is live.
                let st = unsafe { ring.state() };
                if !st.sqpoll {
                    st.internal_inflight = 0;
                    st.wake_armed = false;
                }
                return Err(e);
            }
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
    pub(crate) fn add_inflight(&self, delta: i32) {
        let n = self.inflight.load(Ordering::Relaxed);
        self.inflight.store(n.wrapping_add_signed(delta), Ordering::Relaxed);
    }

    /// The state, for the ring's last owner (teardown's drop).
    pub(crate) fn state_mut(&mut self) -> &mut ManuallyDrop<State> {
        self.state.get_mut()
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
        self.kick();
        self.add_inflight(1);
        id
    }

    /// `queue` for an operation without options that must not wait behind the backlog (a
    /// cancel): into the submission queue, or at the front of the backlog.
    ///
    /// # Safety
    ///
    /// As for `queue`.
    pub(crate) unsafe fn queue_priority<O: Operation>(
        &self,
        op: O,
        userdata: *mut c_void,
        cb: OpCallback,
    ) -> Result<i64, Errno> {
        let Some(cb) = cb else { return Err(Errno::EINVAL) };
        let _claim = self.owner.claim()?;
        // SAFETY: we hold the claim; no other borrow of the state is live.
        let st = unsafe { self.state() };
        if st.closing {
            return Err(Errno::ESHUTDOWN);
        }
        // SAFETY: the caller's contract.
        let (id, entry) = unsafe { st.start(op, userdata, cb) }?;
        st.push_priority(&[Pending::new(entry.user_data(id as u64))], 1);
        self.kick();
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
                self.kick();
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
            rec.deadline = crate::op::deadline_from_now(opts.timeout_ns);
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
        self.kick();
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
        let backlog = !unsafe { self.state() }.backlog.is_empty();
        if mode == RunMode::NoWait || backlog {
            // A host loop waits on the notification fd next: what the callbacks queued (or a
            // drain released) must be in the kernel by then, or nothing would ever wake it.
            let _ = self.submit_inner(false);
        }
        // SAFETY: we hold the claim; callbacks have returned, so no other borrow is live.
        unsafe { self.state() }.running = false;
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
            st.flush_backlog(self.inflight());
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
    pub(crate) fn arm_wake(&self) {
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
        st.push_internal(&[Pending::new(entry)]);
        self.kick();
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
            st.flush_backlog(self.inflight());
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
    pub(crate) fn deliver(&self) -> Result<u32, Errno> {
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

    pub(crate) fn as_ptr(&self) -> *mut Ring {
        (self as *const Ring).cast_mut()
    }
}

impl State {
    fn new(sq: SubmissionRing, sqpoll: bool, threadsafe: bool) -> State {
        State {
            table: OpTable::new(),
            backlog: VecDeque::new(),
            chain_open: false,
            draining: false,
            ready: Vec::new(),
            sq_ops: 0,
            internal_inflight: 0,
            cancel_all_in_flight: false,
            wake_armed: false,
            running: false,
            closing: false,
            retry_ts: types::Timespec::new().nsec(10_000_000),
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

    /// Forgets an internal request that will never reach the kernel.
    pub(crate) fn forget_internal(&mut self, user_data: u64) {
        match user_data {
            INTERNAL_WAKE => self.wake_armed = false,
            INTERNAL_CANCEL => self.cancel_all_in_flight = false,
            _ => {}
        }
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
