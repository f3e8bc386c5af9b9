//! Scenarios against the real library and kernel. Without io_uring (seccomp, the
//! `kernel.io_uring_disabled` sysctl, an old kernel) the rings run on the fallback backend,
//! unless the environment sets ASYNCRING_REQUIRE_URING (as CI does): then a ring on the
//! fallback fails the test. With ASYNCRING_BACKEND=fallback (zig/test.sh runs the suite
//! that way too) every ring runs on the fallback, and a ring that does not fails the test.

const std = @import("std");
const asyncring = @import("asyncring");
const Ring = asyncring.Ring;
const Completion = asyncring.Completion;
const testing = std.testing;
const posix = std.posix;

/// Bounds every network operation, so a broken kernel or library fails a test instead of
/// hanging it.
const net_deadline: std.Io.Duration = .fromSeconds(5);

fn openRing(options: Ring.Options) !Ring {
    const ring = Ring.init(options) catch |err| {
        const p = asyncring.probe();
        if (std.c.getenv("ASYNCRING_REQUIRE_URING") != null) {
            std.debug.print("io_uring unavailable and ASYNCRING_REQUIRE_URING is set: {s} ({s})\n", .{ @errorName(err), p.message() });
            return err;
        }
        std.debug.print("skipping: no ring: {s} ({s})\n", .{ @errorName(err), p.message() });
        return error.SkipZigTest;
    };
    // The suite runs on the backend it says it runs on (zig/test.sh runs it on both).
    const want = expectedBackend();
    if ((want == .fallback or std.c.getenv("ASYNCRING_REQUIRE_URING") != null) and
        ring.backend() != want and !options.force_fallback and !options.no_fallback)
    {
        std.debug.print("the ring runs on {t}, expected {t}\n", .{ ring.backend(), want });
        ring.deinit();
        return error.WrongBackend;
    }
    return ring;
}

/// The backend a ring made without `force_fallback` or `no_fallback` runs on where
/// io_uring works: the fallback under ASYNCRING_BACKEND=fallback, else io_uring.
fn expectedBackend() Ring.Backend {
    const env = std.c.getenv("ASYNCRING_BACKEND") orelse return .uring;
    return if (std.mem.eql(u8, std.mem.span(env), "fallback")) .fallback else .uring;
}

/// Records the completions of one operation of kind `kind`.
fn Outcome(comptime kind: asyncring.Kind) type {
    return struct {
        const Self = @This();
        const C = asyncring.Completion(kind);

        /// The final completion, once it arrived.
        final: ?C = null,
        /// Completions with `more()` before the final one.
        more: u32 = 0,

        fn record(outcome: *Self, completion: C) void {
            if (completion.more()) {
                outcome.more += 1;
            } else {
                std.debug.assert(outcome.final == null); // exactly one final completion
                outcome.final = completion;
            }
        }

        /// Runs the ring until the final completion, and returns its result.
        fn wait(outcome: *Self, ring: Ring) (asyncring.RunError || C.Error)!C.Value {
            while (outcome.final == null) _ = try ring.run(.once);
            return outcome.result();
        }

        fn result(outcome: *const Self) C.Error!C.Value {
            return outcome.final.?.result();
        }
    };
}

fn pipe() ![2]posix.fd_t {
    var fds: [2]posix.fd_t = undefined;
    if (std.c.pipe2(&fds, .{ .CLOEXEC = true }) != 0) return error.PipeFailed;
    return fds;
}

fn closeFds(fds: []const posix.fd_t) void {
    for (fds) |fd| _ = std.c.close(fd);
}

test "file round trip in a temporary directory: openat, write, fsync, read, statx, close" {
    const ring = try openRing(.{});
    defer ring.deinit();
    var tmp = testing.tmpDir(.{});
    defer tmp.cleanup();
    const dir = tmp.dir.handle;

    var open: Outcome(.open) = .{};
    _ = try ring.openat(dir, "data.bin", .{ .ACCMODE = .RDWR, .CREAT = true, .TRUNC = true, .CLOEXEC = true }, 0o644, .{}, &open, Outcome(.open).record);
    const fd = try open.wait(ring);

    const message = "hello from zig, through io_uring\n";
    var wrote: Outcome(.write) = .{};
    _ = try ring.write(fd, message, 0, .{}, &wrote, Outcome(.write).record);
    try testing.expectEqual(message.len, try wrote.wait(ring));

    var synced: Outcome(.sync) = .{};
    _ = try ring.fsync(fd, .data, .{}, &synced, Outcome(.sync).record);
    try synced.wait(ring);

    var buf: [64]u8 = undefined;
    var got: Outcome(.read) = .{};
    _ = try ring.read(fd, &buf, 0, .{}, &got, Outcome(.read).record);
    const n = try got.wait(ring);
    try testing.expectEqualStrings(message, buf[0..n]);

    var stx: std.os.linux.Statx = undefined;
    var stat: Outcome(.stat) = .{};
    _ = try ring.statx(dir, "data.bin", 0, .{ .SIZE = true }, &stx, .{}, &stat, Outcome(.stat).record);
    try stat.wait(ring);
    try testing.expectEqual(@as(u64, message.len), stx.size);

    // A missing file is std's FileNotFound, from the open family's own error set.
    var missing: Outcome(.open) = .{};
    _ = try ring.openat(dir, "missing.bin", .{ .CLOEXEC = true }, 0, .{}, &missing, Outcome(.open).record);
    try testing.expectError(error.FileNotFound, missing.wait(ring));

    var closed: Outcome(.close) = .{};
    _ = try ring.close(fd, .{}, &closed, Outcome(.close).record);
    try closed.wait(ring);
}

test "backend: ASYNCRING_BACKEND, force_fallback and no_fallback choose it" {
    const p = asyncring.probe();
    const uring_usable = p.err() == null;

    // A default ring: io_uring where it works, unless the environment forces the fallback.
    const ring = try Ring.init(.{});
    defer ring.deinit();
    const want: Ring.Backend = if (uring_usable) expectedBackend() else .fallback;
    try testing.expectEqual(want, ring.backend());

    // Forced onto the fallback, whatever the environment; it completes operations too.
    const forced = try Ring.init(.{ .force_fallback = true, .single_thread = true });
    defer forced.deinit();
    try testing.expectEqual(Ring.Backend.fallback, forced.backend());
    var done: Outcome(.nop) = .{};
    _ = try forced.nop(.{}, &done, Outcome(.nop).record);
    try done.wait(forced);

    // io_uring or nothing, whatever the environment.
    if (Ring.init(.{ .no_fallback = true })) |strict| {
        defer strict.deinit();
        try testing.expect(uring_usable);
        try testing.expectEqual(Ring.Backend.uring, strict.backend());
    } else |err| {
        try testing.expect(!uring_usable);
        try testing.expectEqual(p.err().?, err);
    }

    try testing.expectError(error.ArgumentsInvalid, Ring.init(.{ .no_fallback = true, .force_fallback = true }));
}

test "readv and writev gather and scatter" {
    const ring = try openRing(.{});
    defer ring.deinit();
    var tmp = testing.tmpDir(.{});
    defer tmp.cleanup();

    var open: Outcome(.open) = .{};
    _ = try ring.openat(tmp.dir.handle, "v.bin", .{ .ACCMODE = .RDWR, .CREAT = true, .CLOEXEC = true }, 0o600, .{}, &open, Outcome(.open).record);
    const fd = try open.wait(ring);
    defer closeFds(&.{fd});

    const out = [_]posix.iovec_const{
        .{ .base = "abc", .len = 3 },
        .{ .base = "defgh", .len = 5 },
    };
    var wrote: Outcome(.write) = .{};
    _ = try ring.writev(fd, &out, 0, .{}, &wrote, Outcome(.write).record);
    try testing.expectEqual(@as(usize, 8), try wrote.wait(ring));

    var a: [2]u8 = undefined;
    var b: [6]u8 = undefined;
    const in = [_]posix.iovec{ .{ .base = &a, .len = a.len }, .{ .base = &b, .len = b.len } };
    var got: Outcome(.read) = .{};
    _ = try ring.readv(fd, &in, 0, .{}, &got, Outcome(.read).record);
    try testing.expectEqual(@as(usize, 8), try got.wait(ring));
    try testing.expectEqualStrings("ab", &a);
    try testing.expectEqualStrings("cdefgh", &b);
}

test "directories: mkdirat, renameat, unlinkat, each with its own error set" {
    const ring = try openRing(.{});
    defer ring.deinit();
    var tmp = testing.tmpDir(.{});
    defer tmp.cleanup();
    const dir = tmp.dir.handle;

    var made: Outcome(.make_dir) = .{};
    _ = try ring.mkdirat(dir, "sub", 0o755, .{}, &made, Outcome(.make_dir).record);
    try made.wait(ring);

    var again: Outcome(.make_dir) = .{};
    _ = try ring.mkdirat(dir, "sub", 0o755, .{}, &again, Outcome(.make_dir).record);
    try testing.expectError(error.PathAlreadyExists, again.wait(ring));

    var other: Outcome(.make_dir) = .{};
    _ = try ring.mkdirat(dir, "other", 0o755, .{}, &other, Outcome(.make_dir).record);
    try other.wait(ring);
    var clash: Outcome(.rename) = .{};
    _ = try ring.renameat(dir, "sub", dir, "other", .{ .noreplace = true }, .{}, &clash, Outcome(.rename).record);
    try testing.expectError(error.PathAlreadyExists, clash.wait(ring));

    var renamed: Outcome(.rename) = .{};
    _ = try ring.renameat(dir, "sub", dir, "moved", .{ .noreplace = true }, .{}, &renamed, Outcome(.rename).record);
    try renamed.wait(ring);

    var removed: Outcome(.delete) = .{};
    _ = try ring.unlinkat(dir, "moved", .dir, .{}, &removed, Outcome(.delete).record);
    try removed.wait(ring);

    var gone: Outcome(.delete) = .{};
    _ = try ring.unlinkat(dir, "moved", .dir, .{}, &gone, Outcome(.delete).record);
    try testing.expectError(error.FileNotFound, gone.wait(ring));
}

test "timers fire in order, and linked chains run in sequence" {
    const ring = try openRing(.{});
    defer ring.deinit();

    const Order = struct {
        seen: [3]u8 = undefined,
        len: usize = 0,

        fn push(order: *@This(), tag: u8) void {
            order.seen[order.len] = tag;
            order.len += 1;
        }
        fn slow(order: *@This(), completion: asyncring.Completion(.nop)) void {
            completion.result() catch unreachable;
            order.push('s');
        }
        fn fast(order: *@This(), completion: asyncring.Completion(.nop)) void {
            completion.result() catch unreachable;
            order.push('f');
        }
        fn linked(order: *@This(), completion: asyncring.Completion(.nop)) void {
            completion.result() catch unreachable;
            order.push('l');
        }
    };
    var order: Order = .{};
    _ = try ring.timeout(.fromMilliseconds(30), .{}, &order, Order.slow);
    // The nop starts only once the short timer has fired. A timer that fires counts as a
    // failure for the kernel's links (-ETIME), so only a hard link carries the chain on.
    _ = try ring.timeout(.fromMilliseconds(1), .{ .link = .hard }, &order, Order.fast);
    _ = try ring.nop(.{}, &order, Order.linked);
    try testing.expectEqual(@as(u32, 3), ring.inflight());
    _ = try ring.run(.until_done);
    try testing.expectEqualStrings("fls", order.seen[0..order.len]);
    try testing.expectEqual(@as(u32, 0), ring.inflight());

    // A soft link: when the first operation fails, the rest of the chain is cancelled.
    const fds = try pipe();
    defer closeFds(&fds);
    var buf: [4]u8 = undefined;
    var failed: Outcome(.read) = .{};
    var skipped: Outcome(.nop) = .{};
    _ = try ring.read(fds[1], &buf, null, .{ .link = .soft }, &failed, Outcome(.read).record); // the write end
    _ = try ring.nop(.{}, &skipped, Outcome(.nop).record);
    try testing.expectError(error.NotOpenForReading, failed.wait(ring));
    try testing.expectError(error.Canceled, skipped.wait(ring));
}

test "a deadline completes with error.Timeout, a cancel with error.Canceled" {
    const ring = try openRing(.{});
    defer ring.deinit();
    const fds = try pipe();
    defer closeFds(&fds);
    var buf: [16]u8 = undefined;

    var read: Outcome(.read) = .{};
    const id = try ring.read(fds[0], &buf, null, .{}, &read, Outcome(.read).record);
    _ = try ring.submit();
    var cancel: Outcome(.cancel) = .{};
    _ = try ring.cancel(id, .{}, &cancel, Outcome(.cancel).record);
    try testing.expectError(error.Canceled, read.wait(ring));
    try cancel.wait(ring);
    try testing.expect(!read.final.?.deadline());

    // The id is stale now: cancelling it again is refused at once and queues nothing.
    try testing.expectError(error.OperationNotFound, ring.cancel(id, .{}, &cancel, Outcome(.cancel).record));
    try testing.expectEqual(@as(u32, 0), ring.inflight());

    // Nothing is ever written to the pipe: only the deadline can end this read.
    var deadline: Outcome(.read) = .{};
    _ = try ring.read(fds[0], &buf, null, .{ .timeout = .fromMilliseconds(10) }, &deadline, Outcome(.read).record);
    try testing.expectError(error.Timeout, deadline.wait(ring));
    try testing.expect(deadline.final.?.deadline()); // AR_COMPLETION_DEADLINE
    try testing.expectEqual(-@as(i32, asyncring.capi.ETIMEDOUT), deadline.final.?.res);
}

test "cancelFd cancels every operation on a descriptor" {
    const ring = try openRing(.{});
    defer ring.deinit();
    const fds = try pipe();
    defer closeFds(&fds);
    var bufs: [3][8]u8 = undefined;
    var reads: [3]Outcome(.read) = @splat(.{});
    for (&reads, &bufs) |*outcome, *buf| _ = try ring.read(fds[0], buf, null, .{}, outcome, Outcome(.read).record);
    _ = try ring.submit();

    var cancel: Outcome(.cancel_fd) = .{};
    _ = try ring.cancelFd(fds[0], .all, .{}, &cancel, Outcome(.cancel_fd).record);
    try testing.expectEqual(@as(u32, 3), try cancel.wait(ring));
    for (&reads) |*outcome| try testing.expectError(error.Canceled, outcome.wait(ring));

    // Nothing left on the descriptor: `.all` cancels none, `.first` finds none.
    var none: Outcome(.cancel_fd) = .{};
    _ = try ring.cancelFd(fds[0], .all, .{}, &none, Outcome(.cancel_fd).record);
    try testing.expectEqual(@as(u32, 0), try none.wait(ring));
    var first: Outcome(.cancel_fd) = .{};
    _ = try ring.cancelFd(fds[0], .first, .{}, &first, Outcome(.cancel_fd).record);
    try testing.expectError(error.OperationNotFound, first.wait(ring));
}

test "bad input is an error at the call and queues nothing" {
    const ring = try openRing(.{});
    defer ring.deinit();
    var buf: [8]u8 = undefined;
    var read: Outcome(.read) = .{};
    var cancel: Outcome(.cancel) = .{};

    try testing.expectError(error.FileDescriptorInvalid, ring.read(-1, &buf, null, .{}, &read, Outcome(.read).record));
    try testing.expectError(error.OperationNotFound, ring.cancel(.fromRaw(0x7fff_0000_1234), .{}, &cancel, Outcome(.cancel).record));
    try testing.expectError(error.ArgumentsInvalid, asyncring.BufGroup.init(ring, 3, 64)); // not a power of two
    try testing.expectError(error.ArgumentsInvalid, Ring.init(.{ .sq_entries = 64, .cq_entries = 8 }));
    try testing.expectEqual(@as(u32, 0), ring.inflight());
    try testing.expect(read.final == null and cancel.final == null);
}

test "run from inside a callback is error.RingBusy" {
    const ring = try openRing(.{});
    defer ring.deinit();
    const Probe = struct {
        nested: ?asyncring.RunError!u32 = null,
        fn onNop(probe: *@This(), completion: asyncring.Completion(.nop)) void {
            probe.nested = completion.ring.run(.nowait);
        }
    };
    var probe: Probe = .{};
    _ = try ring.nop(.{}, &probe, Probe.onNop);
    _ = try ring.run(.until_done);
    try testing.expectError(error.RingBusy, probe.nested.?);
}

test "host loop: poll the notification fd, then run(.nowait)" {
    const ring = try openRing(.{});
    defer ring.deinit();

    var fired: Outcome(.nop) = .{};
    _ = try ring.timeout(.fromMilliseconds(5), .{}, &fired, Outcome(.nop).record);
    _ = try ring.submit();
    // Nothing is ready yet: a non-blocking run delivers nothing.
    try testing.expectEqual(@as(u32, 0), try ring.run(.nowait));

    var pfd = [_]posix.pollfd{.{ .fd = ring.notifyFd(), .events = posix.POLL.IN, .revents = 0 }};
    var waited_ms: u32 = 0;
    while (fired.final == null) : (waited_ms += 1) {
        try testing.expect(waited_ms < 5000);
        // Completions arrive as task work, which may interrupt poll: retry on EINTR.
        const n = std.c.poll(&pfd, 1, 1);
        if (n < 0) continue;
        if (n == 1) _ = try ring.run(.nowait);
    }
    try fired.result();
}

test "post from another thread wakes a blocked run" {
    const ring = try openRing(.{});
    defer ring.deinit();

    const Flag = struct {
        hits: u32 = 0,
        fn hit(flag: *@This()) void {
            flag.hits += 1;
        }
        fn poster(r: Ring, flag: *@This()) void {
            r.post(flag, hit) catch unreachable;
        }
    };
    var flag: Flag = .{};
    const thread = try std.Thread.spawn(.{}, Flag.poster, .{ ring, &flag });
    while (flag.hits == 0) _ = try ring.run(.once);
    thread.join();
    try testing.expectEqual(@as(u32, 1), flag.hits);
}

test "beside another program: a ring on its own thread, fed by post" {
    // The pattern of zig/examples/beside_std_io.zig: the ring's thread loops in
    // run(.once) (waiting on the notification fd while idle); other threads post
    // requests, which queue operations on the ring's thread; completions report back
    // through an atomic.
    const ring = try openRing(.{});
    defer ring.deinit();

    const Shared = struct {
        ring: Ring,
        stop: std.atomic.Value(bool) = .init(false),
        fds: [2]posix.fd_t,
        buf: [16]u8 = undefined,
        /// The read's byte count once its callback ran, else -1.
        got: std.atomic.Value(i64) = .init(-1),

        fn loop(shared: *@This()) void {
            var pfd = [_]posix.pollfd{.{ .fd = shared.ring.notifyFd(), .events = posix.POLL.IN, .revents = 0 }};
            while (!shared.stop.load(.acquire)) {
                // Idle (run(.once) would return at once): wait until a post arrives.
                if (shared.ring.inflight() == 0) _ = std.c.poll(&pfd, 1, -1);
                _ = shared.ring.run(.once) catch |err| switch (err) {
                    error.SignalInterrupt => continue,
                    else => std.debug.panic("run: {s}", .{@errorName(err)}),
                };
            }
        }
        /// Runs on the ring's thread.
        fn startRead(shared: *@This()) void {
            _ = shared.ring.read(shared.fds[0], &shared.buf, null, .{ .timeout = net_deadline }, shared, onRead) catch unreachable;
        }
        fn onRead(shared: *@This(), completion: asyncring.Completion(.read)) void {
            const n = completion.result() catch 0;
            shared.got.store(@intCast(n), .release);
        }
        fn wake(_: *@This()) void {}
    };
    const fds = try pipe();
    defer closeFds(&fds);
    var shared: Shared = .{ .ring = ring, .fds = fds };
    const thread = try std.Thread.spawn(.{}, Shared.loop, .{&shared});

    try ring.post(&shared, Shared.startRead);
    try testing.expectEqual(@as(isize, 5), std.c.write(fds[1], "hello", 5));
    var waited_ms: u32 = 0;
    while (shared.got.load(.acquire) < 0) : (waited_ms += 1) {
        try testing.expect(waited_ms < 5000);
        var idle = [_]posix.pollfd{.{ .fd = -1, .events = 0, .revents = 0 }};
        _ = std.c.poll(&idle, 1, 1); // 1 ms
    }
    shared.stop.store(true, .release);
    try ring.post(&shared, Shared.wake); // wakes the blocked run, which then sees `stop`
    thread.join();
    try testing.expectEqual(@as(i64, 5), shared.got.load(.acquire));
    try testing.expectEqualStrings("hello", shared.buf[0..5]);
}

test "registered buffers and files: writeFixed, readFixed, a fixed-file op" {
    const ring = try openRing(.{});
    defer ring.deinit();
    var tmp = testing.tmpDir(.{});
    defer tmp.cleanup();

    var open: Outcome(.open) = .{};
    _ = try ring.openat(tmp.dir.handle, "fixed.bin", .{ .ACCMODE = .RDWR, .CREAT = true, .CLOEXEC = true }, 0o600, .{}, &open, Outcome(.open).record);
    const fd = try open.wait(ring);
    defer closeFds(&.{fd});

    var region: [2][16]u8 = undefined;
    @memcpy(&region[0], "registered bytes");
    try ring.registerBuffers(&.{
        .{ .base = &region[0], .len = region[0].len },
        .{ .base = &region[1], .len = region[1].len },
    });
    try ring.registerFiles(&.{ -1, fd });
    try testing.expectEqual(@as(u32, 1), try ring.updateFiles(0, &.{-1}));

    // Through the file table: `fd` is slot 1.
    var wrote: Outcome(.write) = .{};
    _ = try ring.writeFixed(1, &region[0], 0, 0, .{ .fixed_file = true }, &wrote, Outcome(.write).record);
    try testing.expectEqual(@as(usize, 16), try wrote.wait(ring));
    var got: Outcome(.read) = .{};
    _ = try ring.readFixed(fd, &region[1], 0, 1, .{}, &got, Outcome(.read).record);
    try testing.expectEqual(@as(usize, 16), try got.wait(ring));
    try testing.expectEqualStrings("registered bytes", &region[1]);

    try ring.unregisterFiles();
    try ring.unregisterBuffers();
    try testing.expectError(error.NothingRegistered, ring.unregisterBuffers());
}

test "poll a pipe, then splice it into another" {
    const ring = try openRing(.{});
    defer ring.deinit();
    const from = try pipe();
    defer closeFds(&from);
    const to = try pipe();
    defer closeFds(&to);

    var ready: Outcome(.poll) = .{};
    _ = try ring.poll(from[0], posix.POLL.IN, .{ .timeout = net_deadline }, &ready, Outcome(.poll).record);
    _ = try ring.submit();
    try testing.expectEqual(@as(isize, 5), std.c.write(from[1], "splat", 5));
    try testing.expect((try ready.wait(ring)) & posix.POLL.IN != 0);

    var spliced: Outcome(.splice) = .{};
    _ = try ring.splice(from[0], null, to[1], null, 5, 0, .{}, &spliced, Outcome(.splice).record);
    try testing.expectEqual(@as(usize, 5), try spliced.wait(ring));
    var buf: [5]u8 = undefined;
    try testing.expectEqual(@as(isize, 5), std.c.read(to[0], &buf, buf.len));
    try testing.expectEqualStrings("splat", &buf);
}

test "a threadsafe ring takes operations from any thread" {
    const ring = try openRing(.{ .threadsafe = true });
    defer ring.deinit();

    const Worker = struct {
        outcomes: [8]Outcome(.nop) = @splat(.{}),
        queued: std.atomic.Value(u32) = .init(0),

        fn work(r: Ring, worker: *@This()) void {
            for (&worker.outcomes) |*outcome| {
                _ = r.nop(.{}, outcome, Outcome(.nop).record) catch unreachable;
                _ = worker.queued.fetchAdd(1, .release);
            }
        }
    };
    var worker: Worker = .{};
    const thread = try std.Thread.spawn(.{}, Worker.work, .{ ring, &worker });
    thread.join();
    try testing.expectEqual(@as(u32, worker.outcomes.len), worker.queued.load(.acquire));
    for (&worker.outcomes) |*outcome| try outcome.wait(ring);
}

test "deinit delivers every final callback with error.Canceled" {
    const ring = try openRing(.{});
    var timers: [4]Outcome(.nop) = @splat(.{});
    for (&timers) |*outcome| _ = try ring.timeout(.fromSeconds(60), .{}, outcome, Outcome(.nop).record);
    _ = try ring.submit();
    ring.deinit();
    for (&timers) |*outcome| try testing.expectError(error.Canceled, outcome.result());
}

// --- networking, on 127.0.0.1 only ------------------------------------------------------

/// A listening TCP socket on 127.0.0.1 with a kernel-chosen port.
const Listener = struct {
    fd: posix.fd_t,
    address: std.Io.net.IpAddress,

    fn open() !Listener {
        const fd = std.c.socket(std.c.AF.INET, std.c.SOCK.STREAM | std.c.SOCK.CLOEXEC, 0);
        if (fd < 0) return error.SocketFailed;
        errdefer _ = std.c.close(fd);
        var address: std.c.sockaddr.in = .{ .port = 0, .addr = std.mem.nativeToBig(u32, 0x7f00_0001) };
        var len: std.c.socklen_t = @sizeOf(std.c.sockaddr.in);
        if (std.c.bind(fd, @ptrCast(&address), len) != 0) return error.BindFailed;
        if (std.c.listen(fd, 64) != 0) return error.ListenFailed;
        if (std.c.getsockname(fd, @ptrCast(&address), &len) != 0) return error.GetSockNameFailed;
        return .{ .fd = fd, .address = .{ .ip4 = .loopback(std.mem.bigToNative(u16, address.port)) } };
    }

    fn close(listener: Listener) void {
        _ = std.c.close(listener.fd);
    }
};

/// Opens a socket and connects it to `address`, through the ring.
fn connectTo(ring: Ring, address: *const std.Io.net.IpAddress) !posix.fd_t {
    var opened: Outcome(.socket) = .{};
    _ = try ring.socket(std.c.AF.INET, std.c.SOCK.STREAM | std.c.SOCK.CLOEXEC, 0, .{}, &opened, Outcome(.socket).record);
    const fd = try opened.wait(ring);
    errdefer closeFds(&.{fd});
    var connected: Outcome(.connect) = .{};
    _ = try ring.connect(fd, address, .{ .timeout = net_deadline }, &connected, Outcome(.connect).record);
    try connected.wait(ring);
    return fd;
}

test "connect to a closed port is ConnectionRefused, from the connect family" {
    const ring = try openRing(.{});
    defer ring.deinit();
    // A port that was listening a moment ago and is closed now: nothing accepts there.
    const listener = try Listener.open();
    const address = listener.address;
    listener.close();
    try testing.expectError(error.ConnectionRefused, connectTo(ring, &address));
}

test "echo round trip over 127.0.0.1: accept, connect, send, recv, shutdown" {
    const ring = try openRing(.{});
    defer ring.deinit();
    const listener = try Listener.open();
    defer listener.close();

    var accepted: Outcome(.accept) = .{};
    _ = try ring.accept(listener.fd, std.c.SOCK.CLOEXEC, .{ .timeout = net_deadline }, &accepted, Outcome(.accept).record);
    const client = try connectTo(ring, &listener.address);
    defer closeFds(&.{client});
    const server = try accepted.wait(ring);
    defer closeFds(&.{server});

    const ping = "ping over loopback";
    var sent: Outcome(.send) = .{};
    _ = try ring.send(client, ping, std.c.MSG.NOSIGNAL, .{ .timeout = net_deadline }, &sent, Outcome(.send).record);
    try testing.expectEqual(ping.len, try sent.wait(ring));

    // The server echoes what it receives.
    var at_server: [64]u8 = undefined;
    var received: Outcome(.receive) = .{};
    _ = try ring.recv(server, at_server[0..ping.len], std.c.MSG.WAITALL, .{ .timeout = net_deadline }, &received, Outcome(.receive).record);
    const got = try received.wait(ring);
    try testing.expectEqual(ping.len, got);
    var echoed: Outcome(.send) = .{};
    _ = try ring.send(server, at_server[0..got], std.c.MSG.NOSIGNAL, .{ .timeout = net_deadline }, &echoed, Outcome(.send).record);
    try testing.expectEqual(ping.len, try echoed.wait(ring));

    var at_client: [64]u8 = undefined;
    var back: Outcome(.receive) = .{};
    _ = try ring.recv(client, at_client[0..ping.len], std.c.MSG.WAITALL, .{ .timeout = net_deadline }, &back, Outcome(.receive).record);
    try testing.expectEqual(ping.len, try back.wait(ring));
    try testing.expectEqualStrings(ping, at_client[0..ping.len]);

    // Half-close (std.Io.net.ShutdownHow.send): the server's receive sees end of stream.
    var shut: Outcome(.shutdown) = .{};
    _ = try ring.shutdown(client, .send, .{}, &shut, Outcome(.shutdown).record);
    try shut.wait(ring);
    var eof: Outcome(.receive) = .{};
    _ = try ring.recv(server, &at_server, 0, .{ .timeout = net_deadline }, &eof, Outcome(.receive).record);
    try testing.expectEqual(@as(usize, 0), try eof.wait(ring));
}

test "multishot accept of several clients, multishot receive from a buffer group" {
    const ring = try openRing(.{});
    defer ring.deinit();
    const listener = try Listener.open();
    defer listener.close();
    const group = try asyncring.BufGroup.init(ring, 8, 256);
    defer group.deinit();

    const clients_count = 4;
    const Server = struct {
        group: asyncring.BufGroup,
        conns: [clients_count]posix.fd_t = undefined,
        accepted: usize = 0,
        accept_final: ?asyncring.AcceptError!posix.fd_t = null,
        received: [clients_count]u8 = @splat(0),
        recv_ops: [clients_count]asyncring.Op = undefined,
        recv_final: [clients_count]?asyncring.MultishotReceiveError!usize = @splat(null),

        fn onAccept(server: *@This(), completion: asyncring.Completion(.accept)) void {
            if (!completion.more()) {
                server.accept_final = completion.result();
                return;
            }
            const fd = completion.result() catch unreachable;
            const index = server.accepted;
            server.conns[index] = fd;
            server.accepted += 1;
            server.recv_ops[index] = completion.ring.recvMultishot(fd, server.group, 0, .{ .rearm = true }, server, onRecv) catch unreachable;
        }

        fn onRecv(server: *@This(), completion: asyncring.Completion(.receive_multishot)) void {
            const index = std.mem.indexOfScalar(asyncring.Op, server.recv_ops[0..server.accepted], completion.op).?;
            if (completion.buffer()) |data| {
                // Each client sends one byte, its number; note which connection carried it.
                for (data) |byte| server.received[index] = byte;
                server.group.recycle(completion.buf_id) catch unreachable;
            }
            if (!completion.more()) server.recv_final[index] = completion.result();
        }
    };
    var server: Server = .{ .group = group };
    const accept_op = try ring.acceptMultishot(listener.fd, std.c.SOCK.CLOEXEC, .{}, &server, Server.onAccept);

    var clients: [clients_count]posix.fd_t = undefined;
    for (&clients, 0..) |*client, i| {
        client.* = try connectTo(ring, &listener.address);
        const byte: *const [1]u8 = &.{@intCast(i + 1)};
        var sent: Outcome(.send) = .{};
        _ = try ring.send(client.*, byte, std.c.MSG.NOSIGNAL, .{ .timeout = net_deadline }, &sent, Outcome(.send).record);
        try testing.expectEqual(@as(usize, 1), try sent.wait(ring));
    }
    defer closeFds(&clients);

    // Bounded: a timer ends the wait if the kernel never delivers.
    var guard: Outcome(.nop) = .{};
    const guard_op = try ring.timeout(net_deadline, .{}, &guard, Outcome(.nop).record);
    while (guard.final == null and (server.accepted < clients_count or std.mem.indexOfScalar(u8, &server.received, 0) != null))
        _ = try ring.run(.once);
    try testing.expect(guard.final == null);
    try testing.expectEqual(@as(usize, clients_count), server.accepted);
    var total: u32 = 0;
    for (server.received) |byte| total += byte;
    try testing.expectEqual(@as(u32, 1 + 2 + 3 + 4), total); // each client's byte, exactly once

    // Cancelling the accept ends it with a final completion; closing the clients ends
    // every receive with end of stream.
    var cancel: Outcome(.cancel) = .{};
    _ = try ring.cancel(accept_op, .{}, &cancel, Outcome(.cancel).record);
    var cancel_guard: Outcome(.cancel) = .{};
    _ = try ring.cancel(guard_op, .{}, &cancel_guard, Outcome(.cancel).record);
    closeFds(&clients);
    clients = @splat(-1);
    _ = try ring.run(.until_done);
    try testing.expectError(error.Canceled, server.accept_final.?);
    for (server.recv_final) |final| try testing.expectEqual(@as(usize, 0), try final.?);
    closeFds(server.conns[0..server.accepted]);
}
