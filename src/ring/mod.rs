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

mod backlog;
pub mod buf;
pub mod completion;
mod driver;
mod groups;
pub mod kind;
pub mod operation;
pub mod opts;
mod owner;
mod post;
mod queue;
pub mod record;
mod register;
mod run;
mod settle;
mod submitter;
pub(crate) mod table;
mod teardown;

pub use kind::Kind;
pub use record::Args;

use std::cell::UnsafeCell;
use std::collections::VecDeque;
use std::ffi::c_void;
use std::mem::ManuallyDrop;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use io_uring::{squeue, types};

use self::buf::BufGroup;
use self::completion::{Completion, OpCallback};
use self::driver::Driver;
use self::owner::{Claim, Owner};
use self::post::{PostQueue, Posted};
use self::table::OpTable;
use crate::config::{AR_RING_SQPOLL, AR_RING_THREADSAFE, RingConfig};
use crate::error::Errno;
use crate::kernel::Kernel;
use crate::kernel::rings::{CompletionRing, SubmissionRing};

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

/// How long the kernel's polling thread of a thread-safe ring polls after work before it
/// sleeps, unless `sqpoll_idle_ms` says otherwise: long enough to carry a busy host from one
/// batch to the next, short enough that a burst costs little CPU after it.
const THREADSAFE_IDLE_MS: u32 = 50;

/// Every ring gets a distinct identity, so that a buffer group can tell its own ring from
/// one that the allocator placed at a freed ring's address.
static NEXT_RING_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// The claim on a ring, and with it the right to the ring's state.
///
/// Every entry point (`queue`, `submit`, `run`, `cancel`, a group's `recycle`, …) claims the
/// ring once and passes the `Cx` down; internal functions take it, or just the `&mut State`
/// they need. The state is borrowed from the `Cx` (`st`), and a user's callback runs only
/// through it (`invoke`), both by `&mut self`: the compiler proves that no borrow of the
/// state is live while a callback runs. A callback may queue operations: those calls claim
/// the ring again (a nested claim) and get a `Cx` of their own, which is sound exactly
/// because the outer one is borrowed by `invoke` meanwhile. On a thread-safe ring `invoke`
/// even releases the claim while the callback runs, so other threads queue meanwhile; that
/// too is sound because no borrow of the state outlives the call.
pub(crate) struct Cx<'r> {
    pub(crate) ring: &'r Ring,
    claim: Claim<'r>,
}

impl<'r> Cx<'r> {
    /// Claims `ring` for this thread (`-EBUSY` if another thread holds it).
    #[inline(always)]
    pub(crate) fn claim(ring: &'r Ring) -> Result<Cx<'r>, Errno> {
        Ok(Cx { ring, claim: ring.owner.claim()? })
    }

    /// The ring's state, for as long as this borrow of the claim lasts.
    #[inline(always)]
    pub(crate) fn st(&mut self) -> &mut State {
        // SAFETY: we hold the claim, so no other thread touches the state; `&mut self` makes
        // this the only borrow through this claim, and a nested claim exists only inside a
        // callback, which runs through `invoke` (`&mut self` too) or `run_posted`.
        unsafe { &mut *self.ring.state.get() }
    }

    /// Whether this claim is nested in another on the same thread (inside a callback).
    pub(crate) fn nested(&self) -> bool {
        self.claim.nested()
    }

    /// Runs a user's completion callback. No borrow of the state can be live across it.
    #[inline(always)]
    ///
    /// `SHARED` (a thread-safe ring, chosen once per `deliver`): the ring is released while
    /// the callback runs, so other threads queue instead of waiting for it
    /// (`Claim::suspended`); other rings pay nothing for that.
    pub(crate) fn invoke<const SHARED: bool>(&mut self, cb: OpCallback, userdata: *mut c_void, c: &Completion) {
        if let Some(cb) = cb {
            if SHARED {
                // SAFETY: the queue-time contract: `cb` may be called with `userdata`.
                self.claim.suspended(|| unsafe { cb(userdata, c) });
            } else {
                // SAFETY: as above.
                unsafe { cb(userdata, c) };
            }
        }
    }

    /// Runs work posted with `ar_ring_post`. No borrow of the state can be live across it.
    pub(crate) fn run_posted_work<const SHARED: bool>(&mut self, work: Posted) {
        if SHARED {
            // SAFETY: the poster's contract.
            self.claim.suspended(|| unsafe { work.run() });
        } else {
            // SAFETY: as above.
            unsafe { work.run() };
        }
    }
}

/// The backend a ring runs on (`ar_ring_backend`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// The kernel's io_uring.
    Uring,
    /// The user-space fallback: epoll, a thread pool and timers (SPEC §3.7).
    Fallback,
}

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
    /// The thread that opened that chain (`owner::thread_token`).
    pub(crate) chain_thread: usize,
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
    /// Every push publishes the tail at once (`Driver::publishes_each_push`).
    pub(crate) publish_each_push: bool,
    /// The *lane*: how many unlinked operations may go straight into the submission queue
    /// with no other check (see `push_one`). At most the free slots; 0 whenever something
    /// else must happen on a push: a backlog or an open chain to queue behind, teardown,
    /// an SQPOLL tail to publish, a submitter thread to kick (`careful`).
    pub(crate) lane: u32,
    /// Every push must take the careful path (`Driver::careful`).
    pub(crate) careful: bool,
}

/// A ring: see the module documentation.
pub struct Ring {
    /// The io_uring instance (the kernel layer's seam).
    pub(crate) kernel: Kernel,
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
    /// How submissions reach the kernel and how `run` waits (the threading seam).
    pub(crate) driver: Driver,
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
        let asked = config.copied().unwrap_or_default();
        let mut cfg = asked.resolved()?;
        // The kernel's polling thread takes the creating thread's CPUs: confined to one CPU,
        // it would share it with the host it serves, and every round trip would wait for the
        // scheduler (the Swift echo on a thread-safe ring, pinned: 64x its CPU per message).
        let polling_allowed = std::env::var_os("ASYNCRING_THREADSAFE_SUBMITTER").is_none() && allowed_cpus() >= 2;
        let (kernel, sq, cq) =
            if cfg.flags & AR_RING_THREADSAFE != 0 && cfg.flags & AR_RING_SQPOLL == 0 && polling_allowed {
                // A thread-safe ring is backed by the kernel's polling thread when it can be: no
                // hand-off per batch (1.3x a default ring's NOP round trip, against ~18x through
                // a submitter thread; `make bench`), polling only briefly after work unless told
                // otherwise. Where SQPOLL cannot be set up, the thread may use only one CPU, or
                // ASYNCRING_THREADSAFE_SUBMITTER is set (tests use it), a submitter thread does
                // the job.
                let polled = RingConfig {
                    flags: cfg.flags | AR_RING_SQPOLL,
                    sqpoll_idle_ms: if asked.sqpoll_idle_ms == 0 { THREADSAFE_IDLE_MS } else { cfg.sqpoll_idle_ms },
                    ..cfg
                };
                match Kernel::setup(&polled) {
                    Ok(set_up) => {
                        cfg = polled;
                        set_up
                    }
                    Err(_) => Kernel::setup(&cfg)?,
                }
            } else {
                Kernel::setup(&cfg)?
            };
        // SAFETY: eventfd takes no pointers.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if fd < 0 {
            return Err(Errno::last());
        }
        // SAFETY: `fd` is a fresh descriptor we own.
        let notify = unsafe { OwnedFd::from_raw_fd(fd) };
        let driver = Driver::for_flags(cfg.flags, kernel.is_fallback())?;
        let threadsafe = driver.submitter().is_some();
        let shared = driver.shared();
        if threadsafe {
            // `run` waits on the notification fd itself.
            kernel.register_eventfd(notify.as_raw_fd())?;
        }
        let ring = Box::new(Ring {
            kernel,
            id: NEXT_RING_ID.fetch_add(1, Ordering::Relaxed),
            state: UnsafeCell::new(ManuallyDrop::new(State::new(sq, &driver))),
            cq,
            owner: Owner::new(shared),
            posts: PostQueue::new()?,
            notify,
            notify_registered: AtomicBool::new(threadsafe),
            notify_lock: Mutex::new(()),
            inflight: AtomicU32::new(0),
            wake_buf: UnsafeCell::new(0),
            driver,
        });
        ring.start_submitter()?;
        {
            let mut cx = Cx::claim(&ring)?;
            ring.arm_wake(cx.st());
            // Submit the wake-up read now, so a post made before the first `run` still
            // signals the notification fd.
            if let Err(e) = ring.submit_inner(&mut cx, false) {
                // The enter failed as a whole, so the kernel took nothing: forget the read,
                // and the ring is dropped with nothing to drain (no leak).
                let st = cx.st();
                if !st.publish_each_push {
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
        // The fallback backend's fd is its epoll set (src/kernel/fallback).
        Ok(self.kernel.notify_fd().unwrap_or(self.notify.as_raw_fd()))
    }

    #[cold]
    fn register_notify(&self) -> Result<(), Errno> {
        let _guard = self.notify_lock.lock().unwrap_or_else(|e| e.into_inner());
        if self.notify_registered.load(Ordering::Acquire) {
            return Ok(());
        }
        self.kernel.register_eventfd(self.notify.as_raw_fd())?;
        // Completions may be waiting already: make the fd readable once, so a host that
        // starts watching now runs the ring at least once.
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live u64 to our eventfd.
        unsafe { libc::write(self.notify.as_raw_fd(), (&raw const one).cast(), 8) };
        self.notify_registered.store(true, Ordering::Release);
        Ok(())
    }

    /// Which backend the ring runs on: io_uring, or the fallback (SPEC §3.7).
    pub fn backend(&self) -> Backend {
        if self.kernel.is_fallback() { Backend::Fallback } else { Backend::Uring }
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

    pub(crate) fn as_ptr(&self) -> *mut Ring {
        (self as *const Ring).cast_mut()
    }
}

impl State {
    fn new(sq: SubmissionRing, driver: &Driver) -> State {
        State {
            table: OpTable::new(),
            backlog: VecDeque::new(),
            chain_open: false,
            chain_thread: 0,
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
            publish_each_push: driver.publishes_each_push(),
            lane: 0,
            careful: driver.careful(),
        }
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

/// How many CPUs the calling thread may run on (1 if that cannot be read).
fn allowed_cpus() -> usize {
    // SAFETY: an all-zero cpu_set_t is an empty set; sched_getaffinity writes it.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: the size passed is the set's.
    if unsafe { libc::sched_getaffinity(0, size_of::<libc::cpu_set_t>(), &mut set) } != 0 {
        return 1;
    }
    // SAFETY: reads the set just written.
    unsafe { libc::CPU_COUNT(&set) as usize }
}
