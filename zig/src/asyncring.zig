//! Zig bindings for libasyncring: asynchronous I/O on Linux io_uring, completions
//! delivered by callback.
//!
//! The model is the C library's (see `include/asyncring.h`): a `Ring` owns one io_uring
//! instance; operations are queued with methods such as `Ring.read`, reach the kernel in
//! batches (`Ring.submit`, or the start of `Ring.run`), and complete by calling a typed
//! callback, only from inside `Ring.run`, on the thread that called it.
//!
//! What this layer adds to the C API:
//! - every `-errno` becomes a member of the explicit error set `Error`, both for the
//!   result of a call and for the result of a completion (`Completion.result`);
//! - callbacks are typed: `ring.read(fd, buf, offset, .{}, &state, onRead)` with
//!   `fn onRead(state: *State, completion: Completion) void`; the C trampoline is
//!   generated at compile time, so no `?*anyopaque` reaches user code;
//! - buffers are slices, paths are `[:0]const u8`, flags are small structs or enums.
//!
//! Memory rules are the C library's: whatever the kernel reads after the call returns
//! and the caller might not keep (paths, iovec arrays, socket addresses) is copied by the
//! library; data buffers, `statx` results and `msghdr`s the kernel writes into belong to
//! the caller and must stay valid until the operation's final callback.

const std = @import("std");
const linux = std.os.linux;
const posix = std.posix;

/// The raw C API, translated from `asyncring.h` by `build.zig`. Everything in this file is
/// built on it; reach for it only for what the wrapper does not cover.
pub const capi = @import("asyncring_c");

/// A file descriptor.
pub const fd_t = posix.fd_t;

/// `AT_FDCWD`: as a `dirfd`, paths are resolved against the current working directory.
pub const cwd: fd_t = posix.AT.FDCWD;

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

/// Every error the library reports, as `-errno` from a call or in a completion's `res`,
/// mapped to a name. Codes without a name here become `Unexpected`; the raw code is still
/// in `Completion.res`, and `strerror` explains any code.
pub const Error = error{
    /// `EPERM`: not permitted (for `Ring.init`: io_uring forbidden by seccomp or the
    /// `kernel.io_uring_disabled` sysctl; `probe` says which).
    PermissionDenied,
    /// `ENOENT`: no such file, or (for `cancel`) no such live operation.
    NotFound,
    /// `EINTR`: a signal interrupted a blocking `run` before anything was delivered.
    Interrupted,
    /// `EIO`: a low-level I/O error.
    InputOutput,
    /// `ENXIO`: nothing registered (buffers or files) to unregister or update.
    NothingRegistered,
    /// `E2BIG`: an argument list or size is too large.
    ArgumentListTooLong,
    /// `EBADF`: a bad (or negative) file descriptor.
    BadFileDescriptor,
    /// `EAGAIN`: the operation would block.
    WouldBlock,
    /// `ENOMEM`: out of memory (or locked memory).
    OutOfMemory,
    /// `EACCES`: access denied by file permissions.
    AccessDenied,
    /// `EFAULT`: a bad address (for fixed buffers: a range outside the registered buffer).
    BadAddress,
    /// `EBUSY`: the ring is in use by another thread, or `run` was called from a callback.
    Busy,
    /// `EEXIST`: the path already exists (or, with `single_thread`, another thread used
    /// the ring).
    PathAlreadyExists,
    /// `EXDEV`: a rename across file systems.
    NotSameFileSystem,
    /// `ENODEV`: no such device.
    NoDevice,
    /// `ENOTDIR`: a path component is not a directory.
    NotDir,
    /// `EISDIR`: the path is a directory.
    IsDir,
    /// `EINVAL`: an invalid argument (NULL, bad flags, sizes out of range, a buffer group
    /// of another ring...).
    InvalidArgument,
    /// `ENFILE`: the system-wide limit on open files was reached.
    SystemFdQuotaExceeded,
    /// `EMFILE`: the per-process limit on open files was reached.
    ProcessFdQuotaExceeded,
    /// `EFBIG`: the file would exceed its maximum size.
    FileTooBig,
    /// `ENOSPC`: no space left on the device (or no buffer group id left).
    NoSpaceLeft,
    /// `ESPIPE`: an offset was given for a pipe or socket.
    Unseekable,
    /// `EROFS`: a read-only file system.
    ReadOnlyFileSystem,
    /// `EPIPE`: the other end of a pipe or socket is closed.
    BrokenPipe,
    /// `ENAMETOOLONG`: a path or name is too long.
    NameTooLong,
    /// `ENOSYS`: the kernel lacks io_uring or a feature this needs (Linux 5.19+).
    SystemOutdated,
    /// `ENOTEMPTY`: the directory is not empty.
    DirNotEmpty,
    /// `ELOOP`: too many symbolic links.
    SymLinkLoop,
    /// `ENOTSOCK`: the descriptor is not a socket.
    NotASocket,
    /// `EOPNOTSUPP`: the operation is not supported on this object.
    OperationNotSupported,
    /// `EAFNOSUPPORT`: the address family is not supported.
    AddressFamilyNotSupported,
    /// `EADDRINUSE`: the address is in use.
    AddressInUse,
    /// `EADDRNOTAVAIL`: the address is not available on this machine.
    AddressNotAvailable,
    /// `ENETUNREACH`: the network is unreachable.
    NetworkUnreachable,
    /// `ECONNABORTED`: the connection was aborted.
    ConnectionAborted,
    /// `ECONNRESET`: the peer reset the connection.
    ConnectionResetByPeer,
    /// `ENOBUFS`: a buffer group ran dry and ended a multishot receive (see
    /// `OpOptions.rearm`).
    NoBufferSpace,
    /// `EISCONN`: the socket is already connected.
    AlreadyConnected,
    /// `ENOTCONN`: the socket is not connected.
    SocketNotConnected,
    /// `ESHUTDOWN`: the ring is being torn down and accepts no new operation.
    Shutdown,
    /// `ETIMEDOUT`: the operation's deadline (`OpOptions.timeout_ns`) expired first.
    TimedOut,
    /// `ECONNREFUSED`: nothing listens at the address.
    ConnectionRefused,
    /// `EHOSTUNREACH`: the host is unreachable.
    HostUnreachable,
    /// `EALREADY`: (for `cancel`) the target is running and cannot be interrupted.
    AlreadyInProgress,
    /// `EINPROGRESS`: a non-blocking connect is still in progress.
    InProgress,
    /// `ECANCELED`: the operation was cancelled (by `cancel`, `cancelFd`, a failed link,
    /// or the ring's teardown).
    Canceled,
    /// Any other code; `strerror` explains it.
    Unexpected,
};

/// The one table both mappings are derived from.
const errno_table = [_]struct { errno: u16, err: Error }{
    .{ .errno = capi.EPERM, .err = error.PermissionDenied },
    .{ .errno = capi.ENOENT, .err = error.NotFound },
    .{ .errno = capi.EINTR, .err = error.Interrupted },
    .{ .errno = capi.EIO, .err = error.InputOutput },
    .{ .errno = capi.ENXIO, .err = error.NothingRegistered },
    .{ .errno = capi.E2BIG, .err = error.ArgumentListTooLong },
    .{ .errno = capi.EBADF, .err = error.BadFileDescriptor },
    .{ .errno = capi.EAGAIN, .err = error.WouldBlock },
    .{ .errno = capi.ENOMEM, .err = error.OutOfMemory },
    .{ .errno = capi.EACCES, .err = error.AccessDenied },
    .{ .errno = capi.EFAULT, .err = error.BadAddress },
    .{ .errno = capi.EBUSY, .err = error.Busy },
    .{ .errno = capi.EEXIST, .err = error.PathAlreadyExists },
    .{ .errno = capi.EXDEV, .err = error.NotSameFileSystem },
    .{ .errno = capi.ENODEV, .err = error.NoDevice },
    .{ .errno = capi.ENOTDIR, .err = error.NotDir },
    .{ .errno = capi.EISDIR, .err = error.IsDir },
    .{ .errno = capi.EINVAL, .err = error.InvalidArgument },
    .{ .errno = capi.ENFILE, .err = error.SystemFdQuotaExceeded },
    .{ .errno = capi.EMFILE, .err = error.ProcessFdQuotaExceeded },
    .{ .errno = capi.EFBIG, .err = error.FileTooBig },
    .{ .errno = capi.ENOSPC, .err = error.NoSpaceLeft },
    .{ .errno = capi.ESPIPE, .err = error.Unseekable },
    .{ .errno = capi.EROFS, .err = error.ReadOnlyFileSystem },
    .{ .errno = capi.EPIPE, .err = error.BrokenPipe },
    .{ .errno = capi.ENAMETOOLONG, .err = error.NameTooLong },
    .{ .errno = capi.ENOSYS, .err = error.SystemOutdated },
    .{ .errno = capi.ENOTEMPTY, .err = error.DirNotEmpty },
    .{ .errno = capi.ELOOP, .err = error.SymLinkLoop },
    .{ .errno = capi.ENOTSOCK, .err = error.NotASocket },
    .{ .errno = capi.EOPNOTSUPP, .err = error.OperationNotSupported },
    .{ .errno = capi.EAFNOSUPPORT, .err = error.AddressFamilyNotSupported },
    .{ .errno = capi.EADDRINUSE, .err = error.AddressInUse },
    .{ .errno = capi.EADDRNOTAVAIL, .err = error.AddressNotAvailable },
    .{ .errno = capi.ENETUNREACH, .err = error.NetworkUnreachable },
    .{ .errno = capi.ECONNABORTED, .err = error.ConnectionAborted },
    .{ .errno = capi.ECONNRESET, .err = error.ConnectionResetByPeer },
    .{ .errno = capi.ENOBUFS, .err = error.NoBufferSpace },
    .{ .errno = capi.EISCONN, .err = error.AlreadyConnected },
    .{ .errno = capi.ENOTCONN, .err = error.SocketNotConnected },
    .{ .errno = capi.ESHUTDOWN, .err = error.Shutdown },
    .{ .errno = capi.ETIMEDOUT, .err = error.TimedOut },
    .{ .errno = capi.ECONNREFUSED, .err = error.ConnectionRefused },
    .{ .errno = capi.EHOSTUNREACH, .err = error.HostUnreachable },
    .{ .errno = capi.EALREADY, .err = error.AlreadyInProgress },
    .{ .errno = capi.EINPROGRESS, .err = error.InProgress },
    .{ .errno = capi.ECANCELED, .err = error.Canceled },
};

/// `errno_table` indexed by errno, for `errorFromErrno`.
const error_by_errno = table: {
    var max: usize = 0;
    for (errno_table) |entry| max = @max(max, entry.errno);
    var table: [max + 1]Error = @splat(error.Unexpected);
    for (errno_table) |entry| table[entry.errno] = entry.err;
    break :table table;
};

/// Maps an errno value (negative as the C API returns it, or positive) to `Error`; codes
/// without a name become `error.Unexpected`.
pub fn errorFromErrno(code: i32) Error {
    const errno = @abs(code);
    return if (errno < error_by_errno.len) error_by_errno[errno] else error.Unexpected;
}

/// The errno an error stands for (positive), or null for `error.Unexpected`.
pub fn errnoFromError(err: Error) ?u16 {
    switch (err) {
        inline else => |e| return comptime errnoOf(e),
    }
}

fn errnoOf(comptime err: Error) ?u16 {
    @setEvalBranchQuota(10 * errno_table.len * errno_table.len);
    for (errno_table) |entry| {
        if (entry.err == err) return entry.errno;
    }
    return null;
}

/// Describes an error in the library's terms (`ar_strerror`): a static string.
pub fn describe(err: Error) [:0]const u8 {
    const errno = errnoFromError(err) orelse return "unexpected error";
    return strerror(-@as(i32, errno));
}

/// Describes an errno value (negative or positive) in the library's terms: a static string.
pub fn strerror(code: i32) [:0]const u8 {
    return std.mem.span(capi.ar_strerror(code));
}

/// The library's version, `"MAJOR.MINOR.PATCH"` (compare with `header_version`).
pub fn version() [:0]const u8 {
    return std.mem.span(capi.ar_version());
}

/// The version of the header these bindings were translated from.
pub const header_version: std.SemanticVersion = .{
    .major = capi.AR_VERSION_MAJOR,
    .minor = capi.AR_VERSION_MINOR,
    .patch = capi.AR_VERSION_PATCH,
};

/// Turns a C return value (`>= 0` success, `-errno` failure) into an error union.
fn check(rc: anytype) Error!@TypeOf(rc) {
    if (rc < 0) return errorFromErrno(@intCast(rc));
    return rc;
}

// ---------------------------------------------------------------------------------------
// Operations, options, completions
// ---------------------------------------------------------------------------------------

/// The id of a queued operation: unique among live operations of its ring, and
/// generation-tagged, so cancelling a finished operation's id is harmless
/// (`error.NotFound`).
pub const Op = packed struct(i64) {
    /// The raw id (`> 0`), as the C API spells it.
    id: i64,
};

/// How an operation chains to the next one queued.
pub const Link = enum {
    /// No link: the operation ends any chain.
    none,
    /// `AR_OP_LINK`: the next operation starts only after this one succeeds; if this one
    /// fails, the rest of the chain completes with `error.Canceled`.
    soft,
    /// `AR_OP_HARDLINK`: the next operation starts after this one, even when it fails.
    hard,
};

/// Options for one operation. The default, `.{}`, means none.
pub const OpOptions = struct {
    /// Deadline relative to submission, in nanoseconds; 0 means none. When it expires
    /// first, the operation completes with `error.TimedOut` (a cancel gives
    /// `error.Canceled` instead).
    timeout_ns: u64 = 0,
    /// Chains the next operation queued to this one.
    link: Link = .none,
    /// `AR_OP_DRAIN`: start only after every operation queued before it has completed.
    drain: bool = false,
    /// `AR_OP_ASYNC`: issue from the kernel's worker pool instead of trying inline first.
    force_async: bool = false,
    /// `AR_OP_FIXED_FILE`: `fd` is an index into the ring's registered files.
    fixed_file: bool = false,
    /// `AR_OP_REARM` (multishot receive): when the buffer group runs dry, keep the
    /// operation (same id, no callback) and re-arm it when a buffer is recycled, instead
    /// of ending it with `error.NoBufferSpace`.
    rearm: bool = false,

    fn toC(options: OpOptions) capi.ar_op_opts {
        var flags: u32 = 0;
        switch (options.link) {
            .none => {},
            .soft => flags |= capi.AR_OP_LINK,
            .hard => flags |= capi.AR_OP_HARDLINK,
        }
        if (options.drain) flags |= capi.AR_OP_DRAIN;
        if (options.force_async) flags |= capi.AR_OP_ASYNC;
        if (options.fixed_file) flags |= capi.AR_OP_FIXED_FILE;
        if (options.rearm) flags |= capi.AR_OP_REARM;
        return .{ .timeout_ns = options.timeout_ns, .flags = flags, .reserved = 0 };
    }
};

/// One completion, handed to a callback by value.
pub const Completion = struct {
    /// The ring the operation was queued on: callbacks may queue more operations on it
    /// and `submit`, but not `run` (`error.Busy`) or `deinit` (a documented abort).
    ring: Ring,
    /// The id the queueing call returned.
    op: Op,
    /// The raw result: `>= 0` (bytes transferred, a new fd, a ready mask, 0), or `-errno`.
    res: i32,
    /// `AR_COMPLETION_*` flags; see `more` and `buffer`.
    flags: u32,
    /// With `AR_COMPLETION_BUFFER`: the provided buffer holding `res` bytes.
    buf: ?[*]u8,
    /// With `AR_COMPLETION_BUFFER`: the buffer's id within its group, for
    /// `BufGroup.recycle`.
    buf_id: u16,

    fn fromC(raw: *const capi.ar_completion) Completion {
        return .{
            .ring = .{ .handle = raw.ring.? },
            .op = .{ .id = raw.op },
            .res = raw.res,
            .flags = raw.flags,
            .buf = @ptrCast(raw.buf),
            .buf_id = raw.buf_id,
        };
    }

    /// The result as an error union: the count, fd or mask on success, the mapped
    /// `-errno` otherwise (`error.Canceled`, `error.TimedOut`...).
    pub fn result(completion: Completion) Error!u31 {
        if (completion.res < 0) return errorFromErrno(completion.res);
        return @intCast(completion.res);
    }

    /// True when more completions follow for this operation (multishot); the final one
    /// returns false. Every operation gets exactly one final completion.
    pub fn more(completion: Completion) bool {
        return completion.flags & capi.AR_COMPLETION_MORE != 0;
    }

    /// The provided buffer (from a `recvMultishot` buffer group) holding the data, or null
    /// when the completion carries none. Hand it back with `BufGroup.recycle(buf_id)`
    /// once done; it is valid until then.
    pub fn buffer(completion: Completion) ?[]u8 {
        if (completion.flags & capi.AR_COMPLETION_BUFFER == 0) return null;
        const len: usize = @intCast(@max(completion.res, 0));
        return completion.buf.?[0..len];
    }
};

/// The type of a completion callback for a context of type `Context`: a single-item
/// pointer (`*T`, `*const T`), an optional one, or `void` for none.
pub fn Callback(comptime Context: type) type {
    return fn (context: Context, completion: Completion) void;
}

/// Converts a typed context into the C `userdata`.
fn toUserdata(context: anytype) ?*anyopaque {
    const Context = @TypeOf(context);
    switch (@typeInfo(Context)) {
        .void => return null,
        .pointer => |info| {
            if (info.size != .one) @compileError("context must be a single-item pointer, got " ++ @typeName(Context));
            return @ptrCast(@constCast(context));
        },
        .optional => |info| {
            if (@typeInfo(info.child) != .pointer) @compileError("context must be a pointer, optional pointer or void, got " ++ @typeName(Context));
            return @ptrCast(@constCast(context));
        },
        else => @compileError("context must be a pointer, optional pointer or void, got " ++ @typeName(Context)),
    }
}

/// Converts the C `userdata` back into the typed context.
fn fromUserdata(comptime Context: type, userdata: ?*anyopaque) Context {
    return switch (@typeInfo(Context)) {
        .void => {},
        .pointer => @ptrCast(@alignCast(userdata.?)),
        .optional => @ptrCast(@alignCast(userdata)),
        else => comptime unreachable,
    };
}

/// The C completion callback that calls `callback` with its typed context: one
/// instantiation per (context type, callback) pair, generated at compile time.
fn completionTrampoline(comptime Context: type, comptime callback: Callback(Context)) capi.ar_op_cb {
    return &struct {
        fn call(userdata: ?*anyopaque, raw: [*c]const capi.ar_completion) callconv(.c) void {
            callback(fromUserdata(Context, userdata), Completion.fromC(raw));
        }
    }.call;
}

/// The C function for `Ring.post` that calls `func` with its typed context.
fn postTrampoline(comptime Context: type, comptime func: fn (Context) void) capi.ar_post_fn {
    return &struct {
        fn call(userdata: ?*anyopaque) callconv(.c) void {
            func(fromUserdata(Context, userdata));
        }
    }.call;
}

/// How `Ring.run` waits.
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

/// How `Ring.shutdown` shuts a socket down.
pub const ShutdownHow = enum {
    /// `SHUT_RD`: no more receptions.
    recv,
    /// `SHUT_WR`: no more transmissions (the peer reads end of stream).
    send,
    /// `SHUT_RDWR`: both.
    both,

    fn toC(how: ShutdownHow) c_int {
        return switch (how) {
            .recv => posix.SHUT.RD,
            .send => posix.SHUT.WR,
            .both => posix.SHUT.RDWR,
        };
    }
};

/// Flags for `Ring.renameat` (`renameat2(2)`).
pub const RenameFlags = packed struct(u32) {
    /// `RENAME_NOREPLACE`: fail with `error.PathAlreadyExists` rather than replace.
    noreplace: bool = false,
    /// `RENAME_EXCHANGE`: atomically exchange the two paths.
    exchange: bool = false,
    /// `RENAME_WHITEOUT`: leave a whiteout at the old path (overlay file systems).
    whiteout: bool = false,
    _: u29 = 0,
};

// ---------------------------------------------------------------------------------------
// Ring
// ---------------------------------------------------------------------------------------

/// A ring: one io_uring instance, its operations in flight and its notification fd.
/// A `Ring` is a handle (one pointer): copying it is free and every copy names the same
/// ring. One thread uses a ring at a time (a second one gets `error.Busy`), except that
/// with `Options.threadsafe` any thread may queue operations; `post`, `inflight` and
/// `notifyFd` work from any thread.
pub const Ring = struct {
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
        /// `AR_RING_THREADSAFE`: any thread may queue operations, and every
        /// `io_uring_enter` happens on a thread the ring owns for its whole life (the
        /// kernel cancels requests whose submitting thread exits, which hosts with
        /// elastic thread pools must avoid). Completions are still delivered by `run` on
        /// the host's thread. Cannot be combined with `sqpoll` or `single_thread`.
        threadsafe: bool = false,
    };

    /// Creates a ring. Fails with `error.PermissionDenied` (seccomp, the
    /// `kernel.io_uring_disabled` sysctl) or `error.SystemOutdated` (kernel before 5.19)
    /// when io_uring is unusable: `probe` says why.
    pub fn init(options: Options) Error!Ring {
        var config: capi.ar_ring_config = undefined;
        capi.ar_ring_config_default(&config);
        if (options.sq_entries != 0) config.sq_entries = options.sq_entries;
        if (options.cq_entries != 0) config.cq_entries = options.cq_entries;
        if (options.sqpoll) config.flags |= capi.AR_RING_SQPOLL;
        if (options.single_thread) config.flags |= capi.AR_RING_SINGLE_THREAD;
        if (options.threadsafe) config.flags |= capi.AR_RING_THREADSAFE;
        config.sqpoll_idle_ms = options.sqpoll_idle_ms;
        var handle: ?*capi.ar_ring = null;
        _ = try check(capi.ar_ring_new(&config, &handle));
        return .{ .handle = handle.? };
    }

    /// Frees the ring: cancels everything in flight, waits until the kernel is done with
    /// it, delivers every final callback (usually `error.Canceled`), runs posted work,
    /// then frees. Afterwards the kernel never touches caller memory again. Calling it
    /// from a callback or inside `run` is a programming error (the library aborts).
    pub fn deinit(ring: Ring) void {
        capi.ar_ring_free(ring.handle);
    }

    /// The notification fd: poll it for readability in a host loop (epoll, poll...),
    /// then call `run(.nowait)`, which drains it. Owned by the ring: do not close or read.
    pub fn notifyFd(ring: Ring) fd_t {
        return capi.ar_ring_notify_fd(ring.handle);
    }

    /// Hands every queued operation to the kernel in one batch; returns how many.
    /// `run` does this too: call it to start I/O before running.
    pub fn submit(ring: Ring) Error!u32 {
        return @intCast(try check(capi.ar_ring_submit(ring.handle)));
    }

    /// Submits queued operations and delivers completions by callback on this thread;
    /// returns how many callbacks ran. `error.Interrupted` means a signal arrived while
    /// blocking and nothing was delivered; `error.Busy`, that it was called from a
    /// callback or while another thread uses the ring.
    pub fn run(ring: Ring, mode: RunMode) Error!u32 {
        return @intCast(try check(capi.ar_ring_run(ring.handle, mode.toC())));
    }

    /// The number of operations queued and not yet finally completed.
    pub fn inflight(ring: Ring) u32 {
        return capi.ar_ring_inflight(ring.handle);
    }

    /// Queues `func(context)` to run on the ring's thread inside a later `run`, and wakes
    /// the ring (a blocked `run` returns; the notification fd becomes readable). Callable
    /// from any thread; `context` must stay valid until `func` runs. Work posted before
    /// `deinit` runs during it.
    pub fn post(ring: Ring, context: anytype, comptime func: fn (@TypeOf(context)) void) Error!void {
        _ = try check(capi.ar_ring_post(ring.handle, toUserdata(context), postTrampoline(@TypeOf(context), func)));
    }

    /// Registers buffers for `readFixed`/`writeFixed`, which name one by its index here.
    /// The buffers must stay valid until `unregisterBuffers` or `deinit`.
    pub fn registerBuffers(ring: Ring, buffers: []const posix.iovec) Error!void {
        _ = try check(capi.ar_ring_register_buffers(ring.handle, @ptrCast(buffers.ptr), try count32(buffers.len)));
    }

    /// Unregisters the ring's registered buffers (`error.NothingRegistered` if none).
    pub fn unregisterBuffers(ring: Ring) Error!void {
        _ = try check(capi.ar_ring_unregister_buffers(ring.handle));
    }

    /// Registers file descriptors (`-1` for an empty slot): with `OpOptions.fixed_file`
    /// an operation's `fd` is an index into this table.
    pub fn registerFiles(ring: Ring, fds: []const fd_t) Error!void {
        _ = try check(capi.ar_ring_register_files(ring.handle, fds.ptr, try count32(fds.len)));
    }

    /// Replaces registered files from slot `offset` (`-1` empties a slot); returns how
    /// many slots were updated.
    pub fn updateFiles(ring: Ring, offset: u32, fds: []const fd_t) Error!u32 {
        return @intCast(try check(capi.ar_ring_update_files(ring.handle, offset, fds.ptr, try count32(fds.len))));
    }

    /// Unregisters the ring's file table (`error.NothingRegistered` if none).
    pub fn unregisterFiles(ring: Ring) Error!void {
        _ = try check(capi.ar_ring_unregister_files(ring.handle));
    }

    // --- operations -----------------------------------------------------------------
    //
    // Each queues one operation and returns its id; `callback(context, completion)` runs
    // once per completion (exactly once finally), from inside `run`. They may be called
    // from the thread using the ring (also from inside a callback), or from any thread
    // with `Options.threadsafe`. Queueing never fails
    // because the submission queue is full; it fails with `error.InvalidArgument`,
    // `error.BadFileDescriptor`... for bad input, and then queues nothing.

    /// Queues a no-op; it completes with 0.
    pub fn nop(ring: Ring, options: OpOptions, context: anytype, comptime callback: Callback(@TypeOf(context))) Error!Op {
        const o = options.toC();
        return queued(capi.ar_op_nop(ring.handle, &o, toUserdata(context), completionTrampoline(@TypeOf(context), callback)));
    }

    /// Queues a read from `fd` at `offset` (null: the current position, as for pipes and
    /// sockets) into `buf`; the result is the byte count, 0 at end of file. `buf` must
    /// stay valid until the final callback.
    pub fn read(ring: Ring, fd: fd_t, buf: []u8, offset: ?u64, options: OpOptions, context: anytype, comptime callback: Callback(@TypeOf(context))) Error!Op {
        const o = options.toC();
        return queued(capi.ar_op_read(ring.handle, fd, buf.ptr, buf.len, offsetArg(offset), &o, toUserdata(context), completionTrampoline(@TypeOf(context), callback)));
    }

    /// Queues a write of `buf` to `fd` at `offset` (null: the current position); the
    /// result is the byte count. `buf` must stay valid until the final callback.
    pub fn write(ring: Ring, fd: fd_t, buf: []const u8, offset: ?u64, options: OpOptions, context: anytype, comptime callback: Callback(@TypeOf(context))) Error!Op {
        const o = options.toC();
        return queued(capi.ar_op_write(ring.handle, fd, buf.ptr, buf.len, offsetArg(offset), &o, toUserdata(context), completionTrampoline(@TypeOf(context), callback)));
    }

    /// Queues a scatter read (`preadv2`) into 1 to 1024 buffers. The iovec array is
    /// copied; the buffers it describes must stay valid until the final callback.
    pub fn readv(ring: Ring, fd: fd_t, iovecs: []const posix.iovec, offset: ?u64, options: OpOptions, context: anytype, comptime callback: Callback(@TypeOf(context))) Error!Op {
        const o = options.toC();
        return queued(capi.ar_op_readv(ring.handle, fd, @ptrCast(iovecs.ptr), iovecs.len, offsetArg(offset), &o, toUserdata(context), completionTrampoline(@TypeOf(context), callback)));
    }

    /// Queues a gather write (`pwritev2`) from 1 to 1024 buffers. The iovec array is
    /// copied; the buffers must stay valid until the final callback.
    pub fn writev(ring: Ring, fd: fd_t, iovecs: []const posix.iovec_const, offset: ?u64, options: OpOptions, context: anytype, comptime callback: Callback(@TypeOf(context))) Error!Op {
        const o = options.toC();
        return queued(capi.ar_op_writev(ring.handle, fd, @ptrCast(iovecs.ptr), iovecs.len, offsetArg(offset), &o, toUserdata(context), completionTrampoline(@TypeOf(context), callback)));
    }

    /// What `fsync` flushes.
    pub const SyncMode = enum {
        /// `fsync(2)`: data and metadata.
        all,
        /// `fdatasync(2)`: data only (`AR_FSYNC_DATASYNC`).
        data,
    };

    /// Queues `fsync(fd)` or, with `.data`, `fdatasync(fd)`.
    pub fn fsync(ring: Ring, fd: fd_t, mode: SyncMode, options: OpOptions, context: anytype, comptime callback: Callback(@TypeOf(context))) Error!Op {
        const o = options.toC();
        const flags: u32 = switch (mode) {
            .all => 0,
            .data => capi.AR_FSYNC_DATASYNC,
        };
        return queued(capi.ar_op_fsync(ring.handle, fd, flags, &o, toUserdata(context), completionTrampoline(@TypeOf(context), callback)));
    }

    /// Queues `fallocate(fd, mode, offset, len)`; `mode` is `FALLOC_FL_*` flags.
    pub fn fallocate(ring: Ring, fd: fd_t, mode: i32, offset: u64, len: u64, options: OpOptions, context: anytype, comptime callback: Callback(@TypeOf(context))) Error!Op {
        const o = options.toC();
        return queued(capi.ar_op_fallocate(ring.handle, fd, mode, offset, len, &o, toUserdata(context), completionTrampoline(@TypeOf(context), callback)));
    }

    /// Queues `openat(dir, path, flags, mode)`; the result is the new file descriptor.
    /// `dir` is a directory fd or `cwd`; `path` is copied.
    pub fn openat(ring: Ring, dir: fd_t, path: [:0]const u8, flags: posix.O, mode: posix.mode_t, options: OpOptions, context: anytype, comptime callback: Callback(@TypeOf(context))) Error!Op {
        const o = options.toC();
        const raw_flags: u32 = @bitCast(flags);
        return queued(capi.ar_op_openat(ring.handle, dir, path.ptr, @bitCast(raw_flags), mode, &o, toUserdata(context), completionTrampoline(@TypeOf(context), callback)));
    }

    /// Queues `close(fd)` (not for registered files).
    pub fn close(ring: Ring, fd: fd_t, options: OpOptions, context: anytype, comptime callback: Callback(@TypeOf(context))) Error!Op {
        const o = options.toC();
        return queued(capi.ar_op_close(ring.handle, fd, &o, toUserdata(context), completionTrampoline(@TypeOf(context), callback)));
    }

    /// Queues `statx(dir, path, flags, mask, result)`; `flags` are `AT_*` (`""` with
    /// `AT_EMPTY_PATH` for `dir` itself), `mask` says which fields to fill. `path` is copied; `result`
    /// must stay valid until the final callback.
    pub fn statx(ring: Ring, dir: fd_t, path: [:0]const u8, flags: u32, mask: linux.STATX, result: *linux.Statx, options: OpOptions, context: anytype, comptime callback: Callback(@TypeOf(context))) Error!Op {
        const o = options.toC();
        return queued(capi.ar_op_statx(ring.handle, dir, path.ptr, @bitCast(flags), @bitCast(mask), @ptrCast(result), &o, toUserdata(context), completionTrampoline(@TypeOf(context), callback)));
    }

    /// What `unlinkat` removes.
    pub const UnlinkKind = enum {
        /// A file (or symbolic link).
        file,
        /// An empty directory (`AT_REMOVEDIR`).
        dir,
    };

    /// Queues `unlinkat(dir, path, ...)`; `path` is copied.
    pub fn unlinkat(ring: Ring, dir: fd_t, path: [:0]const u8, kind: UnlinkKind, options: OpOptions, context: anytype, comptime callback: Callback(@TypeOf(context))) Error!Op {
        const o = options.toC();
        const flags: c_int = switch (kind) {
            .file => 0,
            .dir => posix.AT.REMOVEDIR,
        };
        return queued(capi.ar_op_unlinkat(ring.handle, dir, path.ptr, flags, &o, toUserdata(context), completionTrampoline(@TypeOf(context), callback)));
    }

    /// Queues `renameat2(old_dir, old_path, new_dir, new_path, flags)`; both paths are
    /// copied.
    pub fn renameat(ring: Ring, old_dir: fd_t, old_path: [:0]const u8, new_dir: fd_t, new_path: [:0]const u8, flags: RenameFlags, options: OpOptions, context: anytype, comptime callback: Callback(@TypeOf(context))) Error!Op {
        const o = options.toC();
        return queued(capi.ar_op_renameat(ring.handle, old_dir, old_path.ptr, new_dir, new_path.ptr, @bitCast(flags), &o, toUserdata(context), completionTrampoline(@TypeOf(context), callback)));
    }

    /// Queues `mkdirat(dir, path, mode)`; `path` is copied.
    pub fn mkdirat(ring: Ring, dir: fd_t, path: [:0]const u8, mode: posix.mode_t, options: OpOptions, context: anytype, comptime callback: Callback(@TypeOf(context))) Error!Op {
        const o = options.toC();
        return queued(capi.ar_op_mkdirat(ring.handle, dir, path.ptr, mode, &o, toUserdata(context), completionTrampoline(@TypeOf(context), callback)));
    }

    /// Queues a timer of `ns` nanoseconds; it completes with 0 when it fires, or
    /// `error.Canceled`.
    pub fn timeout(ring: Ring, ns: u64, options: OpOptions, context: anytype, comptime callback: Callback(@TypeOf(context))) Error!Op {
        const o = options.toC();
        return queued(capi.ar_op_timeout(ring.handle, ns, &o, toUserdata(context), completionTrampoline(@TypeOf(context), callback)));
    }

    /// Requests cancellation of `target`, which then completes with `error.Canceled`.
    /// The cancel itself completes with 0, `error.NotFound` (the target finished first)
    /// or `error.AlreadyInProgress` (it cannot be interrupted). Fails at once with
    /// `error.NotFound`, queueing nothing, when `target` is not live.
    pub fn cancel(ring: Ring, target: Op, options: OpOptions, context: anytype, comptime callback: Callback(@TypeOf(context))) Error!Op {
        const o = options.toC();
        return queued(capi.ar_op_cancel(ring.handle, target.id, &o, toUserdata(context), completionTrampoline(@TypeOf(context), callback)));
    }

    /// Which operations `cancelFd` cancels.
    pub const CancelScope = enum {
        /// The first one found; the result is 0.
        first,
        /// Every one (`AR_CANCEL_ALL`); the result is how many were cancelled.
        all,
    };

    /// Requests cancellation of operations on `fd`; completes with `error.NotFound` when
    /// none matched.
    pub fn cancelFd(ring: Ring, fd: fd_t, scope: CancelScope, options: OpOptions, context: anytype, comptime callback: Callback(@TypeOf(context))) Error!Op {
        const o = options.toC();
        const flags: u32 = switch (scope) {
            .first => 0,
            .all => capi.AR_CANCEL_ALL,
        };
        return queued(capi.ar_op_cancel_fd(ring.handle, fd, flags, &o, toUserdata(context), completionTrampoline(@TypeOf(context), callback)));
    }

    /// Queues `socket(domain, socket_type, protocol)` (`posix.AF.*`, `posix.SOCK.*`
    /// optionally or'ed with `SOCK.NONBLOCK`/`SOCK.CLOEXEC`); the result is the new fd.
    pub fn socket(ring: Ring, domain: u32, socket_type: u32, protocol: u32, options: OpOptions, context: anytype, comptime callback: Callback(@TypeOf(context))) Error!Op {
        const o = options.toC();
        return queued(capi.ar_op_socket(ring.handle, @bitCast(domain), @bitCast(socket_type), @bitCast(protocol), &o, toUserdata(context), completionTrampoline(@TypeOf(context), callback)));
    }

    /// Queues `connect(fd, address)`; completes with 0 once connected. The address
    /// (at most `sockaddr_storage` bytes) is copied.
    pub fn connect(ring: Ring, fd: fd_t, address: *const posix.sockaddr, address_len: posix.socklen_t, options: OpOptions, context: anytype, comptime callback: Callback(@TypeOf(context))) Error!Op {
        const o = options.toC();
        return queued(capi.ar_op_connect(ring.handle, fd, @ptrCast(address), address_len, &o, toUserdata(context), completionTrampoline(@TypeOf(context), callback)));
    }

    /// Queues `accept4(fd, NULL, NULL, flags)` on a listening socket (`flags`:
    /// `SOCK.NONBLOCK`, `SOCK.CLOEXEC`); the result is the new connection's fd.
    pub fn accept(ring: Ring, fd: fd_t, flags: u32, options: OpOptions, context: anytype, comptime callback: Callback(@TypeOf(context))) Error!Op {
        const o = options.toC();
        return queued(capi.ar_op_accept(ring.handle, fd, @bitCast(flags), &o, toUserdata(context), completionTrampoline(@TypeOf(context), callback)));
    }

    /// Queues a multishot accept: one completion per connection (the result is its fd,
    /// `more()` true) until an error, a cancel or teardown ends it with a final one.
    pub fn acceptMultishot(ring: Ring, fd: fd_t, flags: u32, options: OpOptions, context: anytype, comptime callback: Callback(@TypeOf(context))) Error!Op {
        const o = options.toC();
        return queued(capi.ar_op_accept_multishot(ring.handle, fd, @bitCast(flags), &o, toUserdata(context), completionTrampoline(@TypeOf(context), callback)));
    }

    /// Queues `send(fd, buf, flags)` (`posix.MSG.*`); the result is the byte count sent,
    /// possibly short. `buf` must stay valid until the final callback.
    pub fn send(ring: Ring, fd: fd_t, buf: []const u8, flags: u32, options: OpOptions, context: anytype, comptime callback: Callback(@TypeOf(context))) Error!Op {
        const o = options.toC();
        return queued(capi.ar_op_send(ring.handle, fd, buf.ptr, buf.len, @bitCast(flags), &o, toUserdata(context), completionTrampoline(@TypeOf(context), callback)));
    }

    /// Queues a zero-copy send (6.0): exactly one completion, delivered only after the
    /// kernel has released `buf`, which must stay valid and unmodified until then.
    pub fn sendZc(ring: Ring, fd: fd_t, buf: []const u8, flags: u32, options: OpOptions, context: anytype, comptime callback: Callback(@TypeOf(context))) Error!Op {
        const o = options.toC();
        return queued(capi.ar_op_send_zc(ring.handle, fd, buf.ptr, buf.len, @bitCast(flags), &o, toUserdata(context), completionTrampoline(@TypeOf(context), callback)));
    }

    /// Queues `recv(fd, buf, flags)`; the result is the byte count, 0 at end of stream.
    /// `buf` must stay valid until the final callback.
    pub fn recv(ring: Ring, fd: fd_t, buf: []u8, flags: u32, options: OpOptions, context: anytype, comptime callback: Callback(@TypeOf(context))) Error!Op {
        const o = options.toC();
        return queued(capi.ar_op_recv(ring.handle, fd, buf.ptr, buf.len, @bitCast(flags), &o, toUserdata(context), completionTrampoline(@TypeOf(context), callback)));
    }

    /// Queues a multishot receive into `group`: one completion per arrival carrying a
    /// buffer (`Completion.buffer`, recycle it with `group.recycle(buf_id)`) and
    /// `more()`, until end of stream (result 0), an error or a cancel ends it. When the
    /// group runs dry the kernel ends it with `error.NoBufferSpace`, unless
    /// `options.rearm` is set.
    pub fn recvMultishot(ring: Ring, fd: fd_t, group: BufGroup, flags: u32, options: OpOptions, context: anytype, comptime callback: Callback(@TypeOf(context))) Error!Op {
        const o = options.toC();
        return queued(capi.ar_op_recv_multishot(ring.handle, fd, group.handle, @bitCast(flags), &o, toUserdata(context), completionTrampoline(@TypeOf(context), callback)));
    }

    /// Queues `sendmsg(fd, msg, flags)`; the header, its iovec array, address and
    /// control data are copied; the data buffers must stay valid until the final
    /// callback.
    pub fn sendmsg(ring: Ring, fd: fd_t, msg: *const posix.msghdr_const, flags: u32, options: OpOptions, context: anytype, comptime callback: Callback(@TypeOf(context))) Error!Op {
        const o = options.toC();
        return queued(capi.ar_op_sendmsg(ring.handle, fd, @ptrCast(msg), flags, &o, toUserdata(context), completionTrampoline(@TypeOf(context), callback)));
    }

    /// Queues `recvmsg(fd, msg, flags)`; the kernel writes into `msg` and everything it
    /// points to, which must stay valid until the final callback.
    pub fn recvmsg(ring: Ring, fd: fd_t, msg: *posix.msghdr, flags: u32, options: OpOptions, context: anytype, comptime callback: Callback(@TypeOf(context))) Error!Op {
        const o = options.toC();
        return queued(capi.ar_op_recvmsg(ring.handle, fd, @ptrCast(msg), flags, &o, toUserdata(context), completionTrampoline(@TypeOf(context), callback)));
    }

    /// Queues `shutdown(fd, how)`.
    pub fn shutdown(ring: Ring, fd: fd_t, how: ShutdownHow, options: OpOptions, context: anytype, comptime callback: Callback(@TypeOf(context))) Error!Op {
        const o = options.toC();
        return queued(capi.ar_op_shutdown(ring.handle, fd, how.toC(), &o, toUserdata(context), completionTrampoline(@TypeOf(context), callback)));
    }

    /// Queues a one-shot poll of `fd` for `events` (`posix.POLL.*`); the result is the
    /// ready mask.
    pub fn poll(ring: Ring, fd: fd_t, events: u32, options: OpOptions, context: anytype, comptime callback: Callback(@TypeOf(context))) Error!Op {
        const o = options.toC();
        return queued(capi.ar_op_poll(ring.handle, fd, events, &o, toUserdata(context), completionTrampoline(@TypeOf(context), callback)));
    }

    /// Queues a multishot poll: a completion with `more()` each time `fd` becomes ready,
    /// until cancelled (final `error.Canceled`) or an error.
    pub fn pollMultishot(ring: Ring, fd: fd_t, events: u32, options: OpOptions, context: anytype, comptime callback: Callback(@TypeOf(context))) Error!Op {
        const o = options.toC();
        return queued(capi.ar_op_poll_multishot(ring.handle, fd, events, &o, toUserdata(context), completionTrampoline(@TypeOf(context), callback)));
    }

    /// Queues `splice(fd_in, off_in, fd_out, off_out, len, flags)`; offsets are null for
    /// "none" (required for pipes), `flags` are `SPLICE_F_*`. The result is the byte count.
    pub fn splice(ring: Ring, fd_in: fd_t, off_in: ?u63, fd_out: fd_t, off_out: ?u63, len: usize, flags: u32, options: OpOptions, context: anytype, comptime callback: Callback(@TypeOf(context))) Error!Op {
        const o = options.toC();
        const in: i64 = if (off_in) |off| off else -1;
        const out: i64 = if (off_out) |off| off else -1;
        return queued(capi.ar_op_splice(ring.handle, fd_in, in, fd_out, out, len, flags, &o, toUserdata(context), completionTrampoline(@TypeOf(context), callback)));
    }

    /// Queues a read into `buf`, a range inside registered buffer `buf_index` (see
    /// `registerBuffers`); a range outside it completes with `error.BadAddress`.
    pub fn readFixed(ring: Ring, fd: fd_t, buf: []u8, offset: ?u64, buf_index: u16, options: OpOptions, context: anytype, comptime callback: Callback(@TypeOf(context))) Error!Op {
        const o = options.toC();
        return queued(capi.ar_op_read_fixed(ring.handle, fd, buf.ptr, buf.len, offsetArg(offset), buf_index, &o, toUserdata(context), completionTrampoline(@TypeOf(context), callback)));
    }

    /// Queues a write from `buf`, a range inside registered buffer `buf_index` (see
    /// `registerBuffers`); a range outside it completes with `error.BadAddress`.
    pub fn writeFixed(ring: Ring, fd: fd_t, buf: []const u8, offset: ?u64, buf_index: u16, options: OpOptions, context: anytype, comptime callback: Callback(@TypeOf(context))) Error!Op {
        const o = options.toC();
        return queued(capi.ar_op_write_fixed(ring.handle, fd, buf.ptr, buf.len, offsetArg(offset), buf_index, &o, toUserdata(context), completionTrampoline(@TypeOf(context), callback)));
    }
};

/// `UINT64_MAX` is the C API's "current position".
fn offsetArg(offset: ?u64) u64 {
    return offset orelse std.math.maxInt(u64);
}

fn queued(rc: i64) Error!Op {
    return .{ .id = try check(rc) };
}

fn count32(len: usize) Error!u32 {
    return std.math.cast(u32, len) orelse error.InvalidArgument;
}

// ---------------------------------------------------------------------------------------
// Buffer groups
// ---------------------------------------------------------------------------------------

/// A buffer group (a provided-buffer ring) for `Ring.recvMultishot`: the kernel picks a
/// buffer when data arrives, so idle connections hold none. A handle, like `Ring`.
pub const BufGroup = struct {
    handle: *capi.ar_bufgroup,

    /// Creates a group of `count` buffers (a power of two, 1 to 32768) of `size` bytes
    /// each, registered with `ring`.
    pub fn init(ring: Ring, count: u32, size: u32) Error!BufGroup {
        var handle: ?*capi.ar_bufgroup = null;
        _ = try check(capi.ar_bufgroup_new(ring.handle, count, size, &handle));
        return .{ .handle = handle.? };
    }

    /// Frees the group, before or after its ring. Operations still using it are cancelled
    /// (each gets its final callback) and its memory is released after the last one;
    /// buffers still lent out become invalid.
    pub fn deinit(group: BufGroup) void {
        capi.ar_bufgroup_free(group.handle);
    }

    /// Hands buffer `buf_id` (from `Completion.buf_id`) back to the group, and re-arms any
    /// receive parked for lack of buffers. The buffer must not be used afterwards; a
    /// double recycle is `error.InvalidArgument`.
    pub fn recycle(group: BufGroup, buf_id: u16) Error!void {
        _ = try check(capi.ar_bufgroup_recycle(group.handle, buf_id));
    }
};

// ---------------------------------------------------------------------------------------
// Availability
// ---------------------------------------------------------------------------------------

/// Why io_uring is or is not usable (`probe`).
pub const ProbeReason = enum {
    /// io_uring is usable.
    ok,
    /// A seccomp filter blocks io_uring (as Docker's default profile does).
    seccomp,
    /// The `kernel.io_uring_disabled` sysctl forbids io_uring to this process.
    sysctl,
    /// The kernel lacks io_uring or a needed feature (5.19 or later is required).
    kernel,
    /// Out of memory, file descriptors or locked memory.
    resources,
    /// Anything else; see `Probe.message`.
    other,
};

/// The diagnosis of `probe`.
pub const Probe = struct {
    raw: capi.ar_probe,

    /// Null when io_uring is usable, else the error `Ring.init` fails with.
    pub fn err(p: *const Probe) ?Error {
        return if (p.raw.status < 0) errorFromErrno(p.raw.status) else null;
    }

    /// Why it is not usable.
    pub fn reason(p: *const Probe) ProbeReason {
        return switch (p.raw.reason) {
            capi.AR_PROBE_OK => .ok,
            capi.AR_PROBE_SECCOMP => .seccomp,
            capi.AR_PROBE_SYSCTL => .sysctl,
            capi.AR_PROBE_KERNEL => .kernel,
            capi.AR_PROBE_RESOURCES => .resources,
            else => .other,
        };
    }

    /// The running kernel's release (`uname -r`).
    pub fn kernelRelease(p: *const Probe) []const u8 {
        return std.mem.sliceTo(&p.raw.kernel_release, 0);
    }

    /// A sentence saying what is wrong and what to do about it.
    pub fn message(p: *const Probe) []const u8 {
        return std.mem.sliceTo(&p.raw.message, 0);
    }
};

/// Tells whether io_uring is usable here and, if not, why (creates and frees a small
/// ring).
pub fn probe() Probe {
    var p: Probe = .{ .raw = undefined };
    _ = capi.ar_ring_probe(&p.raw);
    return p;
}

test "errno mapping" {
    try std.testing.expectEqual(error.InvalidArgument, errorFromErrno(-capi.EINVAL));
    try std.testing.expectEqual(error.TimedOut, errorFromErrno(-capi.ETIMEDOUT));
    try std.testing.expectEqual(error.Canceled, errorFromErrno(capi.ECANCELED));
    try std.testing.expectEqual(error.Unexpected, errorFromErrno(-4095));
    try std.testing.expectEqual(error.Unexpected, errorFromErrno(std.math.minInt(i32)));
    try std.testing.expectEqual(@as(?u16, capi.EBUSY), errnoFromError(error.Busy));
    try std.testing.expectEqual(@as(?u16, null), errnoFromError(error.Unexpected));
    // Every named error maps back to the errno it came from.
    for (errno_table) |entry| try std.testing.expectEqual(entry.err, errorFromErrno(-@as(i32, entry.errno)));
}

test "options map to the C flags" {
    const o = (OpOptions{ .timeout_ns = 5, .link = .hard, .rearm = true }).toC();
    try std.testing.expectEqual(@as(u64, 5), o.timeout_ns);
    try std.testing.expectEqual(@as(u32, capi.AR_OP_HARDLINK | capi.AR_OP_REARM), o.flags);
}

test "header and library versions agree" {
    var buf: [32]u8 = undefined;
    const expected = try std.fmt.bufPrint(&buf, "{d}.{d}.{d}", .{ header_version.major, header_version.minor, header_version.patch });
    try std.testing.expectEqualStrings(expected, version());
}
