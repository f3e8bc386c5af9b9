//! Which thread is using a ring right now.
//!
//! A ring is used by one thread at a time (SPEC §5). Every call that touches the ring's
//! state first claims it here; a second thread gets `-EBUSY` instead of a data race. The
//! thread already holding the claim (a callback running inside `ar_ring_run`) may claim it
//! again, which is how callbacks queue new operations.

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::error::Errno;

thread_local! {
    /// Its address identifies the thread: unique among live threads, free to compute.
    static THREAD_TOKEN: u8 = const { 0 };
}

fn thread_token() -> usize {
    THREAD_TOKEN.with(|t| t as *const u8 as usize)
}

#[derive(Default)]
pub(crate) struct Owner {
    thread: AtomicUsize,
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
    /// Claims the ring for the calling thread, or fails with `-EBUSY` when another thread
    /// holds it.
    pub(crate) fn claim(&self) -> Result<Claim<'_>, Errno> {
        let me = thread_token();
        match self.thread.compare_exchange(0, me, Ordering::Acquire, Ordering::Relaxed) {
            Ok(_) => Ok(Claim { owner: self, outermost: true }),
            Err(holder) if holder == me => Ok(Claim { owner: self, outermost: false }),
            Err(_) => Err(Errno::EBUSY),
        }
    }
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        if self.outermost {
            self.owner.thread.store(0, Ordering::Release);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_on_same_thread_busy_on_another() {
        let owner = Owner::default();
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
}
