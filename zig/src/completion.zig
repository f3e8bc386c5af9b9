//! Operations as the caller sees them: their ids, their options, and the completions their
//! callbacks receive, typed by the kind of operation.

const std = @import("std");
const capi = @import("asyncring_c");
const errors = @import("errors.zig");
const Ring = @import("Ring.zig");

/// The id of a queued operation (`> 0`): unique among live operations of its ring and
/// generation-tagged, so cancelling a finished operation's id is harmless
/// (`error.OperationNotFound`). Non-exhaustive: any `i64` the C API returned is one.
pub const Op = enum(i64) {
    _,

    // The conversions go through bytes: 0.17 renamed `@intFromEnum`/`@enumFromInt`
    // (`zig fmt` rewrites them), and 0.16 does not `@bitCast` enums.

    /// The raw id, as the C API spells it.
    pub fn raw(op: Op) i64 {
        return std.mem.bytesToValue(i64, std.mem.asBytes(&op));
    }

    /// The id the C API returned.
    pub fn fromRaw(id: i64) Op {
        return std.mem.bytesToValue(Op, std.mem.asBytes(&id));
    }
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
    /// A deadline relative to submission (`std.Io.Duration`); null means none. When it
    /// expires first, the operation completes with `error.Timeout` (a cancel gives
    /// `error.Canceled`). A zero or negative duration expires at once.
    timeout: ?std.Io.Duration = null,
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
    /// of ending it with `error.BufferGroupExhausted`.
    rearm: bool = false,

    pub fn toC(options: OpOptions) capi.ar_op_opts {
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
        return .{ .timeout_ns = durationNs(options.timeout), .flags = flags, .reserved = 0 };
    }
};

/// A deadline in the C API's terms: 0 means none, so a duration that has already passed
/// becomes the shortest one, 1 ns.
fn durationNs(duration: ?std.Io.Duration) u64 {
    const d = duration orelse return 0;
    return std.math.cast(u64, @max(d.nanoseconds, 1)) orelse std.math.maxInt(u64);
}

/// The kinds of operation, by what their completions carry: each has its own error set
/// (`Error`) and success value (`Value`).
pub const Kind = enum {
    /// `nop`, `timeout` (the timer): nothing.
    nop,
    /// `cancel`: nothing.
    cancel,
    /// `cancelFd`: how many operations were cancelled.
    cancel_fd,
    /// `read`, `readv`, `readFixed`: the byte count, 0 at end of file.
    read,
    /// `write`, `writev`, `writeFixed`: the byte count.
    write,
    /// `fsync`, `fallocate`: nothing.
    sync,
    /// `openat`: the new file descriptor.
    open,
    /// `close`: nothing.
    close,
    /// `statx`: nothing (the result is in the caller's `Statx`).
    stat,
    /// `unlinkat`: nothing.
    delete,
    /// `renameat`: nothing.
    rename,
    /// `mkdirat`: nothing.
    make_dir,
    /// `socket`: the new socket.
    socket,
    /// `connect`: nothing.
    connect,
    /// `accept`, `acceptMultishot`: the new connection.
    accept,
    /// `send`, `sendZc`, `sendmsg`: the byte count.
    send,
    /// `recv`, `recvmsg`: the byte count, 0 at end of stream.
    receive,
    /// `recvMultishot`: the byte count, with the buffer holding them (`buffer`).
    receive_multishot,
    /// `shutdown`: nothing.
    shutdown,
    /// `poll`, `pollMultishot`: the ready events (`POLL.*`).
    poll,
    /// `splice`: the byte count.
    splice,

    /// The errors a completion of this kind may carry.
    pub fn Error(comptime kind: Kind) type {
        return switch (kind) {
            .nop => errors.NopError,
            .cancel, .cancel_fd => errors.CancelError,
            .read => errors.ReadError,
            .write => errors.WriteError,
            .sync => errors.SyncError,
            .open => errors.OpenError,
            .close => errors.CloseError,
            .stat => errors.StatError,
            .delete => errors.DeleteError,
            .rename => errors.RenameError,
            .make_dir => errors.MakeDirError,
            .socket => errors.SocketError,
            .connect => errors.ConnectError,
            .accept => errors.AcceptError,
            .send => errors.SendError,
            .receive => errors.ReceiveError,
            .receive_multishot => errors.MultishotReceiveError,
            .shutdown => errors.ShutdownError,
            .poll => errors.PollError,
            .splice => errors.SpliceError,
        };
    }

    /// What a successful completion of this kind carries.
    pub fn Value(comptime kind: Kind) type {
        return switch (kind) {
            .nop, .cancel, .sync, .close, .stat, .delete, .rename, .make_dir, .connect, .shutdown => void,
            .cancel_fd, .poll => u32,
            .open, .socket, .accept => std.posix.fd_t,
            .read, .write, .send, .receive, .receive_multishot, .splice => usize,
        };
    }
};

/// One completion of an operation of kind `kind`, handed to its callback by value.
/// `result()` gives the value or the error; the raw fields stay available.
pub fn Completion(comptime kind: Kind) type {
    return struct {
        const Self = @This();

        /// The errors `result` may return.
        pub const Error = kind.Error();
        /// What `result` returns on success.
        pub const Value = kind.Value();

        /// The ring the operation was queued on: callbacks may queue more operations on it
        /// and `submit`, but not `run` (`error.RingBusy`) or `deinit` (a documented abort).
        ring: Ring,
        /// The id the queueing call returned.
        op: Op,
        /// The raw result: `>= 0` (bytes, a new fd, a ready mask, 0), or `-errno`.
        res: i32,
        /// `AR_COMPLETION_*` flags; see `more`, `deadline` and `buffer`.
        flags: u32,
        /// With `AR_COMPLETION_BUFFER`: the provided buffer holding `res` bytes.
        buf: ?[*]u8,
        /// With `AR_COMPLETION_BUFFER`: the buffer's id within its group, for
        /// `BufGroup.recycle`.
        buf_id: u16,

        pub fn fromC(raw: *const capi.ar_completion) Self {
            return .{
                .ring = .{ .handle = raw.ring.? },
                .op = .fromRaw(raw.op),
                .res = raw.res,
                .flags = raw.flags,
                .buf = @ptrCast(raw.buf),
                .buf_id = raw.buf_id,
            };
        }

        /// The value on success, else the error (`error.Canceled`, `error.Timeout`, ...).
        pub fn result(completion: Self) Error!Value {
            if (completion.res < 0) return errors.fromErrno(Error, completion.res, completion.deadline());
            if (Value == void) return;
            return @intCast(completion.res);
        }

        /// True when more completions follow for this operation (multishot); the final
        /// one returns false. Every operation gets exactly one final completion.
        pub fn more(completion: Self) bool {
            return completion.flags & capi.AR_COMPLETION_MORE != 0;
        }

        /// True when the operation's own deadline (`OpOptions.timeout`) ended it.
        pub fn deadline(completion: Self) bool {
            return completion.flags & capi.AR_COMPLETION_DEADLINE != 0;
        }

        /// The provided buffer (from a `recvMultishot` buffer group) holding the data, or
        /// null when the completion carries none. Hand it back with
        /// `BufGroup.recycle(buf_id)` once done; it is valid until then.
        pub fn buffer(completion: Self) ?[]u8 {
            if (completion.flags & capi.AR_COMPLETION_BUFFER == 0) return null;
            const len: usize = @intCast(@max(completion.res, 0));
            return completion.buf.?[0..len];
        }
    };
}

/// The type of a completion callback of kind `kind` for a context of type `Context`: a
/// single-item pointer (`*T`, `*const T`), an optional one, or `void` for none.
pub fn Callback(comptime Context: type, comptime kind: Kind) type {
    return fn (context: Context, completion: Completion(kind)) void;
}

/// Converts a typed context into the C `userdata`.
pub fn toUserdata(context: anytype) ?*anyopaque {
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
pub fn fromUserdata(comptime Context: type, userdata: ?*anyopaque) Context {
    return switch (@typeInfo(Context)) {
        .void => {},
        .pointer => @ptrCast(@alignCast(userdata.?)),
        .optional => @ptrCast(@alignCast(userdata)),
        else => comptime unreachable,
    };
}

/// The C completion callback that calls `callback` with its typed context and completion:
/// one instantiation per (context type, kind, callback), generated at compile time.
pub fn trampoline(
    comptime Context: type,
    comptime kind: Kind,
    comptime callback: Callback(Context, kind),
) capi.ar_op_cb {
    return &struct {
        fn call(userdata: ?*anyopaque, raw: [*c]const capi.ar_completion) callconv(.c) void {
            callback(fromUserdata(Context, userdata), Completion(kind).fromC(raw));
        }
    }.call;
}

/// A queueing call's result: the id, or the error it was refused with.
pub fn queued(comptime Set: type, rc: i64) Set!Op {
    if (rc < 0) return errors.fromErrno(Set, @intCast(rc), false);
    return .fromRaw(rc);
}

/// `UINT64_MAX` is the C API's "current position".
pub fn offsetArg(offset: ?u64) u64 {
    return offset orelse std.math.maxInt(u64);
}

test "options map to the C flags" {
    const o = (OpOptions{ .timeout = .fromMilliseconds(5), .link = .hard, .rearm = true }).toC();
    try std.testing.expectEqual(@as(u64, 5_000_000), o.timeout_ns);
    try std.testing.expectEqual(@as(u32, capi.AR_OP_HARDLINK | capi.AR_OP_REARM), o.flags);
    try std.testing.expectEqual(@as(u64, 0), (OpOptions{}).toC().timeout_ns);
    try std.testing.expectEqual(@as(u64, 1), (OpOptions{ .timeout = .zero }).toC().timeout_ns);
}

test "a completion's result is typed by its kind" {
    const Read = Completion(.read);
    var raw: capi.ar_completion = std.mem.zeroes(capi.ar_completion);
    raw.ring = @ptrFromInt(0x1000);
    raw.op = 7;
    raw.res = 42;
    try std.testing.expectEqual(@as(usize, 42), try Read.fromC(&raw).result());
    try std.testing.expectEqual(Op.fromRaw(7), Read.fromC(&raw).op);
    raw.res = -capi.ETIMEDOUT;
    try std.testing.expectError(error.ConnectionTimedOut, Read.fromC(&raw).result());
    raw.flags = capi.AR_COMPLETION_DEADLINE;
    try std.testing.expectError(error.Timeout, Read.fromC(&raw).result());
    raw.res = -capi.ECANCELED;
    raw.flags = 0;
    try std.testing.expectError(error.Canceled, Completion(.nop).fromC(&raw).result());
}
