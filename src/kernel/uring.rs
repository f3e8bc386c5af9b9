//! The io_uring backend: setting a ring up, entering it, and registering resources with it.
//!
//! This is the one place the ring talks to the kernel through (with the queue views in
//! `rings`). The ring drives it per batch (`enter`) and per resource (`register_*`), never
//! per operation: operations go through the queue views, plain memory. That is the seam a
//! second backend (a user-space emulation of the same ABI where io_uring is blocked: issue
//! 13) fits into: memory queues of the same layout, and its own `enter` and `register_*`
//! behind this type, chosen once per ring. The hot path stays monomorphic either way.

use io_uring::{IoUring, types};

use super::fallback::Emulator;
use super::probe;
use super::rings::{self, CompletionRing, SqPoller, SubmissionRing};
use crate::config::{AR_RING_FORCE_FALLBACK, AR_RING_NO_FALLBACK, AR_RING_SINGLE_THREAD, AR_RING_SQPOLL, RingConfig};
use crate::error::Errno;

/// The backend of one ring, chosen when it is created.
pub(crate) struct Kernel {
    backend: Backend,
    /// Wakes the SQPOLL thread and waits for completions, from any thread.
    pub(crate) poller: SqPoller,
}

// One per ring, so its size does not matter; neither variant is boxed: no indirection on the
// way to `enter`.
#[allow(clippy::large_enum_variant)]
enum Backend {
    /// One io_uring instance.
    Uring { uring: IoUring, sqpoll: bool },
    /// The user-space emulation of the same ABI (`fallback`).
    Fallback(Emulator),
}

/// `ASYNCRING_BACKEND=fallback` forces the fallback backend (SPEC §3.7: for tests).
fn env_forces_fallback() -> bool {
    std::env::var_os("ASYNCRING_BACKEND").is_some_and(|v| v == "fallback")
}

impl Kernel {
    /// The backend for `cfg` (already resolved): io_uring where it works, else (unless
    /// `AR_RING_NO_FALLBACK`) the fallback; the fallback at once with
    /// `AR_RING_FORCE_FALLBACK` or `ASYNCRING_BACKEND=fallback`. Returns it with the ring's
    /// views of its queues.
    pub(crate) fn setup(cfg: &RingConfig) -> Result<(Kernel, SubmissionRing, CompletionRing), Errno> {
        let force =
            cfg.flags & AR_RING_FORCE_FALLBACK != 0 || (cfg.flags & AR_RING_NO_FALLBACK == 0 && env_forces_fallback());
        if !force {
            match Kernel::setup_uring(cfg) {
                Ok(k) => return Ok(k),
                // Out of descriptors: the fallback needs them too.
                Err(e) if cfg.flags & AR_RING_NO_FALLBACK != 0 || matches!(e, Errno::EMFILE | Errno::ENFILE) => {
                    return Err(e);
                }
                Err(_) => {}
            }
        }
        let (emulator, sq, cq) = Emulator::setup(cfg.sq_entries, cfg.cq_entries)?;
        let poller = sq.poller();
        Ok((Kernel { backend: Backend::Fallback(emulator), poller }, sq, cq))
    }

    /// Sets up an io_uring for `cfg` and proves it usable: setup, then `io_uring_register`
    /// and `io_uring_enter` (a seccomp policy may allow the first and refuse the others).
    fn setup_uring(cfg: &RingConfig) -> Result<(Kernel, SubmissionRing, CompletionRing), Errno> {
        let mut builder = IoUring::builder();
        builder.setup_cqsize(cfg.cq_entries);
        // Keep submitting the rest of a batch when one SQE fails (5.18): every SQE then
        // gets its CQE, which is how each operation gets exactly one final completion.
        builder.setup_submit_all();
        if cfg.flags & AR_RING_SINGLE_THREAD != 0 {
            builder.setup_single_issuer().setup_defer_taskrun().setup_taskrun_flag();
        }
        let sqpoll = cfg.flags & AR_RING_SQPOLL != 0;
        if sqpoll {
            builder.setup_sqpoll(cfg.sqpoll_idle_ms);
        }
        let uring = builder.build(cfg.sq_entries).map_err(|e| probe::classify_setup_error(Errno::from(e)))?;
        if !uring.params().is_feature_nodrop() {
            // Without NODROP (5.5) a full completion queue drops completions.
            return Err(Errno::ENOSYS);
        }
        // Prove register and enter before anything is handed to the kernel, so a refusal
        // fails here, cleanly, instead of leaving a ring that cannot deliver.
        probe::check_usable(&uring)?;
        let (sq, cq) = rings::map(&uring)?;
        let poller = sq.poller();
        Ok((Kernel { backend: Backend::Uring { uring, sqpoll }, poller }, sq, cq))
    }

    /// The ring runs on the fallback backend.
    #[inline]
    pub(crate) fn is_fallback(&self) -> bool {
        matches!(self.backend, Backend::Fallback(_))
    }

    /// The fallback's own notification fd (its epoll set); None on io_uring, where the
    /// ring's registered eventfd is the notification fd.
    pub(crate) fn notify_fd(&self) -> Option<i32> {
        match &self.backend {
            Backend::Fallback(f) => Some(f.notify_fd()),
            Backend::Uring { .. } => None,
        }
    }

    /// Makes the fallback's notification fd readable (completions wait that no one is about
    /// to deliver). Nothing on io_uring, whose kernel signals the eventfd itself.
    pub(crate) fn signal_notify(&self) {
        if let Backend::Fallback(f) = &self.backend {
            f.signal();
        }
    }

    /// `io_uring_enter` for `to_submit` published entries, waiting for one completion with
    /// `wait`. On an SQPOLL ring the crate's submission, which knows the wake-up protocol of
    /// the kernel's polling thread.
    #[inline(always)]
    pub(crate) fn enter(&self, sq: &SubmissionRing, to_submit: u32, wait: bool) -> Result<u32, Errno> {
        match &self.backend {
            // The default ring's path stays inline in the caller; the others are out of line.
            Backend::Uring { sqpoll: false, .. } => sq.enter(to_submit, wait),
            _ => self.enter_other(to_submit, wait),
        }
    }

    #[inline(never)]
    fn enter_other(&self, to_submit: u32, wait: bool) -> Result<u32, Errno> {
        match &self.backend {
            Backend::Uring { uring, .. } => {
                let r = if wait { uring.submit_and_wait(1) } else { uring.submit() };
                r.map(|n| n as u32).map_err(Errno::from)
            }
            Backend::Fallback(f) => f.enter(to_submit, wait),
        }
    }

    /// Moves completions out of the overflow list into the (now emptier) completion queue:
    /// an enter with GETEVENTS, our own even on an SQPOLL ring, whose submission path
    /// enters only to wake its poller.
    pub(crate) fn flush_overflow(&self, sq: &SubmissionRing) -> Result<(), Errno> {
        match &self.backend {
            Backend::Uring { .. } => sq.enter(0, false).map(|_| ()),
            // Only the flush: nothing new is applied meanwhile, or completions that keep
            // coming (a level-triggered poll on a ready fd) would keep the caller's loop going.
            Backend::Fallback(f) => {
                f.flush_overflow();
                Ok(())
            }
        }
    }

    /// Submits what is published and waits up to `timeout` for `want` completions
    /// (teardown's bounded wait). `ETIME`, `EINTR`, `EBUSY` and `EAGAIN` are not errors.
    pub(crate) fn wait_timeout(&self, want: usize, timeout: &types::Timespec) -> Result<(), Errno> {
        let uring = match &self.backend {
            Backend::Uring { uring, .. } => uring,
            Backend::Fallback(f) => return f.wait_timeout(timespec_ns(timeout)),
        };
        let args = types::SubmitArgs::new().timespec(timeout);
        match uring.submitter().submit_with_args(want, &args) {
            Ok(_) => Ok(()),
            Err(e) if matches!(e.raw_os_error(), Some(libc::ETIME | libc::EINTR | libc::EBUSY | libc::EAGAIN)) => {
                Ok(())
            }
            Err(e) => Err(Errno::from(e)),
        }
    }

    /// Has the kernel signal `fd` (an eventfd) when it posts completions.
    /// On the fallback, where the notification fd is the backend's own, this tells it that
    /// a host watches it.
    pub(crate) fn register_eventfd(&self, fd: i32) -> Result<(), Errno> {
        match &self.backend {
            Backend::Uring { uring, .. } => Ok(uring.submitter().register_eventfd(fd)?),
            Backend::Fallback(f) => {
                f.watch_notify();
                Ok(())
            }
        }
    }

    pub(crate) fn unregister_eventfd(&self) {
        match &self.backend {
            Backend::Uring { uring, .. } => {
                let _ = uring.submitter().unregister_eventfd();
            }
            Backend::Fallback(f) => f.unwatch_notify(),
        }
    }

    /// Registers a provided-buffer ring of `count` entries at `addr` as group `bgid` (5.19).
    ///
    /// # Safety
    ///
    /// The ring memory stays mapped until `unregister_buf_ring(bgid)` (or the io_uring is
    /// gone).
    pub(crate) unsafe fn register_buf_ring(&self, addr: u64, count: u16, bgid: u16) -> Result<(), Errno> {
        match &self.backend {
            Backend::Uring { uring, .. } => {
                // SAFETY: the caller's contract.
                Ok(unsafe { uring.submitter().register_buf_ring_with_flags(addr, count, bgid, 0) }?)
            }
            // SAFETY: as above.
            Backend::Fallback(f) => unsafe { f.register_buf_ring(addr, count, bgid) },
        }
    }

    pub(crate) fn unregister_buf_ring(&self, bgid: u16) {
        match &self.backend {
            Backend::Uring { uring, .. } => {
                let _ = uring.submitter().unregister_buf_ring(bgid);
            }
            Backend::Fallback(f) => f.unregister_buf_ring(bgid),
        }
    }

    /// Registers fixed buffers.
    ///
    /// # Safety
    ///
    /// The buffers stay valid until they are unregistered (or the io_uring is gone).
    pub(crate) unsafe fn register_buffers(&self, iovs: &[libc::iovec]) -> Result<(), Errno> {
        match &self.backend {
            // SAFETY: the caller's contract.
            Backend::Uring { uring, .. } => Ok(unsafe { uring.submitter().register_buffers(iovs) }?),
            Backend::Fallback(f) => f.register_buffers(iovs),
        }
    }

    pub(crate) fn unregister_buffers(&self) -> Result<(), Errno> {
        match &self.backend {
            Backend::Uring { uring, .. } => Ok(uring.submitter().unregister_buffers()?),
            Backend::Fallback(f) => f.unregister_buffers(),
        }
    }

    pub(crate) fn register_files(&self, fds: &[i32]) -> Result<(), Errno> {
        match &self.backend {
            Backend::Uring { uring, .. } => Ok(uring.submitter().register_files(fds)?),
            Backend::Fallback(f) => f.register_files(fds),
        }
    }

    pub(crate) fn update_files(&self, offset: u32, fds: &[i32]) -> Result<u32, Errno> {
        match &self.backend {
            Backend::Uring { uring, .. } => Ok(uring.submitter().register_files_update(offset, fds)? as u32),
            Backend::Fallback(f) => f.update_files(offset, fds),
        }
    }

    pub(crate) fn unregister_files(&self) -> Result<(), Errno> {
        match &self.backend {
            Backend::Uring { uring, .. } => Ok(uring.submitter().unregister_files()?),
            Backend::Fallback(f) => f.unregister_files(),
        }
    }
}

fn timespec_ns(ts: &types::Timespec) -> u64 {
    // SAFETY: `types::Timespec` is `repr(C)` over `__kernel_timespec` (two i64s).
    let (sec, nsec): (i64, i64) = unsafe { std::mem::transmute_copy(ts) };
    (sec.max(0) as u64).saturating_mul(1_000_000_000).saturating_add(nsec.max(0) as u64)
}
