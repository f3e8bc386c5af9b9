//! beside_std_io: a ring on a thread of its own, beside a program written against `std.Io`.
//!
//!   zig build beside-std-io      prints "read 22 bytes through the ring: ..." and exits 0
//!
//! The `asyncring` package does not implement `std.Io`; it runs beside it. The program's
//! side (here `main`, with the `std.Io` of `std.process.Init`) hands work to the ring's
//! thread with `Ring.post`, which any thread may call and which wakes the ring; the posted
//! function queues the operation on the ring's thread, and the operation's callback, also
//! on that thread, reports back through a `std.Io.Event` the program waits on.

const std = @import("std");
const asyncring = @import("asyncring");
const posix = std.posix;

/// The ring's thread: delivers completions and posted work until `stop` is set.
fn ringThread(ring: asyncring.Ring, stop: *std.atomic.Value(bool)) void {
    var pfd = [_]posix.pollfd{.{ .fd = ring.notifyFd(), .events = posix.POLL.IN, .revents = 0 }};
    while (!stop.load(.acquire)) {
        // `run(.once)` blocks while operations are in flight (a post wakes it) and returns
        // at once when none is: then wait on the notification fd, which a post makes
        // readable, instead of spinning.
        if (ring.inflight() == 0) _ = std.c.poll(&pfd, 1, -1);
        _ = ring.run(.once) catch |err| switch (err) {
            error.SignalInterrupt => continue,
            else => std.debug.panic("beside_std_io: run: {s}", .{@errorName(err)}),
        };
    }
}

/// One request from the program to the ring: a read of `fd`.
const Request = struct {
    ring: asyncring.Ring,
    io: std.Io,
    fd: posix.fd_t,
    buf: [64]u8 = undefined,
    result: (asyncring.QueueError || asyncring.ReadError)!usize = 0,
    /// Set, on the ring's thread, when `result` is final.
    done: std.Io.Event = .unset,

    /// Runs on the ring's thread (posted there): queues the read.
    fn start(request: *Request) void {
        _ = request.ring.read(request.fd, &request.buf, null, .{ .timeout = .fromSeconds(5) }, request, onRead) catch |err| {
            request.result = err;
            request.done.set(request.io);
        };
    }

    fn onRead(request: *Request, completion: asyncring.Completion(.read)) void {
        request.result = completion.result();
        request.done.set(request.io);
    }
};

fn wake(_: void) void {}

pub fn main(init: std.process.Init) !void {
    const io = init.io;

    const ring = try asyncring.Ring.init(.{});
    defer ring.deinit();
    var stop: std.atomic.Value(bool) = .init(false);
    const thread = try std.Thread.spawn(.{}, ringThread, .{ ring, &stop });
    defer {
        stop.store(true, .release);
        ring.post({}, wake) catch {}; // wakes the ring's thread, which then sees `stop`
        thread.join();
    }

    var fds: [2]posix.fd_t = undefined;
    if (std.c.pipe2(&fds, .{ .CLOEXEC = true }) != 0) return error.PipeFailed;
    defer for (fds) |fd| {
        _ = std.c.close(fd);
    };

    var request: Request = .{ .ring = ring, .io = io, .fd = fds[0] };
    try ring.post(&request, Request.start);
    const message = "hello from the program";
    if (std.c.write(fds[1], message, message.len) != message.len) return error.WriteFailed;

    try request.done.wait(io);
    const n = try request.result;
    std.debug.print("read {d} bytes through the ring: {s}\n", .{ n, request.buf[0..n] });
}
