//! How an operation's CQEs become the completions the user sees.

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
}

impl Kind {
    /// Classifies a CQE by its flags.
    pub(crate) fn step(self, cqe_flags: u32) -> Step {
        if cqueue::notif(cqe_flags) {
            return Step::Notif;
        }
        match (self, cqueue::more(cqe_flags)) {
            (Kind::SendZc, true) => Step::FinalThenNotif,
            (_, true) => Step::More,
            (_, false) => Step::Final,
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
