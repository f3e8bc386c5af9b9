//! Ring configuration: the `ar_ring_config` of the C API.

use crate::error::Errno;

/// Poll the submission queue from a kernel thread (`IORING_SETUP_SQPOLL`); submissions then
/// usually cost no syscall. The thread idles after `sqpoll_idle_ms`.
pub const AR_RING_SQPOLL: u32 = 1 << 0;
/// Only the creating thread ever uses the ring: enables `IORING_SETUP_SINGLE_ISSUER` and
/// `IORING_SETUP_DEFER_TASKRUN` (6.1), which make completions cheaper. Calls from another
/// thread fail with `-EEXIST` from the kernel.
pub const AR_RING_SINGLE_THREAD: u32 = 1 << 1;

/// Any thread may queue operations, and no request belongs to a short-lived thread: what
/// hosts with elastic thread pools (libdispatch, Swift's global executor) need, since the
/// kernel cancels requests whose submitting thread exits. Completions are still delivered by
/// `ar_ring_run` on the host's thread, and other threads may queue while its callbacks run.
/// The kernel's polling thread submits (`IORING_SETUP_SQPOLL`, implied: queueing threads
/// publish and wake it; `ar_ring_run` waits in the kernel), polling for `sqpoll_idle_ms`
/// after work (0: 50 ms for a thread-safe ring); where SQPOLL cannot be set up, or the
/// creating thread may run on one CPU only (the poller would share it with its host), a
/// thread the ring owns does every `io_uring_enter` instead (queueing threads hand it their work, and
/// `ar_ring_run` waits with `poll(2)` on the notification fd). Cannot be combined with
/// `AR_RING_SINGLE_THREAD`.
pub const AR_RING_THREADSAFE: u32 = 1 << 2;

/// Never use the fallback backend: where io_uring is unusable, `ar_ring_new` fails with the
/// `-errno` io_uring setup failed with (`ar_ring_probe` says why).
pub const AR_RING_NO_FALLBACK: u32 = 1 << 3;
/// Use the fallback backend even where io_uring works (as the environment variable
/// `ASYNCRING_BACKEND=fallback` does for every ring without `AR_RING_NO_FALLBACK`). On the
/// fallback, `AR_RING_SQPOLL` and `AR_RING_SINGLE_THREAD` are accepted and change nothing.
/// Cannot be combined with `AR_RING_NO_FALLBACK`.
pub const AR_RING_FORCE_FALLBACK: u32 = 1 << 4;

/// Every flag this version knows; any other bit is rejected with `-EINVAL`.
pub(crate) const KNOWN_RING_FLAGS: u32 =
    AR_RING_SQPOLL | AR_RING_SINGLE_THREAD | AR_RING_THREADSAFE | AR_RING_NO_FALLBACK | AR_RING_FORCE_FALLBACK;

/// Default number of submission queue entries.
pub(crate) const DEFAULT_SQ_ENTRIES: u32 = 256;
/// The kernel's upper limit for `sq_entries` (`IORING_MAX_ENTRIES`).
pub(crate) const MAX_SQ_ENTRIES: u32 = 32768;
/// The kernel's upper limit for `cq_entries` (`IORING_MAX_CQ_ENTRIES`).
pub(crate) const MAX_CQ_ENTRIES: u32 = 2 * MAX_SQ_ENTRIES;

/// How a ring is set up. Zero-initialised fields mean "default", so `{0}` is a valid config.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RingConfig {
    /// Submission queue size; 0 means 256. The kernel rounds it up to a power of two.
    /// Operations beyond it wait in the ring's backlog, so this bounds batch size, not
    /// the number of operations in flight.
    pub sq_entries: u32,
    /// Completion queue size; 0 means 4 × `sq_entries`. Must be at least `sq_entries`.
    /// A full completion queue loses nothing (`IORING_FEAT_NODROP`, 5.5).
    pub cq_entries: u32,
    /// `AR_RING_*` flags.
    pub flags: u32,
    /// With `AR_RING_SQPOLL`: how long the kernel thread polls before it sleeps (0 = 1000 ms).
    pub sqpoll_idle_ms: u32,
    /// Must be zero.
    pub reserved: [u64; 4],
}

impl RingConfig {
    /// The documented defaults, spelled out.
    pub fn new() -> RingConfig {
        RingConfig { sq_entries: DEFAULT_SQ_ENTRIES, cq_entries: 4 * DEFAULT_SQ_ENTRIES, ..RingConfig::default() }
    }

    /// Checks the config and fills in defaults for zero fields.
    pub(crate) fn resolved(&self) -> Result<RingConfig, Errno> {
        if self.reserved.iter().any(|&r| r != 0) || self.flags & !KNOWN_RING_FLAGS != 0 {
            return Err(Errno::EINVAL);
        }
        if self.flags & AR_RING_THREADSAFE != 0 && self.flags & AR_RING_SINGLE_THREAD != 0 {
            return Err(Errno::EINVAL);
        }
        if self.flags & AR_RING_NO_FALLBACK != 0 && self.flags & AR_RING_FORCE_FALLBACK != 0 {
            return Err(Errno::EINVAL);
        }
        let sq = if self.sq_entries == 0 { DEFAULT_SQ_ENTRIES } else { self.sq_entries };
        let cq = if self.cq_entries == 0 { sq.saturating_mul(4) } else { self.cq_entries };
        if sq > MAX_SQ_ENTRIES || cq > MAX_CQ_ENTRIES || cq < sq {
            return Err(Errno::EINVAL);
        }
        let idle = if self.sqpoll_idle_ms == 0 { 1000 } else { self.sqpoll_idle_ms };
        Ok(RingConfig { sq_entries: sq, cq_entries: cq, flags: self.flags, sqpoll_idle_ms: idle, reserved: [0; 4] })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_threadsafe_ring_may_poll_but_not_be_single_issuer() {
        let ok = RingConfig { flags: AR_RING_THREADSAFE | AR_RING_SQPOLL, ..RingConfig::new() };
        assert!(ok.resolved().is_ok());
    }

    #[test]
    fn zero_config_means_defaults() {
        let c = RingConfig::default().resolved().unwrap();
        assert_eq!((c.sq_entries, c.cq_entries), (256, 1024));
        assert_eq!(RingConfig::new().resolved().unwrap(), c);
    }

    #[test]
    fn rejects_unknown_flags_reserved_and_sizes() {
        let bad = [
            RingConfig { flags: 1 << 31, ..RingConfig::new() },
            RingConfig { reserved: [0, 1, 0, 0], ..RingConfig::new() },
            RingConfig { sq_entries: MAX_SQ_ENTRIES + 1, ..RingConfig::default() },
            RingConfig { sq_entries: 64, cq_entries: 32, ..RingConfig::default() },
            RingConfig { flags: AR_RING_THREADSAFE | AR_RING_SINGLE_THREAD, ..RingConfig::new() },
            RingConfig { flags: AR_RING_NO_FALLBACK | AR_RING_FORCE_FALLBACK, ..RingConfig::new() },
        ];
        for c in bad {
            assert_eq!(c.resolved(), Err(Errno::EINVAL), "{c:?}");
        }
    }
}
