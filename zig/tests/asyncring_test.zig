//! Scenarios against the real library and kernel. Without io_uring (seccomp, the
//! `kernel.io_uring_disabled` sysctl, an old kernel) every test skips, unless the
//! environment sets ASYNCRING_REQUIRE_URING (as CI does): then they fail.

const std = @import("std");
const asyncring = @import("asyncring");
const Ring = asyncring.Ring;
const Completion = asyncring.Completion;
const testing = std.testing;
const posix = std.posix;

/// Bounds every network operation, so a broken kernel or library fails a test instead of
/// hanging it.
const net_deadline_ns = 5 * std.time.ns_per_s;

fn openRing(options: Ring.Options) !Ring {
    return Ring.init(options) catch |err| {
        const p = asyncring.probe();
        if (std.c.getenv("ASYNCRING_REQUIRE_URING") != null) {
            std.debug.print("io_uring unavailable and ASYNCRING_REQUIRE_URING is set: {s} ({s})\n", .{ @errorName(err), p.message() });
            return err;
        }
        std.debug.print("skipping: io_uring unavailable: {s} ({s})\n", .{ @errorName(err), p.message() });
        return error.SkipZigTest;
    };
}

/// Records the completions of one operation.
const Outcome = struct {
    /// The final completion's `res`, once it arrived.
    res: ?i32 = null,
    /// Completions with `more()` before the final one.
    more: u32 = 0,

    fn record(outcome: *Outcome, completion: Completion) void {
        if (completion.more()) {
            outcome.more += 1;
        } else {
            std.debug.assert(outcome.res == null); // exactly one final completion
            outcome.res = completion.res;
        }
    }

    /// Runs the ring until the final completion, and returns its result.
    fn wait(outcome: *Outcome, ring: Ring) asyncring.Error!u31 {
        while (outcome.res == null) _ = try ring.run(.once);
        return outcome.result();
    }

    fn result(outcome: *const Outcome) asyncring.Error!u31 {
        const res = outcome.res.?;
        if (res < 0) return asyncring.errorFromErrno(res);
        return @intCast(res);
    }
};

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

    var open: Outcome = .{};
    _ = try ring.openat(dir, "data.bin", .{ .ACCMODE = .RDWR, .CREAT = true, .TRUNC = true, .CLOEXEC = true }, 0o644, .{}, &open, Outcome.record);
    const fd: posix.fd_t = try open.wait(ring);

    const message = "hello from zig, through io_uring\n";
    var wrote: Outcome = .{};
    _ = try ring.write(fd, message, 0, .{}, &wrote, Outcome.record);
    try testing.expectEqual(@as(u31, message.len), try wrote.wait(ring));

    var synced: Outcome = .{};
    _ = try ring.fsync(fd, .data, .{}, &synced, Outcome.record);
    _ = try synced.wait(ring);

    var buf: [64]u8 = undefined;
    var got: Outcome = .{};
    _ = try ring.read(fd, &buf, 0, .{}, &got, Outcome.record);
    const n = try got.wait(ring);
    try testing.expectEqualStrings(message, buf[0..n]);

    var stx: std.os.linux.Statx = undefined;
    var stat: Outcome = .{};
    _ = try ring.statx(dir, "data.bin", 0, .{ .SIZE = true }, &stx, .{}, &stat, Outcome.record);
    _ = try stat.wait(ring);
    try testing.expectEqual(@as(u64, message.len), stx.size);

    var closed: Outcome = .{};
    _ = try ring.close(fd, .{}, &closed, Outcome.record);
    _ = try closed.wait(ring);
}

test "readv and writev gather and scatter" {
    const ring = try openRing(.{});
    defer ring.deinit();
    var tmp = testing.tmpDir(.{});
    defer tmp.cleanup();

    var open: Outcome = .{};
    _ = try ring.openat(tmp.dir.handle, "v.bin", .{ .ACCMODE = .RDWR, .CREAT = true, .CLOEXEC = true }, 0o600, .{}, &open, Outcome.record);
    const fd: posix.fd_t = try open.wait(ring);
    defer closeFds(&.{fd});

    const out = [_]posix.iovec_const{
        .{ .base = "abc", .len = 3 },
        .{ .base = "defgh", .len = 5 },
    };
    var wrote: Outcome = .{};
    _ = try ring.writev(fd, &out, 0, .{}, &wrote, Outcome.record);
    try testing.expectEqual(@as(u31, 8), try wrote.wait(ring));

    var a: [2]u8 = undefined;
    var b: [6]u8 = undefined;
    const in = [_]posix.iovec{ .{ .base = &a, .len = a.len }, .{ .base = &b, .len = b.len } };
    var got: Outcome = .{};
    _ = try ring.readv(fd, &in, 0, .{}, &got, Outcome.record);
    try testing.expectEqual(@as(u31, 8), try got.wait(ring));
    try testing.expectEqualStrings("ab", &a);
    try testing.expectEqualStrings("cdefgh", &b);
}

test "directories: mkdirat, renameat, unlinkat" {
    const ring = try openRing(.{});
    defer ring.deinit();
    var tmp = testing.tmpDir(.{});
    defer tmp.cleanup();
    const dir = tmp.dir.handle;

    var made: Outcome = .{};
    _ = try ring.mkdirat(dir, "sub", 0o755, .{}, &made, Outcome.record);
    _ = try made.wait(ring);

    var again: Outcome = .{};
    _ = try ring.mkdirat(dir, "sub", 0o755, .{}, &again, Outcome.record);
    try testing.expectError(error.PathAlreadyExists, again.wait(ring));

    var renamed: Outcome = .{};
    _ = try ring.renameat(dir, "sub", dir, "moved", .{ .noreplace = true }, .{}, &renamed, Outcome.record);
    _ = try renamed.wait(ring);

    var removed: Outcome = .{};
    _ = try ring.unlinkat(dir, "moved", .dir, .{}, &removed, Outcome.record);
    _ = try removed.wait(ring);

    var gone: Outcome = .{};
    _ = try ring.unlinkat(dir, "moved", .dir, .{}, &gone, Outcome.record);
    try testing.expectError(error.NotFound, gone.wait(ring));
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
        fn slow(order: *@This(), completion: Completion) void {
            _ = completion.result() catch unreachable;
            order.push('s');
        }
        fn fast(order: *@This(), completion: Completion) void {
            _ = completion.result() catch unreachable;
            order.push('f');
        }
        fn linked(order: *@This(), completion: Completion) void {
            _ = completion.result() catch unreachable;
            order.push('l');
        }
    };
    var order: Order = .{};
    _ = try ring.timeout(30 * std.time.ns_per_ms, .{}, &order, Order.slow);
    // The nop starts only once the short timer has fired. A timer that fires counts as a
    // failure for the kernel's links (-ETIME), so only a hard link carries the chain on.
    _ = try ring.timeout(1 * std.time.ns_per_ms, .{ .link = .hard }, &order, Order.fast);
    _ = try ring.nop(.{}, &order, Order.linked);
    try testing.expectEqual(@as(u32, 3), ring.inflight());
    _ = try ring.run(.until_done);
    try testing.expectEqualStrings("fls", order.seen[0..order.len]);
    try testing.expectEqual(@as(u32, 0), ring.inflight());

    // A soft link: when the first operation fails, the rest of the chain is cancelled.
    const fds = try pipe();
    defer closeFds(&fds);
    var buf: [4]u8 = undefined;
    var failed: Outcome = .{};
    var skipped: Outcome = .{};
    _ = try ring.read(fds[1], &buf, null, .{ .link = .soft }, &failed, Outcome.record); // the write end
    _ = try ring.nop(.{}, &skipped, Outcome.record);
    try testing.expectError(error.BadFileDescriptor, failed.wait(ring));
    try testing.expectError(error.Canceled, skipped.wait(ring));
}

test "a deadline completes with error.TimedOut, a cancel with error.Canceled" {
    const ring = try openRing(.{});
    defer ring.deinit();
    const fds = try pipe();
    defer closeFds(&fds);
    var buf: [16]u8 = undefined;

    // Nothing is ever written to the pipe: only the deadline can end this read.
    var deadline: Outcome = .{};
    _ = try ring.read(fds[0], &buf, null, .{ .timeout_ns = 10 * std.time.ns_per_ms }, &deadline, Outcome.record);
    try testing.expectError(error.TimedOut, deadline.wait(ring));

    var read: Outcome = .{};
    const id = try ring.read(fds[0], &buf, null, .{}, &read, Outcome.record);
    _ = try ring.submit();
    var cancel: Outcome = .{};
    _ = try ring.cancel(id, .{}, &cancel, Outcome.record);
    try testing.expectError(error.Canceled, read.wait(ring));
    try testing.expectEqual(@as(u31, 0), try cancel.wait(ring));

    // The id is stale now: cancelling it again is refused at once and queues nothing.
    try testing.expectError(error.NotFound, ring.cancel(id, .{}, &cancel, Outcome.record));
    try testing.expectEqual(@as(u32, 0), ring.inflight());
}

test "cancelFd cancels every operation on a descriptor" {
    const ring = try openRing(.{});
    defer ring.deinit();
    const fds = try pipe();
    defer closeFds(&fds);
    var bufs: [3][8]u8 = undefined;
    var reads: [3]Outcome = @splat(.{});
    for (&reads, &bufs) |*outcome, *buf| _ = try ring.read(fds[0], buf, null, .{}, outcome, Outcome.record);
    _ = try ring.submit();

    var cancel: Outcome = .{};
    _ = try ring.cancelFd(fds[0], .all, .{}, &cancel, Outcome.record);
    try testing.expectEqual(@as(u31, 3), try cancel.wait(ring));
    for (&reads) |*outcome| try testing.expectError(error.Canceled, outcome.wait(ring));
}

test "bad input is an error at the call and queues nothing" {
    const ring = try openRing(.{});
    defer ring.deinit();
    var buf: [8]u8 = undefined;
    var outcome: Outcome = .{};

    try testing.expectError(error.BadFileDescriptor, ring.read(-1, &buf, null, .{}, &outcome, Outcome.record));
    try testing.expectError(error.NotFound, ring.cancel(.{ .id = 0x7fff_0000_1234 }, .{}, &outcome, Outcome.record));
    try testing.expectError(error.InvalidArgument, asyncring.BufGroup.init(ring, 3, 64)); // not a power of two
    try testing.expectError(error.InvalidArgument, Ring.init(.{ .sq_entries = 64, .cq_entries = 8 }));
    try testing.expectEqual(@as(u32, 0), ring.inflight());
    try testing.expectEqual(@as(?i32, null), outcome.res);
}

test "run from inside a callback is error.Busy" {
    const ring = try openRing(.{});
    defer ring.deinit();
    const Probe = struct {
        nested: ?asyncring.Error!u32 = null,
        fn onNop(probe: *@This(), completion: Completion) void {
            probe.nested = completion.ring.run(.nowait);
        }
    };
    var probe: Probe = .{};
    _ = try ring.nop(.{}, &probe, Probe.onNop);
    _ = try ring.run(.until_done);
    try testing.expectError(error.Busy, probe.nested.?);
}

test "host loop: poll the notification fd, then run(.nowait)" {
    const ring = try openRing(.{});
    defer ring.deinit();

    var fired: Outcome = .{};
    _ = try ring.timeout(5 * std.time.ns_per_ms, .{}, &fired, Outcome.record);
    _ = try ring.submit();
    // Nothing is ready yet: a non-blocking run delivers nothing.
    try testing.expectEqual(@as(u32, 0), try ring.run(.nowait));

    var pfd = [_]posix.pollfd{.{ .fd = ring.notifyFd(), .events = posix.POLL.IN, .revents = 0 }};
    var waited_ms: u32 = 0;
    while (fired.res == null) : (waited_ms += 1) {
        try testing.expect(waited_ms < 5000);
        // Completions arrive as task work, which may interrupt poll: retry on EINTR.
        const n = std.c.poll(&pfd, 1, 1);
        if (n < 0) continue;
        if (n == 1) _ = try ring.run(.nowait);
    }
    try testing.expectEqual(@as(u31, 0), try fired.result());
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

test "registered buffers and files: writeFixed, readFixed, a fixed-file op" {
    const ring = try openRing(.{});
    defer ring.deinit();
    var tmp = testing.tmpDir(.{});
    defer tmp.cleanup();

    var open: Outcome = .{};
    _ = try ring.openat(tmp.dir.handle, "fixed.bin", .{ .ACCMODE = .RDWR, .CREAT = true, .CLOEXEC = true }, 0o600, .{}, &open, Outcome.record);
    const fd: posix.fd_t = try open.wait(ring);
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
    var wrote: Outcome = .{};
    _ = try ring.writeFixed(1, &region[0], 0, 0, .{ .fixed_file = true }, &wrote, Outcome.record);
    try testing.expectEqual(@as(u31, 16), try wrote.wait(ring));
    var got: Outcome = .{};
    _ = try ring.readFixed(fd, &region[1], 0, 1, .{}, &got, Outcome.record);
    try testing.expectEqual(@as(u31, 16), try got.wait(ring));
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

    var ready: Outcome = .{};
    _ = try ring.poll(from[0], posix.POLL.IN, .{ .timeout_ns = net_deadline_ns }, &ready, Outcome.record);
    _ = try ring.submit();
    try testing.expectEqual(@as(isize, 5), std.c.write(from[1], "splat", 5));
    try testing.expect((try ready.wait(ring)) & posix.POLL.IN != 0);

    var spliced: Outcome = .{};
    _ = try ring.splice(from[0], null, to[1], null, 5, 0, .{}, &spliced, Outcome.record);
    try testing.expectEqual(@as(u31, 5), try spliced.wait(ring));
    var buf: [5]u8 = undefined;
    try testing.expectEqual(@as(isize, 5), std.c.read(to[0], &buf, buf.len));
    try testing.expectEqualStrings("splat", &buf);
}

test "a threadsafe ring takes operations from any thread" {
    const ring = try openRing(.{ .threadsafe = true });
    defer ring.deinit();

    const Worker = struct {
        outcomes: [8]Outcome = @splat(.{}),
        queued: std.atomic.Value(u32) = .init(0),

        fn work(r: Ring, worker: *@This()) void {
            for (&worker.outcomes) |*outcome| {
                _ = r.nop(.{}, outcome, Outcome.record) catch unreachable;
                _ = worker.queued.fetchAdd(1, .release);
            }
        }
    };
    var worker: Worker = .{};
    const thread = try std.Thread.spawn(.{}, Worker.work, .{ ring, &worker });
    thread.join();
    try testing.expectEqual(@as(u32, worker.outcomes.len), worker.queued.load(.acquire));
    for (&worker.outcomes) |*outcome| try testing.expectEqual(@as(u31, 0), try outcome.wait(ring));
}

test "deinit delivers every final callback with error.Canceled" {
    const ring = try openRing(.{});
    var timers: [4]Outcome = @splat(.{});
    for (&timers) |*outcome| _ = try ring.timeout(std.time.ns_per_s * 60, .{}, outcome, Outcome.record);
    _ = try ring.submit();
    ring.deinit();
    for (&timers) |*outcome| try testing.expectError(error.Canceled, outcome.result());
}

// --- networking, on 127.0.0.1 only ------------------------------------------------------

const loopback = std.mem.nativeToBig(u32, 0x7f00_0001);

/// A listening TCP socket on 127.0.0.1 with a kernel-chosen port.
const Listener = struct {
    fd: posix.fd_t,
    address: std.c.sockaddr.in,

    fn open() !Listener {
        const fd = std.c.socket(std.c.AF.INET, std.c.SOCK.STREAM | std.c.SOCK.CLOEXEC, 0);
        if (fd < 0) return error.SocketFailed;
        errdefer _ = std.c.close(fd);
        var address: std.c.sockaddr.in = .{ .port = 0, .addr = loopback };
        var len: std.c.socklen_t = @sizeOf(std.c.sockaddr.in);
        if (std.c.bind(fd, @ptrCast(&address), len) != 0) return error.BindFailed;
        if (std.c.listen(fd, 64) != 0) return error.ListenFailed;
        if (std.c.getsockname(fd, @ptrCast(&address), &len) != 0) return error.GetSockNameFailed;
        return .{ .fd = fd, .address = address };
    }

    fn close(listener: Listener) void {
        _ = std.c.close(listener.fd);
    }
};

/// Opens a socket and connects it to `listener`, through the ring.
fn connectClient(ring: Ring, listener: *const Listener) !posix.fd_t {
    var opened: Outcome = .{};
    _ = try ring.socket(std.c.AF.INET, std.c.SOCK.STREAM | std.c.SOCK.CLOEXEC, 0, .{}, &opened, Outcome.record);
    const fd: posix.fd_t = try opened.wait(ring);
    errdefer closeFds(&.{fd});
    var connected: Outcome = .{};
    _ = try ring.connect(fd, @ptrCast(&listener.address), @sizeOf(std.c.sockaddr.in), .{ .timeout_ns = net_deadline_ns }, &connected, Outcome.record);
    _ = try connected.wait(ring);
    return fd;
}

test "echo round trip over 127.0.0.1: accept, connect, send, recv" {
    const ring = try openRing(.{});
    defer ring.deinit();
    const listener = try Listener.open();
    defer listener.close();

    var accepted: Outcome = .{};
    _ = try ring.accept(listener.fd, std.c.SOCK.CLOEXEC, .{ .timeout_ns = net_deadline_ns }, &accepted, Outcome.record);
    const client = try connectClient(ring, &listener);
    defer closeFds(&.{client});
    const server: posix.fd_t = try accepted.wait(ring);
    defer closeFds(&.{server});

    const ping = "ping over loopback";
    var sent: Outcome = .{};
    _ = try ring.send(client, ping, std.c.MSG.NOSIGNAL, .{ .timeout_ns = net_deadline_ns }, &sent, Outcome.record);
    try testing.expectEqual(@as(u31, ping.len), try sent.wait(ring));

    // The server echoes what it receives.
    var at_server: [64]u8 = undefined;
    var received: Outcome = .{};
    _ = try ring.recv(server, at_server[0..ping.len], std.c.MSG.WAITALL, .{ .timeout_ns = net_deadline_ns }, &received, Outcome.record);
    const got = try received.wait(ring);
    try testing.expectEqual(@as(u31, ping.len), got);
    var echoed: Outcome = .{};
    _ = try ring.send(server, at_server[0..got], std.c.MSG.NOSIGNAL, .{ .timeout_ns = net_deadline_ns }, &echoed, Outcome.record);
    try testing.expectEqual(@as(u31, ping.len), try echoed.wait(ring));

    var at_client: [64]u8 = undefined;
    var back: Outcome = .{};
    _ = try ring.recv(client, at_client[0..ping.len], std.c.MSG.WAITALL, .{ .timeout_ns = net_deadline_ns }, &back, Outcome.record);
    try testing.expectEqual(@as(u31, ping.len), try back.wait(ring));
    try testing.expectEqualStrings(ping, at_client[0..ping.len]);

    // Half-close: the server's receive sees end of stream.
    var shut: Outcome = .{};
    _ = try ring.shutdown(client, .send, .{}, &shut, Outcome.record);
    _ = try shut.wait(ring);
    var eof: Outcome = .{};
    _ = try ring.recv(server, &at_server, 0, .{ .timeout_ns = net_deadline_ns }, &eof, Outcome.record);
    try testing.expectEqual(@as(u31, 0), try eof.wait(ring));
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
        accept_final: ?i32 = null,
        received: [clients_count]u8 = @splat(0),
        recv_ops: [clients_count]asyncring.Op = undefined,
        recv_final: [clients_count]?i32 = @splat(null),

        fn onAccept(server: *@This(), completion: Completion) void {
            if (!completion.more()) {
                server.accept_final = completion.res;
                return;
            }
            const fd: posix.fd_t = completion.result() catch unreachable;
            const index = server.accepted;
            server.conns[index] = fd;
            server.accepted += 1;
            server.recv_ops[index] = completion.ring.recvMultishot(fd, server.group, 0, .{ .rearm = true }, server, onRecv) catch unreachable;
        }

        fn onRecv(server: *@This(), completion: Completion) void {
            const index = std.mem.indexOfScalar(asyncring.Op, server.recv_ops[0..server.accepted], completion.op).?;
            if (completion.buffer()) |data| {
                // Each client sends one byte, its number; note which connection carried it.
                for (data) |byte| server.received[index] = byte;
                server.group.recycle(completion.buf_id) catch unreachable;
            }
            if (!completion.more()) server.recv_final[index] = completion.res;
        }
    };
    var server: Server = .{ .group = group };
    const accept_op = try ring.acceptMultishot(listener.fd, std.c.SOCK.CLOEXEC, .{}, &server, Server.onAccept);

    var clients: [clients_count]posix.fd_t = undefined;
    for (&clients, 0..) |*client, i| {
        client.* = try connectClient(ring, &listener);
        const byte: *const [1]u8 = &.{@intCast(i + 1)};
        var sent: Outcome = .{};
        _ = try ring.send(client.*, byte, std.c.MSG.NOSIGNAL, .{ .timeout_ns = net_deadline_ns }, &sent, Outcome.record);
        try testing.expectEqual(@as(u31, 1), try sent.wait(ring));
    }
    defer closeFds(&clients);

    // Bounded: a timer ends the wait if the kernel never delivers.
    var guard: Outcome = .{};
    const guard_op = try ring.timeout(net_deadline_ns, .{}, &guard, Outcome.record);
    while (guard.res == null and (server.accepted < clients_count or std.mem.indexOfScalar(u8, &server.received, 0) != null))
        _ = try ring.run(.once);
    try testing.expectEqual(@as(?i32, null), guard.res);
    try testing.expectEqual(@as(usize, clients_count), server.accepted);
    var total: u32 = 0;
    for (server.received) |byte| total += byte;
    try testing.expectEqual(@as(u32, 1 + 2 + 3 + 4), total); // each client's byte, exactly once

    // Cancelling the accept ends it with a final completion; closing the clients ends
    // every receive with end of stream.
    var cancel: Outcome = .{};
    _ = try ring.cancel(accept_op, .{}, &cancel, Outcome.record);
    var cancel_guard: Outcome = .{};
    _ = try ring.cancel(guard_op, .{}, &cancel_guard, Outcome.record);
    closeFds(&clients);
    clients = @splat(-1);
    _ = try ring.run(.until_done);
    try testing.expectEqual(@as(?i32, -asyncring.capi.ECANCELED), server.accept_final);
    for (server.recv_final) |final| try testing.expectEqual(@as(?i32, 0), final);
    closeFds(server.conns[0..server.accepted]);
}
