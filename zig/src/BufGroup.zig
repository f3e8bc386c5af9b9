//! A buffer group (a provided-buffer ring) for `Ring.recvMultishot`: the kernel picks a
//! buffer when data arrives, so idle connections hold none. A handle, like `Ring`.

const capi = @import("asyncring_c");
const errors = @import("errors.zig");
const Ring = @import("Ring.zig");

const BufGroup = @This();

handle: *capi.ar_bufgroup,

/// Creates a group of `count` buffers (a power of two, 1 to 32768) of `size` bytes each,
/// registered with `ring`.
pub fn init(ring: Ring, count: u32, size: u32) errors.BufGroupInitError!BufGroup {
    var handle: ?*capi.ar_bufgroup = null;
    const rc = capi.ar_bufgroup_new(ring.handle, count, size, &handle);
    if (rc < 0) return errors.fromErrno(errors.BufGroupInitError, rc, false);
    return .{ .handle = handle.? };
}

/// Frees the group, before or after its ring. Operations still using it are cancelled
/// (each gets its final callback) and its memory is released after the last one; buffers
/// still lent out become invalid.
pub fn deinit(group: BufGroup) void {
    capi.ar_bufgroup_free(group.handle);
}

/// Hands buffer `buf_id` (from `Completion.buf_id`) back to the group, and re-arms any
/// receive parked for lack of buffers. The buffer must not be used afterwards; a double
/// recycle is `error.ArgumentsInvalid`.
pub fn recycle(group: BufGroup, buf_id: u16) errors.RecycleError!void {
    const rc = capi.ar_bufgroup_recycle(group.handle, buf_id);
    if (rc < 0) return errors.fromErrno(errors.RecycleError, rc, false);
}
