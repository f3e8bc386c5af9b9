//! The one place where C meets Rust: pointer checks, result conversion, and the panic guard.
//!
//! Every export runs its body inside [`boundary`], which turns `Err(errno)` into `-errno`
//! and a caught panic into `-ENOTRECOVERABLE` (documented in the header as "internal
//! error"), so no panic ever unwinds into C.

use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::error::Errno;
use crate::ring::Ring;

/// A C return type that can carry `-errno`.
pub(crate) trait CReturn {
    fn from_errno(e: Errno) -> Self;
}

impl CReturn for i32 {
    fn from_errno(e: Errno) -> i32 {
        e.negated()
    }
}

impl CReturn for i64 {
    fn from_errno(e: Errno) -> i64 {
        i64::from(e.negated())
    }
}

/// Counts: an error (only a NULL ring) reads as zero.
impl CReturn for u32 {
    fn from_errno(_: Errno) -> u32 {
        0
    }
}

/// Runs an export's body: `Ok(v)` → `v`, `Err(e)` → `-e`, panic → `-ENOTRECOVERABLE`.
pub(crate) fn boundary<T: CReturn>(body: impl FnOnce() -> Result<T, Errno>) -> T {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => T::from_errno(e),
        Err(_) => T::from_errno(Errno::INTERNAL),
    }
}

/// `boundary` for a body that already returns an id or `-errno`: on the hottest exports,
/// a `Result` merged from several paths went through the stack with mismatched store and
/// load widths (a store-forwarding stall per call).
#[inline(always)]
pub(crate) fn boundary_i64(body: impl FnOnce() -> i64) -> i64 {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(v) => v,
        Err(_) => i64::from(Errno::INTERNAL.negated()),
    }
}

/// Runs the body of an export that returns nothing; a panic is reported on stderr.
pub(crate) fn boundary_void(body: impl FnOnce()) {
    if catch_unwind(AssertUnwindSafe(body)).is_err() {
        eprintln!("libasyncring: internal error (a panic was caught at the C boundary)");
    }
}

/// The ring a C pointer names; NULL → `-EINVAL`.
///
/// # Safety
///
/// `ring` is NULL or a pointer `ar_ring_new` returned that has not been freed.
pub(crate) unsafe fn ring<'a>(ring: *const Ring) -> Result<&'a Ring, Errno> {
    // SAFETY: the caller's contract.
    unsafe { ring.as_ref() }.ok_or(Errno::EINVAL)
}

/// The options a C pointer names; NULL means none.
///
/// # Safety
///
/// `opts` is NULL or points to a readable `T`.
pub(crate) unsafe fn opt<'a, T>(opts: *const T) -> Option<&'a T> {
    // SAFETY: the caller's contract.
    unsafe { opts.as_ref() }
}

/// Writes an out-parameter; NULL → `-EINVAL`. Only called on success.
///
/// # Safety
///
/// `out` is NULL or points to writable memory for a `T`.
pub(crate) unsafe fn write_out<T>(out: *mut T, value: T) -> Result<(), Errno> {
    if out.is_null() {
        return Err(Errno::EINVAL);
    }
    // SAFETY: non-NULL and, by the caller's contract, writable.
    unsafe { out.write(value) };
    Ok(())
}
