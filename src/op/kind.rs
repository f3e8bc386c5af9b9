//! How an operation's final CQE becomes the result the user sees.

/// The completion rule of an operation kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Kind {
    /// The CQE's `res` is the result.
    #[default]
    Plain,
    /// A timer: the kernel reports expiry as `-ETIME`, the user sees 0.
    Timer,
}

impl Kind {
    /// The result the user sees for a final CQE carrying `res`.
    pub(crate) fn final_res(self, res: i32) -> i32 {
        match self {
            Kind::Plain => res,
            Kind::Timer if res == -libc::ETIME => 0,
            Kind::Timer => res,
        }
    }
}
