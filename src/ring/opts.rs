//! Per-operation options: the `ar_op_opts` every `ar_op_*` call takes.

/// Link the next operation queued to this one (`IOSQE_IO_LINK`): it starts only after this
/// one succeeds; if this one fails, the rest of the chain completes with `-ECANCELED`.
/// A chain ends with the first operation queued without a link flag, or at `ar_ring_submit`.
/// Kernel rules that are part of this contract: a short read or write counts as a failure
/// and breaks the chain; a fired `ar_op_timeout` counts as a success; a chain longer than
/// the submission queue (`sq_entries`) cannot be submitted and every operation in it
/// completes with `-E2BIG`.
pub const AR_OP_LINK: u32 = 1 << 0;
/// Like `AR_OP_LINK`, but the chain continues even when this operation fails
/// (`IOSQE_IO_HARDLINK`).
pub const AR_OP_HARDLINK: u32 = 1 << 1;
/// Start this operation only after every operation queued before it has finally completed,
/// and start the operations queued after it only once it has completed. The library keeps
/// the drain itself rather than passing `IOSQE_IO_DRAIN` to the kernel (which would hold
/// cancels up behind it too), so a drained operation, and anything waiting behind it, can
/// always be cancelled. A multishot stream queued before a drain holds it until the stream
/// ends.
pub const AR_OP_DRAIN: u32 = 1 << 2;
/// Issue the operation from the kernel's worker pool instead of trying it inline first
/// (`IOSQE_ASYNC`).
pub const AR_OP_ASYNC: u32 = 1 << 3;
/// The `fd` argument is an index into the ring's registered files (`IOSQE_FIXED_FILE`).
pub const AR_OP_FIXED_FILE: u32 = 1 << 4;

/// For a multishot receive from a buffer group: when the group runs dry, do not end the
/// operation with `-ENOBUFS`; park it and re-arm it as soon as a buffer is recycled, so a
/// burst never silently ends a stream. The data waits in the socket meanwhile.
pub const AR_OP_REARM: u32 = 1 << 5;

pub(crate) const KNOWN_OP_FLAGS: u32 =
    AR_OP_LINK | AR_OP_HARDLINK | AR_OP_DRAIN | AR_OP_ASYNC | AR_OP_FIXED_FILE | AR_OP_REARM;

/// Options for one operation. A NULL `ar_op_opts *` means all zero.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpOpts {
    /// Deadline in nanoseconds from the `ar_op_*` call; 0 means none. When it expires first
    /// the operation completes with `-ETIMEDOUT` and `AR_COMPLETION_DEADLINE` (a cancel
    /// gives `-ECANCELED`; a kernel `-ETIMEDOUT` comes without the flag). A multishot stream
    /// keeps its deadline across the re-arms the library makes.
    pub timeout_ns: u64,
    /// `AR_OP_*` flags.
    pub flags: u32,
    /// Must be zero.
    pub reserved: u32,
}
