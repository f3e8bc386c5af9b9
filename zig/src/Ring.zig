//! A ring: one io_uring instance, its operations in flight and its notification fd.
//! Where io_uring is unusable (a seccomp filter such as Docker's, the
//! `kernel.io_uring_disabled` sysctl, an old kernel) the ring runs on the library's
//! fallback backend instead, with the same API and callbacks: `backend` says which.
//!
//! A `Ring` is a handle (one pointer): copying it is free and every copy names the same
//! ring. One thread uses a ring at a time (a second one gets `error.RingBusy`), except
//! that with `Options.threadsafe` any thread may queue operations; `post`, `inflight` and
//! `notifyFd` work from any thread.
//!
//! The operations are declared in files by concept (`fs.zig`, `net.zig`, `control.zig`)
//! and are methods here: `ring.read(...)`. Each queues one operation and returns its id;
//! `callback(context, completion)` runs once per completion (exactly once finally), from
//! inside `run`, with a `Completion` typed by the operation's kind. They may be called from
//! the thread using the ring (also from inside a callback), or from any thread with
//! `Options.threadsafe`. Queueing never fails because the submission queue is full; bad
//! input fails with a `QueueError` and queues nothing.

const std = @import("std");
const capi = @import("asyncring_c");
const errors = @import("errors.zig");
const completion = @import("completion.zig");
const control = @import("control.zig");
const fs = @import("fs.zig");
const net = @import("net.zig");

const Ring = @This();

handle: *capi.ar_ring,

/// How a ring is set up; the default, `.{}`, is 256 SQ entries and 1024 CQ entries.
pub const Options = struct {
    /// Submission queue size; 0 means 256. Bounds batch size, not the number of
    /// operations in flight (the rest wait in the ring's backlog).
    sq_entries: u32 = 0,
    /// Completion queue size; 0 means 4 × `sq_entries`.
    cq_entries: u32 = 0,
    /// `AR_RING_SQPOLL`: a kernel thread polls the submission queue.
    sqpoll: bool = false,
    /// With `sqpoll`: how long the kernel thread polls before it sleeps (0 = 1000 ms).
    sqpoll_idle_ms: u32 = 0,
    /// `AR_RING_SINGLE_THREAD`: only the creating thread ever uses the ring
    /// (`SINGLE_ISSUER` + `DEFER_TASKRUN`, 6.1): cheaper completions, which are then
    /// posted only while that thread is inside `run`.
    single_thread: bool = false,
    /// `AR_RING_THREADSAFE`: any thread may queue operations, and every `io_uring_enter`
    /// happens on a thread the ring owns for its whole life (the kernel cancels requests
    /// whose submitting thread exits, which hosts with elastic thread pools must avoid).
    /// Completions are still delivered by `run` on the host's thread. Cannot be combined
    /// with `sqpoll` or `single_thread`.
    threadsafe: bool = false,
    /// `AR_RING_NO_FALLBACK`: never use the fallback backend. Where io_uring is unusable,
    /// `init` fails (`probe` says why) instead of running the ring on the fallback.
    no_fallback: bool = false,
    /// `AR_RING_FORCE_FALLBACK`: use the fallback backend even where io_uring works, as the
    /// environment variable `ASYNCRING_BACKEND=fallback` does for every ring without
    /// `no_fallback`. On the fallback, `sqpoll` and `single_thread` are accepted and change
    /// nothing. Cannot be combined with `no_fallback`.
    force_fallback: bool = false,
};

/// What a ring runs on (`backend`).
pub const Backend = enum {
    /// io_uring (`AR_BACKEND_URING`).
    uring,
    /// The fallback backend (`AR_BACKEND_FALLBACK`): epoll readiness, a thread pool for
    /// files and other blocking calls, user-space timers. Chosen where io_uring is
    /// unusable, or forced by `Options.force_fallback` or `ASYNCRING_BACKEND=fallback`.
    /// Same API, callbacks and guarantees; the README lists the differences
    /// ("Fallback backend").
    fallback,
};

/// Creates a ring, on io_uring where it is usable and else on the fallback backend
/// (`backend` says which). With `Options.no_fallback`, fails instead with
/// `error.PermissionDenied` (seccomp, the `kernel.io_uring_disabled` sysctl) or
/// `error.SystemOutdated` (kernel before 5.19) when io_uring is unusable: `probe` says
/// why. `error.ArgumentsInvalid` for options out of range or that cannot be combined.
pub fn init(options: Options) errors.InitError!Ring {
    var config: capi.ar_ring_config = undefined;
    capi.ar_ring_config_default(&config);
    if (options.sq_entries != 0) config.sq_entries = options.sq_entries;
    if (options.cq_entries != 0) config.cq_entries = options.cq_entries;
    if (options.sqpoll) config.flags |= capi.AR_RING_SQPOLL;
    if (options.single_thread) config.flags |= capi.AR_RING_SINGLE_THREAD;
    if (options.threadsafe) config.flags |= capi.AR_RING_THREADSAFE;
    if (options.no_fallback) config.flags |= capi.AR_RING_NO_FALLBACK;
    if (options.force_fallback) config.flags |= capi.AR_RING_FORCE_FALLBACK;
    config.sqpoll_idle_ms = options.sqpoll_idle_ms;
    var handle: ?*capi.ar_ring = null;
    _ = try check(errors.InitError, capi.ar_ring_new(&config, &handle));
    return .{ .handle = handle.? };
}

/// Frees the ring: cancels everything in flight, waits until the kernel is done with it,
/// delivers every final callback (usually `error.Canceled`), runs posted work, then frees.
/// Afterwards the kernel never touches caller memory again. Calling it from a callback or
/// inside `run` is a programming error (the library aborts).
pub fn deinit(ring: Ring) void {
    capi.ar_ring_free(ring.handle);
}

/// The notification fd: poll it for readability in a host loop (epoll, poll...), then
/// call `run(.nowait)`, which drains it. Owned by the ring: do not close or read it.
pub fn notifyFd(ring: Ring) std.posix.fd_t {
    return capi.ar_ring_notify_fd(ring.handle);
}

/// Hands every queued operation to the kernel in one batch; returns how many. `run` does
/// this too: call it to start I/O before running.
pub fn submit(ring: Ring) errors.RunError!u32 {
    return try check(errors.RunError, capi.ar_ring_submit(ring.handle));
}

/// How `run` waits.
pub const RunMode = enum {
    /// Deliver what is ready and return; never blocks. For host loops, after the
    /// notification fd polled readable.
    nowait,
    /// Block until at least one callback has run; returns 0 at once if nothing is in
    /// flight.
    once,
    /// Run until no operation is in flight and no posted work waits.
    until_done,

    fn toC(mode: RunMode) capi.ar_run_mode {
        return switch (mode) {
            .nowait => capi.AR_RUN_NOWAIT,
            .once => capi.AR_RUN_ONCE,
            .until_done => capi.AR_RUN_UNTIL_DONE,
        };
    }
};

/// Submits queued operations and delivers completions by callback on this thread; returns
/// how many callbacks ran. `error.SignalInterrupt` means a signal arrived while blocking
/// and nothing was delivered; `error.RingBusy`, that it was called from a callback or
/// while another thread uses the ring.
pub fn run(ring: Ring, mode: RunMode) errors.RunError!u32 {
    return try check(errors.RunError, capi.ar_ring_run(ring.handle, mode.toC()));
}

/// Which backend the ring runs on; it never changes during the ring's life. Callable from
/// any thread.
pub fn backend(ring: Ring) Backend {
    return switch (capi.ar_ring_backend(ring.handle)) {
        capi.AR_BACKEND_URING => .uring,
        capi.AR_BACKEND_FALLBACK => .fallback,
        // The handle is never NULL: anything else is a library newer than these bindings.
        else => |rc| std.debug.panic("ar_ring_backend returned {d}", .{rc}),
    };
}

/// The number of operations queued and not yet finally completed.
pub fn inflight(ring: Ring) u32 {
    return capi.ar_ring_inflight(ring.handle);
}

/// Queues `func(context)` to run on the ring's thread inside a later `run`, and wakes the
/// ring (a blocked `run` returns; the notification fd becomes readable). Callable from any
/// thread; `context` must stay valid until `func` runs. Work posted before `deinit` runs
/// during it. This is how other threads (a `std.Io` program's, a thread pool's) hand work
/// to the thread that runs a default ring.
pub fn post(
    ring: Ring,
    context: anytype,
    comptime func: fn (@TypeOf(context)) void,
) errors.PostError!void {
    const Context = @TypeOf(context);
    const c_func = struct {
        fn call(userdata: ?*anyopaque) callconv(.c) void {
            func(completion.fromUserdata(Context, userdata));
        }
    }.call;
    _ = try check(errors.PostError, capi.ar_ring_post(ring.handle, completion.toUserdata(context), &c_func));
}

/// Registers buffers for `readFixed`/`writeFixed`, which name one by its index here. The
/// buffers must stay valid until `unregisterBuffers` or `deinit`.
pub fn registerBuffers(ring: Ring, buffers: []const std.posix.iovec) errors.RegisterError!void {
    _ = try check(errors.RegisterError, capi.ar_ring_register_buffers(
        ring.handle,
        @ptrCast(buffers.ptr),
        std.math.cast(u32, buffers.len) orelse return error.ArgumentsInvalid,
    ));
}

/// Unregisters the ring's registered buffers (`error.NothingRegistered` if none).
pub fn unregisterBuffers(ring: Ring) errors.RegisterError!void {
    _ = try check(errors.RegisterError, capi.ar_ring_unregister_buffers(ring.handle));
}

/// Registers file descriptors (`-1` for an empty slot): with `OpOptions.fixed_file` an
/// operation's `fd` is an index into this table.
pub fn registerFiles(ring: Ring, fds: []const std.posix.fd_t) errors.RegisterError!void {
    _ = try check(errors.RegisterError, capi.ar_ring_register_files(
        ring.handle,
        fds.ptr,
        std.math.cast(u32, fds.len) orelse return error.ArgumentsInvalid,
    ));
}

/// Replaces registered files from slot `offset` (`-1` empties a slot); returns how many
/// slots were updated.
pub fn updateFiles(ring: Ring, offset: u32, fds: []const std.posix.fd_t) errors.RegisterError!u32 {
    return try check(errors.RegisterError, capi.ar_ring_update_files(
        ring.handle,
        offset,
        fds.ptr,
        std.math.cast(u32, fds.len) orelse return error.ArgumentsInvalid,
    ));
}

/// Unregisters the ring's file table (`error.NothingRegistered` if none).
pub fn unregisterFiles(ring: Ring) errors.RegisterError!void {
    _ = try check(errors.RegisterError, capi.ar_ring_unregister_files(ring.handle));
}

/// Turns a C return value (`>= 0` success, `-errno` failure) into an error union.
fn check(comptime Set: type, rc: c_int) Set!u32 {
    if (rc < 0) return errors.fromErrno(Set, rc, false);
    return @intCast(rc);
}

// --- operations, declared by concept ---------------------------------------------------

// Timers, no-ops and cancellation (control.zig).
pub const nop = control.nop;
pub const timeout = control.timeout;
pub const cancel = control.cancel;
pub const CancelScope = control.CancelScope;
pub const cancelFd = control.cancelFd;

// Files and paths (fs.zig).
pub const read = fs.read;
pub const write = fs.write;
pub const readv = fs.readv;
pub const writev = fs.writev;
pub const readFixed = fs.readFixed;
pub const writeFixed = fs.writeFixed;
pub const SyncMode = fs.SyncMode;
pub const fsync = fs.fsync;
pub const fallocate = fs.fallocate;
pub const openat = fs.openat;
pub const close = fs.close;
pub const statx = fs.statx;
pub const UnlinkKind = fs.UnlinkKind;
pub const unlinkat = fs.unlinkat;
pub const renameat = fs.renameat;
pub const mkdirat = fs.mkdirat;

// Sockets and descriptors (net.zig).
pub const socket = net.socket;
pub const connect = net.connect;
pub const connectPosix = net.connectPosix;
pub const accept = net.accept;
pub const acceptMultishot = net.acceptMultishot;
pub const send = net.send;
pub const sendZc = net.sendZc;
pub const recv = net.recv;
pub const recvMultishot = net.recvMultishot;
pub const sendmsg = net.sendmsg;
pub const recvmsg = net.recvmsg;
pub const shutdown = net.shutdown;
pub const poll = net.poll;
pub const pollMultishot = net.pollMultishot;
pub const splice = net.splice;
