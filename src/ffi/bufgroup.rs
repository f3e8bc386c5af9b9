//! `ar_bufgroup_*`: provided-buffer rings for multishot receives.

use std::ffi::c_int;

use super::boundary::{boundary, boundary_void, ring, write_out};
use crate::error::Errno;
use crate::ring::Ring;
use crate::ring::buf::{BufGroup, drop_orphan};

/// Creates a buffer group of `count` buffers of `size` bytes, registered with `ring`, for
/// `ar_op_recv_multishot`.
///
/// Parameters: `ring`: the owning ring; `count`: a power of two, 1 to 32768; `size`: bytes
/// per buffer (> 0); `out_group`: receives the group.
///
/// Returns: 0, or `-EINVAL` (NULL pointers, bad count or size), `-ENOMEM`, `-EBUSY`
/// (another thread is using the ring), `-ENOSPC` (no group id left).
///
/// Memory and lifetimes: the library maps `count * size` bytes; free the group with
/// `ar_bufgroup_free` (before or after its ring: either order is safe).
///
/// Thread safety: the thread using the ring.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ar_bufgroup_new(
    ring: *mut Ring,
    count: u32,
    size: u32,
    out_group: *mut *mut BufGroup,
) -> c_int {
    boundary(|| {
        if out_group.is_null() {
            return Err(Errno::EINVAL);
        }
        // SAFETY: the caller passes NULL or a live ring, which `ar_ring_new` boxed; the C
        // contract releases the group with `ar_bufgroup_free`.
        let group = unsafe { self::ring(ring)?.new_group(count, size) }?;
        // SAFETY: checked non-NULL; the caller passes writable memory.
        unsafe { write_out(out_group, group)? };
        Ok(0)
    })
}

/// Frees a buffer group. Operations still using it are cancelled (each gets its final
/// callback, usually `-ECANCELED`) and its memory is released after the last one; the kernel
/// never writes into freed memory. Buffers delivered after this call are valid during their
/// callback only. NULL is a no-op.
///
/// Parameters: `group`: the group, or NULL.
///
/// Returns: nothing. Calling it while another thread uses the ring aborts with a message.
///
/// Memory and lifetimes: buffers still lent out become invalid: copy or hand back what you
/// need first. `group` is invalid afterwards.
///
/// Thread safety: the thread using the ring (also from inside a callback).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ar_bufgroup_free(group: *mut BufGroup) {
    if group.is_null() {
        return;
    }
    boundary_void(|| {
        // SAFETY: the caller passes a live group. Only its atomic flag is read before we know
        // whether a ring must be claimed: its state is touched under that claim, or once
        // its ring is gone.
        if unsafe { &*group }.is_orphaned() {
            // SAFETY: the ring is gone, so nothing else refers to the group.
            unsafe { drop_orphan(group) };
            return;
        }
        // SAFETY: a group that is not orphaned has a live ring.
        let ring = unsafe { &*(*group).ring };
        // SAFETY: the caller passes a live group of this ring.
        if let Err(e) = unsafe { ring.free_group(group) } {
            eprintln!("libasyncring: ar_bufgroup_free: {e} (the ring is in use by another thread)");
            std::process::abort();
        }
    })
}

/// Hands buffer `buf_id` (from a completion with `AR_COMPLETION_BUFFER`) back to the group,
/// and re-arms any receive parked for lack of buffers (`AR_OP_REARM`).
///
/// Parameters: `group`: the group the completion's buffer came from; `buf_id`: its id.
///
/// Returns: 0, or `-EINVAL` (NULL group, `buf_id` out of range, or a buffer not lent out:
/// a double recycle), `-EBUSY` (another thread is using the ring).
///
/// Memory and lifetimes: the buffer must not be used afterwards.
///
/// Thread safety: the thread using the ring (also from inside a callback).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ar_bufgroup_recycle(group: *mut BufGroup, buf_id: u16) -> c_int {
    boundary(|| {
        if group.is_null() {
            return Err(Errno::EINVAL);
        }
        // SAFETY: as in `ar_bufgroup_free`: only the atomic flag before the claim.
        if unsafe { &*group }.is_orphaned() {
            // SAFETY: as above.
            unsafe { &*group }.recycle(buf_id)?;
            return Ok(0);
        }
        // SAFETY: a group that is not orphaned has a live ring.
        let ring = unsafe { &*(*group).ring };
        // SAFETY: the caller passes a live group of this ring.
        unsafe { ring.recycle(group, buf_id) }?;
        Ok(0)
    })
}
