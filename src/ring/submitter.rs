//! The submitter thread of an `AR_RING_THREADSAFE` ring (docs/DESIGN.md, "Threading").
//!
//! The kernel ties each io_uring request to the thread that submitted it, and cancels it
//! when that thread exits. Hosts with elastic thread pools (libdispatch, Swift's global
//! executor) retire idle threads, so a read submitted from one would fail with -ECANCELED
//! minutes later. A thread-safe ring therefore submits only from a thread it owns and keeps
//! for its whole life: any thread may queue operations (they land in the submission queue or
//! the backlog under the ring's lock) and *kick* this thread, which enters the kernel.
//! `ar_ring_run` on the host's thread then only reaps, and waits with `poll(2)` on the
//! notification fd, never in `io_uring_enter`.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use super::driver::Driver;
use crate::error::Errno;
use crate::ring::{Ring, State};

pub(crate) struct Submitter {
    /// Written to kick the thread; blocking, so the thread sleeps in read(2).
    wake: OwnedFd,
    /// A kick is pending: later kickers skip the write (one syscall per batch).
    pending: AtomicBool,
    stop: AtomicBool,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Submitter {
    pub(crate) fn new() -> Result<Submitter, Errno> {
        // SAFETY: eventfd takes no pointers.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(Errno::last());
        }
        // SAFETY: a fresh descriptor we own.
        let wake = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Submitter { wake, pending: AtomicBool::new(false), stop: AtomicBool::new(false), thread: Mutex::new(None) })
    }

    /// Wakes the thread; cheap when a kick is already pending.
    fn kick(&self) {
        if !self.pending.swap(true, Ordering::AcqRel) {
            self.signal();
        }
    }

    fn signal(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live u64 to our eventfd.
        unsafe { libc::write(self.wake.as_raw_fd(), (&raw const one).cast(), 8) };
    }
}

/// A `&Ring` the submitter thread may hold: the ring joins the thread before it is freed.
struct RingRef(*const Ring);
// SAFETY: Ring is Sync, and the pointee outlives the thread (joined in `stop_submitter`).
unsafe impl Send for RingRef {}

impl Ring {
    /// Starts the submitter thread. The ring must be at its final (boxed) address.
    pub(crate) fn start_submitter(&self) -> Result<(), Errno> {
        let Some(s) = self.driver.submitter() else { return Ok(()) };
        let ring = RingRef(self);
        let handle = std::thread::Builder::new()
            .name("asyncring-submit".into())
            .spawn(move || {
                let ring = ring;
                // SAFETY: see `RingRef`.
                unsafe { &*ring.0 }.submitter_main();
            })
            .map_err(|_| Errno::EAGAIN)?;
        *s.thread.lock().unwrap_or_else(|e| e.into_inner()) = Some(handle);
        Ok(())
    }

    /// After a push on the careful path: asks the submitter thread to enter the kernel, or
    /// wakes a sleeping SQPOLL thread of a shared ring (others enter at `submit`/`run`).
    ///
    /// On a shared SQPOLL ring a push that found the submission queue full waits in the
    /// backlog, and the thread in `run` may already be waiting in the kernel for completions
    /// the operations ahead of it need never produce (the ring's wake-up read): the pushing
    /// thread moves the backlog itself, waiting for the poller to make room.
    #[inline]
    pub(crate) fn kick(&self, st: &mut State) {
        match &self.driver {
            Driver::Submitter(s) => s.kick(),
            Driver::SharedSqPoll if !st.backlog.is_empty() => self.flush_shared(st),
            Driver::SharedSqPoll => self.kernel.poller.wake(),
            _ => {}
        }
    }

    /// `kick` for a shared SQPOLL ring with a backlog: moves it into the submission queue,
    /// waiting for room, and wakes the poller.
    #[cold]
    #[inline(never)]
    fn flush_shared(&self, st: &mut State) {
        // Errors (the kernel refusing an enter) reach the next `run` or `submit`, which meet
        // the same refusal; there is nobody to return them to here.
        let _ = self.submit_entering(st, false);
        st.reopen_lane();
    }

    /// Stops and joins the submitter thread (teardown).
    pub(crate) fn stop_submitter(&self) {
        let Some(s) = self.driver.submitter() else { return };
        s.stop.store(true, Ordering::Release);
        s.signal();
        if let Some(h) = s.thread.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = h.join();
        }
    }

    fn submitter_main(&self) {
        let Some(s) = self.driver.submitter() else { return };
        loop {
            let mut count = 0u64;
            // SAFETY: reads 8 bytes into a live u64. Blocks until kicked. Completions of
            // requests this thread submitted run here as task work, interrupting the read.
            let n = unsafe { libc::read(s.wake.as_raw_fd(), (&raw mut count).cast(), 8) };
            if n < 0 && Errno::last() == Errno::EINTR {
                continue;
            }
            s.pending.store(false, Ordering::Release);
            if s.stop.load(Ordering::Acquire) {
                return;
            }
            if let Err(e) = self.submit_as_submitter() {
                eprintln!("libasyncring: submitter thread: io_uring_enter failed: {e}");
            }
        }
    }
}
