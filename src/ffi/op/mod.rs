//! `ar_op_*`: queueing operations. Each export converts its arguments into an operation of
//! `crate::op` and queues it. The contract every `ar_op_*` call shares (parameters, errors,
//! what is copied, threading) is written once, where C users read it: at the top of the
//! generated header (`cbindgen.toml`, "Every ar_op_* call").
//!
//! This file holds the shared body and the operations on the ring itself (nop, timers,
//! cancels); `file.rs` the file and byte-stream operations, `net.rs` the socket ones.

use std::ffi::{c_int, c_void};

mod file;
mod net;

use super::boundary::{boundary, boundary_i64, opt, ring};
use crate::error::Errno;
use crate::op::{self, OpOpts, Operation};
use crate::ring::Ring;
use crate::ring::completion::OpCallback;

/// The body every `ar_op_*` export shares: the id or `-errno`, with the panic guard.
///
/// # Safety
///
/// `ring` and `opts` are NULL or valid; the operation's pointers obey its contract.
#[inline(always)]
unsafe fn queue<O: Operation>(
    ring: *mut Ring,
    op: O,
    opts: *const OpOpts,
    userdata: *mut c_void,
    cb: OpCallback,
) -> i64 {
    boundary_i64(|| {
        // SAFETY: the caller's contract.
        match unsafe { ring.as_ref() } {
            // SAFETY: as above.
            Some(ring) => unsafe { ring.queue_id(op, opt(opts), userdata, cb) },
            None => Errno::EINVAL.negated().into(),
        }
    })
}

/// Queues a no-op; it completes with 0.
///
/// Parameters: `ring`, `opts`, `userdata`, `cb` as in every `ar_op_*` call (the ar_op_*
/// contract at the top of this header).
///
/// Returns: the operation id, or `-errno` as in the ar_op_* contract.
///
/// Memory and lifetimes: nothing to keep alive.
///
/// Thread safety: the thread using the ring (also from inside a callback); any thread with
/// `AR_RING_THREADSAFE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ar_op_nop(ring: *mut Ring, opts: *const OpOpts, userdata: *mut c_void, cb: OpCallback) -> i64 {
    // SAFETY: the caller passes valid pointers.
    unsafe { queue(ring, op::Nop, opts, userdata, cb) }
}

/// Queues a timer of `ns` nanoseconds; `res` is 0 when it fires, `-ECANCELED` if cancelled.
///
/// Parameters: `ns`: the delay.
///
/// Returns: the operation id, or `-errno` as in the ar_op_* contract.
///
/// Memory and lifetimes: nothing to keep alive.
///
/// Thread safety: the thread using the ring (also from inside a callback); any thread with
/// `AR_RING_THREADSAFE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ar_op_timeout(
    ring: *mut Ring,
    ns: u64,
    opts: *const OpOpts,
    userdata: *mut c_void,
    cb: OpCallback,
) -> i64 {
    // SAFETY: the caller passes valid pointers.
    unsafe { queue(ring, op::Timeout { ns }, opts, userdata, cb) }
}

/// Requests cancellation of operation `target`. The target then completes with
/// `-ECANCELED`; the cancel itself completes with 0 (done), `-ENOENT` (the target finished
/// first) or `-EALREADY` (it is running and cannot be interrupted).
///
/// Parameters: `target`: an id returned by an `ar_op_*` call on this ring.
///
/// Returns: the cancel's own id; `-ENOENT` at once, queueing nothing, when `target` is not a
/// live operation (already finished, or never existed): ids carry a generation, so a stale
/// id never affects the operation that reuses its slot. Otherwise as the ar_op_* contract.
///
/// Memory and lifetimes: nothing to keep alive.
///
/// Thread safety: the thread using the ring (also from inside a callback); any thread with
/// `AR_RING_THREADSAFE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ar_op_cancel(
    ring: *mut Ring,
    target: i64,
    opts: *const OpOpts,
    userdata: *mut c_void,
    cb: OpCallback,
) -> i64 {
    // SAFETY: the caller passes valid pointers.
    boundary(|| unsafe { self::ring(ring)?.cancel(target, opt(opts), userdata, cb) })
}

/// Requests cancellation of operations on file descriptor `fd`: the first one found, or all
/// of them with `AR_CANCEL_ALL`. Without `AR_CANCEL_ALL`, `res` is 0, or `-ENOENT` when none
/// matched; with it, `res` is how many were found (0 for none).
///
/// Parameters: `fd`: the descriptor; `flags`: 0 or `AR_CANCEL_ALL`.
///
/// Returns: the cancel's own id, or `-errno` as in the ar_op_* contract.
///
/// Memory and lifetimes: nothing to keep alive.
///
/// Thread safety: the thread using the ring (also from inside a callback); any thread with
/// `AR_RING_THREADSAFE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ar_op_cancel_fd(
    ring: *mut Ring,
    fd: c_int,
    flags: u32,
    opts: *const OpOpts,
    userdata: *mut c_void,
    cb: OpCallback,
) -> i64 {
    // SAFETY: the caller passes valid pointers.
    boundary(|| unsafe { self::ring(ring)?.cancel_fd(fd, flags, opt(opts), userdata, cb) })
}
