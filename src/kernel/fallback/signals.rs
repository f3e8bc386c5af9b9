//! Whether an `EINTR` from the fallback's wait should reach the caller.
//!
//! io_uring's wait returns `-EINTR` when a signal handler interrupts it, and goes on waiting
//! when all it found was task work (`TIF_NOTIFY_SIGNAL`: io_uring queues some on a thread
//! that used a ring, even after the ring is gone). `epoll_wait` returns `EINTR` for both,
//! and never restarts. The backend cannot see which signal came, only which handlers
//! exist: if no handler installed for an asynchronous signal lacks `SA_RESTART`, nothing
//! can have asked to interrupt the wait, and it goes on. This runs only on `EINTR`.

/// Signals a fault raises synchronously, in the faulting code, never in a blocked wait.
const SYNCHRONOUS: [i32; 6] = [libc::SIGSEGV, libc::SIGBUS, libc::SIGFPE, libc::SIGILL, libc::SIGTRAP, libc::SIGSYS];

/// Whether some handler installed in this process could have interrupted a wait.
pub(super) fn may_interrupt() -> bool {
    (1..=libc::SIGRTMAX()).any(|sig| {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP || SYNCHRONOUS.contains(&sig) {
            return false;
        }
        // SAFETY: an all-zero sigaction is valid; sigaction only writes it.
        let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
        // SAFETY: queries the disposition without changing it.
        if unsafe { libc::sigaction(sig, std::ptr::null(), &mut old) } != 0 {
            return false;
        }
        let handled = old.sa_sigaction != libc::SIG_DFL && old.sa_sigaction != libc::SIG_IGN;
        handled && old.sa_flags & libc::SA_RESTART == 0
    })
}
