//! How an operation's CQEs become the completions the user sees: the completion rules,
//! decided here beside the operation kinds, as data the ring acts on (docs/DESIGN.md,
//! "Completion rules").

use io_uring::cqueue;

/// The completion rule of an operation kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Kind {
    /// The CQE's `res` is the result; multishot CQEs (`IORING_CQE_F_MORE`) are intermediate.
    #[default]
    Plain,
    /// A timer: the kernel reports expiry as `-ETIME`, the user sees 0.
    Timer,
    /// Zero-copy send: `IORING_CQE_F_MORE` on the result means a notification CQE
    /// (`IORING_CQE_F_NOTIF`) follows once the kernel is done with the buffer (6.0).
    SendZc,
    /// A cancel by id: a `-ENOENT` while its target still lives is retried (guarantee 5).
    Cancel,
    /// Multishot accept: a final CQE that still carries a connection (`res >= 0`) means the
    /// kernel stopped the request for its own reasons (CQ pressure): the stream goes on.
    AcceptMulti,
    /// Multishot receive: likewise for a final CQE carrying data (`res > 0`); `-ENOBUFS`
    /// means the group ran dry.
    RecvMulti,
    /// Multishot poll: likewise for a final CQE carrying a ready mask (`res > 0`).
    PollMulti,
}

/// What one CQE means for its operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// An intermediate result: deliver it with `AR_COMPLETION_MORE`.
    More,
    /// The final result.
    Final,
    /// The final result, but another CQE (a notification) is still owed.
    FinalThenNotif,
    /// The owed notification.
    Notif,
    /// The kernel ended a multishot request with a CQE that still carries a result
    /// (guarantee 8): deliver it with `AR_COMPLETION_MORE` and re-arm under the same id,
    /// unless the operation is being cancelled, timed out or torn down.
    MoreThenRearm,
    /// A multishot receive found its group empty: park it until a buffer is recycled when
    /// it was queued with `AR_OP_REARM` (and is not being cancelled), else final.
    OutOfBuffers,
}

impl Kind {
    /// Whether the kind is a multishot stream the library re-arms (guarantee 8).
    pub(crate) const fn is_multishot(self) -> bool {
        matches!(self, Kind::AcceptMulti | Kind::RecvMulti | Kind::PollMulti)
    }

    /// Classifies a CQE by its flags and result.
    pub(crate) fn step(self, cqe_flags: u32, res: i32) -> Step {
        if cqueue::notif(cqe_flags) {
            return Step::Notif;
        }
        if cqueue::more(cqe_flags) {
            return if self == Kind::SendZc { Step::FinalThenNotif } else { Step::More };
        }
        match self {
            Kind::AcceptMulti if res >= 0 => Step::MoreThenRearm,
            Kind::RecvMulti | Kind::PollMulti if res > 0 => Step::MoreThenRearm,
            Kind::RecvMulti if res == -libc::ENOBUFS => Step::OutOfBuffers,
            _ => Step::Final,
        }
    }

    /// The result the user sees for a final CQE carrying `res`.
    pub(crate) fn final_res(self, res: i32) -> i32 {
        match self {
            Kind::Timer if res == -libc::ETIME => 0,
            _ => res,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `IORING_CQE_F_MORE` and `IORING_CQE_F_NOTIF` (include/uapi/linux/io_uring.h).
    const MORE: u32 = 1 << 1;
    const NOTIF: u32 = 1 << 3;

    #[test]
    fn plain_operations_end_on_their_first_cqe_without_more() {
        for res in [0, 5, -libc::ECANCELED, -libc::ENOBUFS] {
            assert_eq!(Kind::Plain.step(0, res), Step::Final);
            assert_eq!(Kind::Timer.step(0, res), Step::Final);
            assert_eq!(Kind::Cancel.step(0, res), Step::Final);
        }
        assert_eq!(Kind::Plain.step(MORE, 3), Step::More);
    }

    #[test]
    fn zero_copy_sends_wait_for_their_notification() {
        assert_eq!(Kind::SendZc.step(MORE, 100), Step::FinalThenNotif);
        assert_eq!(Kind::SendZc.step(NOTIF, 0), Step::Notif);
        // Cancelled before it was issued (a broken link): no notification is promised.
        assert_eq!(Kind::SendZc.step(0, -libc::ECANCELED), Step::Final);
    }

    #[test]
    fn a_multishot_final_cqe_that_carries_a_result_keeps_the_stream_going() {
        assert_eq!(Kind::AcceptMulti.step(0, 7), Step::MoreThenRearm);
        assert_eq!(Kind::AcceptMulti.step(0, 0), Step::MoreThenRearm, "fd 0 is a connection too");
        assert_eq!(Kind::AcceptMulti.step(0, -libc::EMFILE), Step::Final);
        assert_eq!(Kind::RecvMulti.step(0, 64), Step::MoreThenRearm);
        assert_eq!(Kind::RecvMulti.step(0, 0), Step::Final, "end of stream");
        assert_eq!(Kind::RecvMulti.step(0, -libc::ENOBUFS), Step::OutOfBuffers);
        assert_eq!(Kind::RecvMulti.step(0, -libc::ECANCELED), Step::Final);
        assert_eq!(Kind::PollMulti.step(0, libc::POLLIN as i32), Step::MoreThenRearm);
        for k in [Kind::AcceptMulti, Kind::RecvMulti, Kind::PollMulti] {
            assert!(k.is_multishot());
            assert_eq!(k.step(MORE, 1), Step::More);
        }
        assert!(!Kind::Plain.is_multishot());
    }

    #[test]
    fn a_fired_timer_succeeds() {
        assert_eq!(Kind::Timer.final_res(-libc::ETIME), 0);
        assert_eq!(Kind::Timer.final_res(-libc::ECANCELED), -libc::ECANCELED);
        assert_eq!(Kind::Plain.final_res(-libc::ETIME), -libc::ETIME);
    }
}
