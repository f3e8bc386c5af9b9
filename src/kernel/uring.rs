//! The io_uring backend: setting a ring up, entering it, and registering resources with it.
//!
//! This is the one place the ring talks to the kernel through (with the queue views in
//! `rings`). The ring drives it per batch (`enter`) and per resource (`register_*`), never
//! per operation: operations go through the queue views, plain memory. That is the seam a
//! second backend (a user-space emulation of the same ABI where io_uring is blocked: issue
//! 13) fits into: memory queues of the same layout, and its own `enter` and `register_*`
//! behind this type, chosen once per ring. The hot path stays monomorphic either way.

use io_uring::{IoUring, types};

use super::probe;
use super::rings::{self, CompletionRing, SqPoller, SubmissionRing};
use crate::config::{AR_RING_SINGLE_THREAD, AR_RING_SQPOLL, RingConfig};
use crate::error::Errno;

/// One io_uring instance.
pub(crate) struct Kernel {
    uring: IoUring,
    sqpoll: bool,
    /// Wakes the SQPOLL thread and waits for completions, from any thread.
    pub(crate) poller: SqPoller,
}

impl Kernel {
    /// Sets up an io_uring for `cfg` (already resolved) and proves it usable: setup, then
    /// `io_uring_register` and `io_uring_enter` (a seccomp policy may allow the first and
    /// refuse the others). Returns it with our own views of its queues.
    pub(crate) fn setup(cfg: &RingConfig) -> Result<(Kernel, SubmissionRing, CompletionRing), Errno> {
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
        Ok((Kernel { uring, sqpoll, poller }, sq, cq))
    }

    /// `io_uring_enter` for `to_submit` published entries, waiting for one completion with
    /// `wait`. On an SQPOLL ring the crate's submission, which knows the wake-up protocol of
    /// the kernel's polling thread.
    #[inline]
    pub(crate) fn enter(&self, sq: &SubmissionRing, to_submit: u32, wait: bool) -> Result<u32, Errno> {
        if self.sqpoll {
            let r = if wait { self.uring.submit_and_wait(1) } else { self.uring.submit() };
            return r.map(|n| n as u32).map_err(Errno::from);
        }
        sq.enter(to_submit, wait)
    }

    /// Submits what is published and waits up to `timeout` for `want` completions
    /// (teardown's bounded wait). `ETIME`, `EINTR`, `EBUSY` and `EAGAIN` are not errors.
    pub(crate) fn wait_timeout(&self, want: usize, timeout: &types::Timespec) -> Result<(), Errno> {
        let args = types::SubmitArgs::new().timespec(timeout);
        match self.uring.submitter().submit_with_args(want, &args) {
            Ok(_) => Ok(()),
            Err(e) if matches!(e.raw_os_error(), Some(libc::ETIME | libc::EINTR | libc::EBUSY | libc::EAGAIN)) => {
                Ok(())
            }
            Err(e) => Err(Errno::from(e)),
        }
    }

    /// Has the kernel signal `fd` (an eventfd) when it posts completions.
    pub(crate) fn register_eventfd(&self, fd: i32) -> Result<(), Errno> {
        Ok(self.uring.submitter().register_eventfd(fd)?)
    }

    pub(crate) fn unregister_eventfd(&self) {
        let _ = self.uring.submitter().unregister_eventfd();
    }

    /// Registers a provided-buffer ring of `count` entries at `addr` as group `bgid` (5.19).
    ///
    /// # Safety
    ///
    /// The ring memory stays mapped until `unregister_buf_ring(bgid)` (or the io_uring is
    /// gone).
    pub(crate) unsafe fn register_buf_ring(&self, addr: u64, count: u16, bgid: u16) -> Result<(), Errno> {
        // SAFETY: the caller's contract.
        Ok(unsafe { self.uring.submitter().register_buf_ring_with_flags(addr, count, bgid, 0) }?)
    }

    pub(crate) fn unregister_buf_ring(&self, bgid: u16) {
        let _ = self.uring.submitter().unregister_buf_ring(bgid);
    }

    /// Registers fixed buffers.
    ///
    /// # Safety
    ///
    /// The buffers stay valid until they are unregistered (or the io_uring is gone).
    pub(crate) unsafe fn register_buffers(&self, iovs: &[libc::iovec]) -> Result<(), Errno> {
        // SAFETY: the caller's contract.
        Ok(unsafe { self.uring.submitter().register_buffers(iovs) }?)
    }

    pub(crate) fn unregister_buffers(&self) -> Result<(), Errno> {
        Ok(self.uring.submitter().unregister_buffers()?)
    }

    pub(crate) fn register_files(&self, fds: &[i32]) -> Result<(), Errno> {
        Ok(self.uring.submitter().register_files(fds)?)
    }

    pub(crate) fn update_files(&self, offset: u32, fds: &[i32]) -> Result<u32, Errno> {
        Ok(self.uring.submitter().register_files_update(offset, fds)? as u32)
    }

    pub(crate) fn unregister_files(&self) -> Result<(), Errno> {
        Ok(self.uring.submitter().unregister_files()?)
    }
}
