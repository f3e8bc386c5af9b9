//! Which thread is using a ring right now.
//!
//! A ring is used by one thread at a time (SPEC §5). Every call that touches the ring's
//! state first claims it here. The thread already holding the claim (a callback running
//! inside `ar_ring_run`) may claim it again, which is how callbacks queue new operations.
//!
//! What happens to a second thread depends on the ring's mode: a default ring refuses it
//! with `-EBUSY` instead of a data race; an `AR_RING_THREADSAFE` ring makes it wait, briefly,
//! on a lock (the holder never blocks in the kernel while holding it).

use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

use crate::error::Errno;

/// Identifies the calling thread: unique among live threads and never 0. It is the thread
/// pointer, which is what `pthread_self` returns on glibc and musl, read without the call;
/// a `thread_local!` would cost a `__tls_get_addr` call per ring call inside a shared library.
#[inline]
fn thread_token() -> usize {
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
    /// The thread holding the claim, or 0.
    thread: AtomicUsize,
    /// With `AR_RING_THREADSAFE`: other threads wait on this lock instead of failing.
    waiting: bool,
    lock: FutexLock,
}

/// A claim on the ring; releases it on drop if this call was the one that took it.
pub(crate) struct Claim<'a> {
    owner: &'a Owner,
    outermost: bool,
}

impl Claim<'_> {
    /// Whether this is a nested claim, made by the thread already using the ring.
    pub(crate) fn nested(&self) -> bool {
        !self.outermost
    }
}

impl Owner {
    /// An owner whose second thread waits (`true`) or gets `-EBUSY` (`false`).
    pub(crate) fn new(waiting: bool) -> Owner {
        Owner { thread: AtomicUsize::new(0), waiting, lock: FutexLock::new() }
    }

    /// Claims the ring for the calling thread.
    #[inline]
    pub(crate) fn claim(&self) -> Result<Claim<'_>, Errno> {
        let me = thread_token();
        if self.thread.load(Ordering::Relaxed) == me {
            // Only this thread stores its own token, so the holder cannot change under us.
            return Ok(Claim { owner: self, outermost: false });
        }
        if self.waiting {
            self.lock.lock();
            self.thread.store(me, Ordering::Relaxed);
            return Ok(Claim { owner: self, outermost: true });
        }
        match self.thread.compare_exchange(0, me, Ordering::Acquire, Ordering::Relaxed) {
            Ok(_) => Ok(Claim { owner: self, outermost: true }),
            Err(_) => Err(Errno::EBUSY),
        }
    }
}

impl Drop for Claim<'_> {
    #[inline]
    fn drop(&mut self) {
        if self.outermost {
            self.owner.thread.store(0, Ordering::Release);
            if self.owner.waiting {
                self.owner.lock.unlock();
            }
        }
    }
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
            unsafe { libc::syscall(libc::SYS_futex, self.0.as_ptr(), libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG, 1u32) };
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
