//! The threading seam: how a ring's submissions reach the kernel and how `run` waits,
//! chosen once when the ring is created (docs/DESIGN.md, "Threading").

use super::submitter::Submitter;
use crate::config::{AR_RING_SINGLE_THREAD, AR_RING_SQPOLL, AR_RING_THREADSAFE};
use crate::error::Errno;

pub(crate) enum Driver {
    /// The thread using the ring enters the kernel itself (default rings).
    Inline,
    /// `AR_RING_SINGLE_THREAD` (`IORING_SETUP_DEFER_TASKRUN`): like `Inline`, but the kernel
    /// posts completions only when this thread enters with GETEVENTS, and signals the
    /// notification fd once when it queues the work and again when it posts it.
    DeferTaskrun,
    /// `AR_RING_SQPOLL`: the kernel's polling thread consumes the submission queue, so every
    /// push publishes the tail at once, and entering is only needed to wake it or to wait.
    SqPoll,
    /// `AR_RING_THREADSAFE`: a ring-owned thread does every `io_uring_enter`, so no request
    /// belongs to a short-lived thread; queueing threads kick it, `run` reaps and polls.
    Submitter(Submitter),
    /// `AR_RING_THREADSAFE | AR_RING_SQPOLL`: the kernel's polling thread submits, so no
    /// request belongs to a short-lived thread and no hand-off is needed. Any thread pushes
    /// and publishes under the claim, and wakes the poller if it sleeps; `run` reaps under
    /// the claim and waits in the kernel without it.
    SharedSqPoll,
}

impl Driver {
    /// The driver for `AR_RING_*` flags (already validated). On the fallback backend there
    /// is no kernel polling thread and no deferred task work, and nothing is cancelled when
    /// a thread exits: only `AR_RING_THREADSAFE` matters (the submitter thread).
    pub(crate) fn for_flags(flags: u32, fallback: bool) -> Result<Driver, Errno> {
        let flags = if fallback { flags & AR_RING_THREADSAFE } else { flags };
        Ok(if flags & AR_RING_THREADSAFE != 0 && flags & AR_RING_SQPOLL != 0 {
            Driver::SharedSqPoll
        } else if flags & AR_RING_THREADSAFE != 0 {
            Driver::Submitter(Submitter::new()?)
        } else if flags & AR_RING_SQPOLL != 0 {
            Driver::SqPoll
        } else if flags & AR_RING_SINGLE_THREAD != 0 {
            Driver::DeferTaskrun
        } else {
            Driver::Inline
        })
    }

    /// Every push must take the careful path: publish at once, or kick the submitter.
    pub(crate) fn careful(&self) -> bool {
        matches!(self, Driver::SqPoll | Driver::Submitter(_) | Driver::SharedSqPoll)
    }

    /// Any thread may queue: the claim is a lock, and `run` holds it only while it reaps.
    pub(crate) fn shared(&self) -> bool {
        matches!(self, Driver::Submitter(_) | Driver::SharedSqPoll)
    }

    /// Pushes publish the submission queue's tail at once (the kernel polls it).
    pub(crate) fn publishes_each_push(&self) -> bool {
        matches!(self, Driver::SqPoll | Driver::SharedSqPoll)
    }

    /// The submitter thread of a thread-safe ring.
    #[inline]
    pub(crate) fn submitter(&self) -> Option<&Submitter> {
        match self {
            Driver::Submitter(s) => Some(s),
            _ => None,
        }
    }
}
