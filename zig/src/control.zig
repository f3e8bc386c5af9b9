//! Operations that do no I/O: no-ops, timers and cancellation. Methods of `Ring`.

const std = @import("std");
const capi = @import("asyncring_c");
const errors = @import("errors.zig");
const completion = @import("completion.zig");
const Ring = @import("Ring.zig");

const Op = completion.Op;
const OpOptions = completion.OpOptions;
const Callback = completion.Callback;
const queued = completion.queued;
const trampoline = completion.trampoline;
const toUserdata = completion.toUserdata;

/// Queues a no-op; it completes with nothing (`Completion(.nop)`).
pub fn nop(
    ring: Ring,
    options: OpOptions,
    context: anytype,
    comptime callback: Callback(@TypeOf(context), .nop),
) errors.QueueError!Op {
    const o = options.toC();
    return queued(errors.QueueError, capi.ar_op_nop(
        ring.handle,
        &o,
        toUserdata(context),
        trampoline(@TypeOf(context), .nop, callback),
    ));
}

/// Queues a timer of `duration`; it completes with nothing when it fires, or with
/// `error.Canceled`.
pub fn timeout(
    ring: Ring,
    duration: std.Io.Duration,
    options: OpOptions,
    context: anytype,
    comptime callback: Callback(@TypeOf(context), .nop),
) errors.QueueError!Op {
    const o = options.toC();
    const ns = std.math.cast(u64, @max(duration.nanoseconds, 0)) orelse std.math.maxInt(u64);
    return queued(errors.QueueError, capi.ar_op_timeout(
        ring.handle,
        ns,
        &o,
        toUserdata(context),
        trampoline(@TypeOf(context), .nop, callback),
    ));
}

/// Requests cancellation of `target`, which then completes with `error.Canceled`. The
/// cancel itself completes with nothing, `error.OperationNotFound` (the target finished
/// first) or `error.OperationUncancelable`. Refused at once with
/// `error.OperationNotFound`, queueing nothing, when `target` is not live.
pub fn cancel(
    ring: Ring,
    target: Op,
    options: OpOptions,
    context: anytype,
    comptime callback: Callback(@TypeOf(context), .cancel),
) errors.CancelQueueError!Op {
    const o = options.toC();
    return queued(errors.CancelQueueError, capi.ar_op_cancel(
        ring.handle,
        target.raw(),
        &o,
        toUserdata(context),
        trampoline(@TypeOf(context), .cancel, callback),
    ));
}

/// Which operations `cancelFd` cancels.
pub const CancelScope = enum {
    /// The first one found; the result is 1.
    first,
    /// Every one (`AR_CANCEL_ALL`); the result is how many were cancelled.
    all,
};

/// Requests cancellation of operations on `fd`; completes with the number cancelled
/// (`.all`: possibly 0), or, for `.first`, `error.OperationNotFound` when none matched.
pub fn cancelFd(
    ring: Ring,
    fd: std.posix.fd_t,
    scope: CancelScope,
    options: OpOptions,
    context: anytype,
    comptime callback: Callback(@TypeOf(context), .cancel_fd),
) errors.QueueError!Op {
    const o = options.toC();
    const flags: u32 = switch (scope) {
        .first => 0,
        .all => capi.AR_CANCEL_ALL,
    };
    return queued(errors.QueueError, capi.ar_op_cancel_fd(
        ring.handle,
        fd,
        flags,
        &o,
        toUserdata(context),
        trampoline(@TypeOf(context), .cancel_fd, callback),
    ));
}
