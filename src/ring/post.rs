//! Work posted to a ring from any thread (`ar_ring_post`).
//!
//! A poster appends to a mutex-protected queue and writes the ring's private *wake* eventfd.
//! The ring keeps an io_uring read armed on that eventfd, so the write completes it: a ring
//! blocked in `io_uring_enter` wakes up, and the completion also signals the registered
//! notification eventfd, so a host loop watching `ar_ring_notify_fd` wakes up as well. The
//! wake eventfd is deliberately not the notification eventfd: a read armed on the registered
//! eventfd would complete on its own signal, forever.

use std::ffi::c_void;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::Errno;
use crate::ring::completion::PostFn;

/// One posted call. The pointer travels between threads as an integer: the poster vouches
/// that it may be used on the ring's thread.
#[derive(Clone, Copy)]
pub(crate) struct Posted {
    userdata: usize,
    func: unsafe extern "C" fn(*mut c_void),
}

impl Posted {
    /// Runs the posted function.
    ///
    /// # Safety
    ///
    /// The poster's contract: `func` may be called with `userdata` on this thread.
    pub(crate) unsafe fn run(self) {
        // SAFETY: see above.
        unsafe { (self.func)(self.userdata as *mut c_void) }
    }
}

pub(crate) struct PostQueue {
    queue: Mutex<Vec<Posted>>,
    /// Set with every post, cleared by the ring thread before it drains: lets the ring skip
    /// the mutex when nothing was posted.
    pending: AtomicBool,
    wake: OwnedFd,
}

impl PostQueue {
    pub(crate) fn new() -> Result<PostQueue, Errno> {
        // SAFETY: eventfd takes no pointers.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if fd < 0 {
            return Err(Errno::last());
        }
        // SAFETY: `fd` is a fresh descriptor we own.
        let wake = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(PostQueue { queue: Mutex::new(Vec::new()), pending: AtomicBool::new(false), wake })
    }

    /// The eventfd the ring keeps a read armed on.
    pub(crate) fn wake_fd(&self) -> i32 {
        self.wake.as_raw_fd()
    }

    /// Queues `func(userdata)` and wakes the ring. Callable from any thread.
    pub(crate) fn post(&self, userdata: *mut c_void, func: PostFn) -> Result<(), Errno> {
        let func = func.ok_or(Errno::EINVAL)?;
        {
            let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
            q.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
            q.push(Posted { userdata: userdata as usize, func });
        }
        self.pending.store(true, Ordering::Release);
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live u64 to our eventfd.
        let n = unsafe { libc::write(self.wake.as_raw_fd(), (&raw const one).cast(), 8) };
        // EAGAIN means the counter is saturated: the ring is already due to wake.
        if n < 0 && Errno::last() != Errno::EAGAIN {
            return Err(Errno::last());
        }
        Ok(())
    }

    /// Wakes the ring as a post does, with nothing posted: a thread waiting in `run`, or a
    /// host watching the notification fd, comes round to deliver what the library ended
    /// without the kernel (an over-long chain's `-E2BIG`).
    pub(crate) fn wake(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live u64 to our eventfd (EAGAIN: already due).
        unsafe { libc::write(self.wake.as_raw_fd(), (&raw const one).cast(), 8) };
    }

    /// Moves everything posted so far into `out` (which keeps its capacity between calls).
    pub(crate) fn take(&self, out: &mut Vec<Posted>) {
        // A plain load first: the swap is an atomic read-modify-write, and nothing is
        // posted on the vast majority of calls.
        if !self.pending.load(Ordering::Relaxed) || !self.pending.swap(false, Ordering::Acquire) {
            return;
        }
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        std::mem::swap(&mut *q, out);
    }

    pub(crate) fn is_pending(&self) -> bool {
        self.pending.load(Ordering::Acquire)
    }
}
