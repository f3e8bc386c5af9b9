//! What a callback receives.

use std::ffi::c_void;

use crate::ring::Ring;

/// More completions follow for this operation (multishot); the final one lacks this flag.
pub const AR_COMPLETION_MORE: u32 = 1 << 0;
/// `buf` and `buf_id` describe a provided buffer holding `res` bytes; hand it back with
/// `ar_bufgroup_recycle`.
pub const AR_COMPLETION_BUFFER: u32 = 1 << 1;
/// The operation's own deadline (`ar_op_opts.timeout_ns`) ended it: `res` is `-ETIMEDOUT`.
/// Without this flag a `-ETIMEDOUT` came from the kernel (a TCP connect or keepalive that
/// timed out), never from the library's deadline (docs/DESIGN.md, guarantee 5).
pub const AR_COMPLETION_DEADLINE: u32 = 1 << 2;

/// One completion, valid only for the duration of the callback.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Completion {
    /// The ring the operation was queued on.
    pub ring: *mut Ring,
    /// The id its `ar_op_*` call returned.
    pub op: i64,
    /// `>= 0`: the result (bytes transferred, a new fd, or 0); `< 0`: `-errno`.
    pub res: i32,
    /// `AR_COMPLETION_*` flags.
    pub flags: u32,
    /// With `AR_COMPLETION_BUFFER`: the provided buffer holding `res` bytes; else NULL.
    pub buf: *mut c_void,
    /// With `AR_COMPLETION_BUFFER`: the buffer's id within its group.
    pub buf_id: u16,
}

/// The completion callback: `userdata` first, as every callback in this API. Required
/// (NULL is rejected with `-EINVAL`); the `Option` is how Rust spells a nullable pointer.
pub type OpCallback = Option<unsafe extern "C" fn(userdata: *mut c_void, completion: *const Completion)>;

/// A completion callback known to be non-NULL.
pub(crate) type Callback = unsafe extern "C" fn(userdata: *mut c_void, completion: *const Completion);

/// Work posted with `ar_ring_post`. Required (NULL is rejected with `-EINVAL`).
pub type PostFn = Option<unsafe extern "C" fn(userdata: *mut c_void)>;
