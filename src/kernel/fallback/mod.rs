//! The fallback backend (SPEC §3.7): the io_uring ABI played in user space, for where
//! io_uring is blocked (Docker's default seccomp profile, `kernel.io_uring_disabled`, old
//! kernels). The ring is unchanged above it: it writes SQEs into queues of the same layout
//! (in plain memory, `rings::anonymous`) and reads CQEs back; `enter` here does what the
//! kernel's `io_uring_enter` does, on the calling thread.
//!
//! - Readiness (sockets, pipes, eventfds, ttys) comes from one epoll set; a request first
//!   tries its call without blocking, and waits in the set only if it would have blocked.
//! - Regular files (always "ready"; they block on the disk) and calls with nothing to wait
//!   for (`fsync`, `openat`, `statx`, ...) run on a small thread pool (`pool`).
//! - Timers (timeouts, deadlines) are a heap that bounds how long `epoll_wait` sleeps.
//! - The notification fd is the epoll fd itself: it is readable whenever a watched fd is
//!   ready, a pool call finished, a timer is due (a timerfd in the set, armed only while a
//!   host watches), or completions were posted by a call that does not deliver them.

mod core;
mod io;
mod pool;
mod requests;
mod sqe;
mod timers;

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use self::core::{BufRing, Core, TIMER_TOKEN, WAKE_TOKEN};
use super::rings::{self, CompletionRing, SubmissionRing};
use crate::error::Errno;

/// Fields drop in order: the core (whose pool joins its threads, which write `wake`) before
/// the descriptors.
pub(crate) struct Emulator {
    core: Mutex<Core>,
    /// A host watches the notification fd (`register_eventfd`): timers must make it
    /// readable (the timerfd is armed).
    watched: AtomicBool,
    epoll: OwnedFd,
    wake: OwnedFd,
    /// Owned here; the core arms it.
    _timerfd: OwnedFd,
}

fn new_fd(fd: i32) -> Result<OwnedFd, Errno> {
    if fd < 0 {
        return Err(Errno::last());
    }
    // SAFETY: a fresh descriptor we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn add(epoll: i32, fd: i32, token: u64) -> Result<(), Errno> {
    let mut ev = libc::epoll_event { events: libc::EPOLLIN as u32, u64: token };
    // SAFETY: valid fds and event.
    if unsafe { libc::epoll_ctl(epoll, libc::EPOLL_CTL_ADD, fd, &mut ev) } < 0 { Err(Errno::last()) } else { Ok(()) }
}

impl Emulator {
    /// A backend with queues of `sq_entries` and `cq_entries`, and the ring's views of them.
    pub(crate) fn setup(sq_entries: u32, cq_entries: u32) -> Result<(Emulator, SubmissionRing, CompletionRing), Errno> {
        let (sq, cq, queues) = rings::anonymous(sq_entries, cq_entries)?;
        // SAFETY: no pointers.
        let epoll = new_fd(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
        // SAFETY: no pointers.
        let wake = new_fd(unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) })?;
        // SAFETY: no pointers.
        let timerfd =
            new_fd(unsafe { libc::timerfd_create(libc::CLOCK_MONOTONIC, libc::TFD_CLOEXEC | libc::TFD_NONBLOCK) })?;
        add(epoll.as_raw_fd(), wake.as_raw_fd(), WAKE_TOKEN)?;
        add(epoll.as_raw_fd(), timerfd.as_raw_fd(), TIMER_TOKEN)?;
        let core = Core::new(queues, epoll.as_raw_fd(), wake.as_raw_fd(), timerfd.as_raw_fd());
        Ok((
            Emulator { core: Mutex::new(core), watched: AtomicBool::new(false), epoll, wake, _timerfd: timerfd },
            sq,
            cq,
        ))
    }

    fn lock(&self) -> MutexGuard<'_, Core> {
        self.core.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `io_uring_enter`: takes up to `to_submit` published SQEs and starts them, applies
    /// whatever became ready meanwhile, and with `wait` blocks until a completion is posted
    /// (or a signal: `EINTR`). Returns how many SQEs it took.
    pub(crate) fn enter(&self, to_submit: u32, wait: bool) -> Result<u32, Errno> {
        let mut c = self.lock();
        c.flush_overflow();
        let n = c.consume(to_submit);
        c.run_starts();
        let result = if wait {
            // Completions already waiting end the wait at once; still look at the rest now
            // and then, or a loop that always finds one (a NOP per turn) would starve them.
            let mut r = if c.has_completions() && c.busy() && c.starving() { c.progress(Some(0)) } else { Ok(()) };
            while r.is_ok() && !c.has_completions() {
                r = c.progress(None);
            }
            r
        } else if c.busy() {
            c.progress(Some(0))
        } else {
            Ok(())
        };
        self.after(&mut c);
        result.map(|()| n)
    }

    /// Moves completions from the overflow list into the completion queue, as far as they
    /// fit.
    pub(crate) fn flush_overflow(&self) {
        self.lock().flush_overflow();
    }

    /// Teardown's bounded wait: takes everything published, then waits up to `timeout_ns`
    /// for a completion.
    pub(crate) fn wait_timeout(&self, timeout_ns: u64) -> Result<(), Errno> {
        let mut c = self.lock();
        c.flush_overflow();
        c.consume(u32::MAX);
        c.run_starts();
        // Always look at what finished (the pool, timers, readiness), even with completions
        // waiting: teardown re-issues its cancel, whose CQE is always there.
        match c.progress(Some(0)) {
            Ok(()) | Err(Errno::EINTR) => {}
            Err(e) => return Err(e),
        }
        let end = timers::now_ns().saturating_add(timeout_ns);
        while !c.has_completions() {
            let now = timers::now_ns();
            if now >= end {
                break;
            }
            match c.progress(Some(end - now)) {
                Ok(()) | Err(Errno::EINTR) => {}
                Err(e) => return Err(e),
            }
        }
        self.after(&mut c);
        Ok(())
    }

    /// What an enter leaves for a host that watches the notification fd: the timerfd armed
    /// for the next timer. (Completions the caller will not deliver are signalled by the
    /// ring, which knows: `Ring::signal_undelivered`.)
    fn after(&self, c: &mut Core) {
        if self.watched.load(Ordering::Relaxed) {
            c.arm_timerfd();
        }
    }

    /// Makes the notification fd readable.
    pub(crate) fn signal(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live u64 to our eventfd.
        unsafe { libc::write(self.wake.as_raw_fd(), (&raw const one).cast(), 8) };
    }

    /// The notification fd: the epoll set (see the module documentation).
    pub(crate) fn notify_fd(&self) -> i32 {
        self.epoll.as_raw_fd()
    }

    /// A host now watches the notification fd: make it readable once, as the ring does for
    /// what completed before.
    pub(crate) fn watch_notify(&self) {
        self.watched.store(true, Ordering::Relaxed);
        self.lock().arm_timerfd();
        self.signal();
    }

    pub(crate) fn unwatch_notify(&self) {
        self.watched.store(false, Ordering::Relaxed);
    }

    /// Registers a provided-buffer ring (`struct io_uring_buf_ring` at `addr`).
    ///
    /// # Safety
    ///
    /// The memory stays valid until `unregister_buf_ring(bgid)`.
    pub(crate) unsafe fn register_buf_ring(&self, addr: u64, count: u16, bgid: u16) -> Result<(), Errno> {
        if addr == 0 || !count.is_power_of_two() {
            return Err(Errno::EINVAL);
        }
        let mut c = self.lock();
        if c.groups.contains_key(&bgid) {
            return Err(Errno::EEXIST);
        }
        c.groups.insert(bgid, BufRing { base: addr as *mut u8, mask: count - 1, head: 0 });
        Ok(())
    }

    pub(crate) fn unregister_buf_ring(&self, bgid: u16) {
        self.lock().groups.remove(&bgid);
    }

    pub(crate) fn register_buffers(&self, iovs: &[libc::iovec]) -> Result<(), Errno> {
        let mut c = self.lock();
        if c.bufs.is_some() {
            return Err(Errno::EBUSY);
        }
        c.bufs = Some(iovs.to_vec());
        Ok(())
    }

    pub(crate) fn unregister_buffers(&self) -> Result<(), Errno> {
        self.lock().bufs.take().map(|_| ()).ok_or(Errno::ENXIO)
    }

    pub(crate) fn register_files(&self, fds: &[i32]) -> Result<(), Errno> {
        let mut c = self.lock();
        if c.files.is_some() {
            return Err(Errno::EBUSY);
        }
        c.files = Some(fds.to_vec());
        Ok(())
    }

    pub(crate) fn update_files(&self, offset: u32, fds: &[i32]) -> Result<u32, Errno> {
        let mut c = self.lock();
        let files = c.files.as_mut().ok_or(Errno::ENXIO)?;
        let start = offset as usize;
        let end = start.checked_add(fds.len()).ok_or(Errno::EINVAL)?;
        if end > files.len() {
            return Err(Errno::EINVAL);
        }
        files[start..end].copy_from_slice(fds);
        Ok(fds.len() as u32)
    }

    pub(crate) fn unregister_files(&self) -> Result<(), Errno> {
        self.lock().files.take().map(|_| ()).ok_or(Errno::ENXIO)
    }
}

impl Core {
    /// Arms the timerfd for the next timer (or disarms it), only when that changed.
    fn arm_timerfd(&mut self) {
        let next = self.timers.next().unwrap_or(0);
        if next == self.armed_at {
            return;
        }
        self.armed_at = next;
        let spec = libc::itimerspec {
            it_interval: libc::timespec { tv_sec: 0, tv_nsec: 0 },
            it_value: libc::timespec {
                tv_sec: (next / 1_000_000_000) as libc::time_t,
                tv_nsec: (next % 1_000_000_000) as libc::c_long,
            },
        };
        // SAFETY: a valid timerfd and itimerspec; a zero value disarms it.
        unsafe { libc::timerfd_settime(self.timerfd, libc::TFD_TIMER_ABSTIME, &spec, std::ptr::null_mut()) };
    }
}
