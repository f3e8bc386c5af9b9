//! Which thread is using a ring right now.
//!
//! A ring is used by one thread at a time (docs/DESIGN.md, "Threading"). Every call that touches the ring's
//! state first claims it here. The thread already holding the claim (a callback running
//! inside `ar_ring_run`) may claim it again, which is how callbacks queue new operations.
//!
//! What happens to a second thread depends on the ring's mode: a default ring refuses it
//! with `-EBUSY` instead of a data race; an `AR_RING_THREADSAFE` ring makes it wait, briefly,
//! on a lock (the holder never blocks in the kernel while holding it).
//!
//! A default ring's claim is *biased* towards the thread that used it last, because an
//! atomic read-modify-write per call (`lock cmpxchg`, which also drains the store buffer
//! full of the SQE just written) was a fifth of the cost of queueing an operation. The
//! thread the ring is biased to claims it with plain stores to its own *seat*: it marks
//! itself busy, then checks that the bias is still its own. Another thread takes the slow
//! path: it revokes the bias, then makes every thread of the process pass a memory barrier
//! (`membarrier(2)`, the asymmetric fence of Linux 4.14+), after which either the biased
//! thread's busy mark is visible (the ring is in use: `-EBUSY`) or that thread will see the
//! revoked bias and back off. Each thread has its own seat, so a backing-off thread's
//! stores never touch another's. Without `membarrier` (seccomp), the ring is never biased:
//! every claim takes the slow path's mutex, which is correct with no barrier at all.
//!
//! The fast path is the only one inlined into every call, so it checks nothing else: an
//! unbiased ring (thread-safe, without `membarrier`, or not yet used) points its bias at
//! `NOBODY`, a seat no thread sits in, and every other case is sorted out in `claim_slow`.

use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicUsize, Ordering, compiler_fence};
use std::sync::{Mutex, OnceLock};

use crate::error::Errno;

/// Identifies the calling thread: unique among live threads and never 0. It is the thread
/// pointer, which is what `pthread_self` returns on glibc and musl, read without the call;
/// a `thread_local!` would cost a `__tls_get_addr` call per ring call inside a shared library.
#[inline]
pub(crate) fn thread_token() -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        let tp: usize;
        // SAFETY: reads the TCB's self pointer at %fs:0 (the x86-64 TLS ABI).
        unsafe { std::arch::asm!("mov {}, fs:0", out(reg) tp, options(nostack, readonly, preserves_flags)) };
        tp
    }
    #[cfg(target_arch = "aarch64")]
    {
        let tp: usize;
        // SAFETY: reads the thread pointer register.
        unsafe { std::arch::asm!("mrs {}, tpidr_el0", out(reg) tp, options(nostack, nomem, preserves_flags)) };
        tp
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    // SAFETY: pthread_self has no preconditions.
    unsafe {
        libc::pthread_self() as usize
    }
}

pub(crate) struct Owner {
    /// With `AR_RING_THREADSAFE`: other threads wait on `lock` instead of failing.
    waiting: bool,
    /// Waiting mode: the thread holding the claim, or 0.
    thread: AtomicUsize,
    lock: FutexLock,
    /// Default mode: the seat of the thread the ring is biased to, or `NOBODY`.
    bias: AtomicPtr<Seat>,
    /// Default mode: everything the slow path changes.
    slow: Mutex<Slow>,
    /// `membarrier` is usable, so the ring may be biased (its thread then needs only a
    /// compiler barrier).
    asymmetric: bool,
}

/// The seat an unbiased ring points at: no thread has token 0 (`thread_token`).
static NOBODY: Seat = Seat { thread: 0, busy: AtomicBool::new(false) };

/// `NOBODY`, as the bias stores it (never written through).
fn nobody() -> *mut Seat {
    (&raw const NOBODY).cast_mut()
}

/// One thread's place at a ring (default mode).
#[repr(align(8))]
struct Seat {
    thread: usize,
    /// The thread holds the claim. Written only by that thread (and only read by others).
    busy: AtomicBool,
}

struct Slow {
    /// Every seat ever made, one per thread that used the ring; freed with the ring.
    #[allow(clippy::vec_box, reason = "a seat's address is its identity: it must not move when the Vec grows")]
    seats: Vec<Box<Seat>>,
    /// The seat of the last thread that claimed the ring: the only one that may hold it.
    last: *const Seat,
}

// SAFETY: `last` points into `seats`, which the mutex guards.
unsafe impl Send for Slow {}

/// A claim on the ring; releases it on drop if this call was the one that took it.
///
/// Two words, so that `Result<Claim, Errno>` travels in registers: as a three-word struct,
/// the compiler copied it through the stack with overlapping loads that defeated store
/// forwarding, a stall that was a fifth of the cost of queueing an operation.
pub(crate) struct Claim<'a> {
    owner: &'a Owner,
    /// Default mode: the claiming thread's seat; bit 0 set for the outermost claim.
    seat_and_outermost: usize,
}

impl<'a> Claim<'a> {
    #[inline(always)]
    fn new(owner: &'a Owner, seat: *const Seat, outermost: bool) -> Claim<'a> {
        Claim { owner, seat_and_outermost: seat as usize | usize::from(outermost) }
    }

    /// Whether this is a nested claim, made by the thread already using the ring.
    pub(crate) fn nested(&self) -> bool {
        self.seat_and_outermost & 1 == 0
    }

    /// Runs `f` with the ring released, when this is the outermost claim of a waiting
    /// owner (a thread-safe ring): other threads may then queue while `f` (a user's
    /// callback) runs, instead of waiting for it, which would deadlock a program whose
    /// callback takes a lock that a queueing thread holds. Other claims just run `f`.
    #[inline(always)]
    pub(crate) fn suspended<R>(&mut self, f: impl FnOnce() -> R) -> R {
        if self.seat_and_outermost != 1 {
            return f();
        }
        let me = self.owner.thread.load(Ordering::Relaxed);
        self.owner.thread.store(0, Ordering::Release);
        self.owner.lock.unlock();
        let r = f();
        self.owner.lock.lock();
        self.owner.thread.store(me, Ordering::Relaxed);
        r
    }
}

impl Owner {
    /// An owner whose second thread waits (`true`) or gets `-EBUSY` (`false`).
    pub(crate) fn new(waiting: bool) -> Owner {
        Owner::with_barriers(waiting, asymmetric_fences())
    }

    /// `new`, choosing the barrier scheme (tests exercise the one without `membarrier`).
    fn with_barriers(waiting: bool, asymmetric: bool) -> Owner {
        Owner {
            waiting,
            thread: AtomicUsize::new(0),
            lock: FutexLock::new(),
            bias: AtomicPtr::new(nobody()),
            slow: Mutex::new(Slow { seats: Vec::new(), last: std::ptr::null() }),
            asymmetric,
        }
    }

    /// Claims the ring for the calling thread.
    #[inline]
    pub(crate) fn claim(&self) -> Result<Claim<'_>, Errno> {
        let me = thread_token();
        let seat = self.bias.load(Ordering::Relaxed);
        // SAFETY: the bias points at a seat of this owner's (they live as long as it) or
        // at `NOBODY`.
        let s = unsafe { &*seat };
        if s.thread == me {
            // Only a biased ring gets here, so `membarrier` backs the compiler fence.
            if s.busy.load(Ordering::Relaxed) {
                return Ok(Claim::new(self, seat, false));
            }
            s.busy.store(true, Ordering::Relaxed);
            compiler_fence(Ordering::SeqCst);
            if self.bias.load(Ordering::Relaxed) == seat {
                return Ok(Claim::new(self, seat, true));
            }
            // Revoked meanwhile: back off (the seat is ours alone) and queue up.
            s.busy.store(false, Ordering::Release);
        }
        self.claim_slow(me)
    }

    #[inline(never)]
    fn claim_waiting(&self, me: usize) -> Claim<'_> {
        if self.thread.load(Ordering::Relaxed) == me {
            // Only this thread stores its own token, so the holder cannot change under us.
            return Claim::new(self, std::ptr::null(), false);
        }
        self.lock.lock();
        self.thread.store(me, Ordering::Relaxed);
        Claim::new(self, std::ptr::null(), true)
    }

    #[cold]
    fn claim_slow(&self, me: usize) -> Result<Claim<'_>, Errno> {
        if self.waiting {
            return Ok(self.claim_waiting(me));
        }
        let mut slow = self.slow.lock().unwrap_or_else(|e| e.into_inner());
        let mine: *const Seat = match slow.seats.iter().find(|s| s.thread == me) {
            Some(s) => &**s,
            None => {
                slow.seats.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
                slow.seats.push(Box::new(Seat { thread: me, busy: AtomicBool::new(false) }));
                &**slow.seats.last().expect("just pushed")
            }
        };
        // SAFETY: seats live as long as the owner.
        let seat = unsafe { &*mine };
        if seat.busy.load(Ordering::Relaxed) {
            // We hold the claim already (a callback); in a biased ring, another thread
            // revoked the bias meanwhile (and got -EBUSY): take the bias back.
            if self.asymmetric {
                self.bias.store(mine.cast_mut(), Ordering::Release);
            }
            return Ok(Claim::new(self, mine, false));
        }
        let biased = self.bias.load(Ordering::Relaxed);
        if biased != nobody() && biased.cast_const() != mine {
            // Revoke, then make sure the biased thread either shows as busy or sees this.
            self.bias.store(nobody(), Ordering::SeqCst);
            if !barrier_heavy() {
                // Without the barrier the biased thread's busy mark may be invisible: leave
                // the ring with it.
                self.bias.store(biased, Ordering::SeqCst);
                return Err(Errno::EBUSY);
            }
        }
        // SAFETY: as above.
        if let Some(last) = unsafe { slow.last.as_ref() } {
            if !std::ptr::eq(last, seat) && last.busy.load(Ordering::SeqCst) {
                return Err(Errno::EBUSY);
            }
        }
        seat.busy.store(true, Ordering::Relaxed);
        slow.last = mine;
        if self.asymmetric {
            self.bias.store(mine.cast_mut(), Ordering::SeqCst);
        }
        Ok(Claim::new(self, mine, true))
    }
}

impl Drop for Claim<'_> {
    #[inline]
    fn drop(&mut self) {
        if self.nested() {
            return;
        }
        // A waiting owner's claims have no seat.
        if self.seat_and_outermost == 1 {
            self.owner.thread.store(0, Ordering::Release);
            self.owner.lock.unlock();
        } else {
            // SAFETY: seats live as long as the owner.
            unsafe { &*((self.seat_and_outermost & !1) as *const Seat) }.busy.store(false, Ordering::Release);
        }
    }
}

/// Whether `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)` is usable in this process.
fn asymmetric_fences() -> bool {
    static STATE: OnceLock<bool> = OnceLock::new();
    *STATE.get_or_init(|| {
        const REGISTER_PRIVATE_EXPEDITED: libc::c_int = 1 << 4;
        // SAFETY: membarrier takes no pointers.
        unsafe { libc::syscall(libc::SYS_membarrier, REGISTER_PRIVATE_EXPEDITED, 0u32, 0) == 0 }
    })
}

/// The revoking thread's side: every running thread of the process passes a full barrier.
/// `false` if that could not be done (then the biased thread may still be entering).
fn barrier_heavy() -> bool {
    const PRIVATE_EXPEDITED: libc::c_int = 1 << 3;
    // SAFETY: membarrier takes no pointers.
    unsafe { libc::syscall(libc::SYS_membarrier, PRIVATE_EXPEDITED, 0u32, 0) == 0 }
}

/// A mutex on a futex word (0 free, 1 held, 2 held with waiters: Drepper, "Futexes Are
/// Tricky"). `std::sync::Mutex` hands out only guards, which would make every claim carry
/// an `Option<MutexGuard>` whose drop glue showed up in the per-operation profile.
struct FutexLock(AtomicU32);

impl FutexLock {
    const fn new() -> FutexLock {
        FutexLock(AtomicU32::new(0))
    }

    fn lock(&self) {
        if self.0.compare_exchange(0, 1, Ordering::Acquire, Ordering::Relaxed).is_ok() {
            return;
        }
        while self.0.swap(2, Ordering::Acquire) != 0 {
            // SAFETY: waits while the word still reads 2; the word lives as long as `self`.
            unsafe {
                libc::syscall(
                    libc::SYS_futex,
                    self.0.as_ptr(),
                    libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
                    2u32,
                    std::ptr::null::<libc::timespec>(),
                )
            };
        }
    }

    fn unlock(&self) {
        if self.0.swap(0, Ordering::Release) == 2 {
            // SAFETY: wakes one waiter on our word.
            unsafe {
                libc::syscall(libc::SYS_futex, self.0.as_ptr(), libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG, 1u32)
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_on_same_thread_busy_on_another() {
        let owner = Owner::new(false);
        let outer = owner.claim().unwrap();
        assert!(!outer.nested());
        let inner = owner.claim().unwrap();
        assert!(inner.nested());
        drop(inner);
        std::thread::scope(|s| {
            s.spawn(|| assert_eq!(owner.claim().err(), Some(Errno::EBUSY)));
        });
        drop(outer);
        std::thread::scope(|s| {
            s.spawn(|| assert!(owner.claim().is_ok()));
        });
    }

    #[test]
    fn default_owner_never_admits_two_threads() {
        never_admits_two_threads(&Owner::new(false));
        // The scheme for processes where seccomp refuses membarrier: never biased.
        never_admits_two_threads(&Owner::with_barriers(false, false));
    }

    fn never_admits_two_threads(owner: &Owner) {
        // Threads race for the ring; each that gets it does a non-atomic increment, which
        // loses updates if two ever hold the claim at once. Counting the successes checks
        // that the biased fast path and the revoking slow path exclude each other.
        let counter = std::sync::atomic::AtomicU32::new(0);
        let wins = std::sync::atomic::AtomicU32::new(0);
        let start = std::sync::Barrier::new(3);
        std::thread::scope(|s| {
            for _ in 0..3 {
                s.spawn(|| {
                    start.wait();
                    for i in 0..20_000 {
                        let Ok(c) = owner.claim() else { continue };
                        assert!(!c.nested());
                        for _ in 0..(i % 3) {
                            // Nested claims while holding it, as callbacks make.
                            assert!(owner.claim().unwrap().nested());
                        }
                        let v = counter.load(Ordering::Relaxed);
                        std::hint::spin_loop();
                        counter.store(v + 1, Ordering::Relaxed);
                        wins.fetch_add(1, Ordering::Relaxed);
                    }
                });
            }
        });
        assert!(wins.load(Ordering::Relaxed) > 0);
        assert_eq!(counter.load(Ordering::Relaxed), wins.load(Ordering::Relaxed));
    }

    #[test]
    fn revoked_holder_keeps_its_nested_claims() {
        let owner = Owner::new(false);
        let outer = owner.claim().unwrap();
        std::thread::scope(|s| {
            s.spawn(|| assert_eq!(owner.claim().err(), Some(Errno::EBUSY)));
        });
        // The failed attempt revoked the bias; the holder still nests, then releases.
        assert!(owner.claim().unwrap().nested());
        drop(outer);
        std::thread::scope(|s| {
            s.spawn(|| assert!(!owner.claim().unwrap().nested()));
        });
        assert!(!owner.claim().unwrap().nested(), "the ring passes back");
    }

    #[test]
    fn waiting_owner_serialises_threads() {
        let owner = Owner::new(true);
        let counter = std::sync::atomic::AtomicU32::new(0);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..1000 {
                        let _c = owner.claim().unwrap();
                        // A non-atomic read-modify-write would lose updates without the lock.
                        let v = counter.load(Ordering::Relaxed);
                        std::hint::spin_loop();
                        counter.store(v + 1, Ordering::Relaxed);
                    }
                });
            }
        });
        assert_eq!(counter.load(Ordering::Relaxed), 4000);
    }
}
