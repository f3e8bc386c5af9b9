//! echo_server: a single-threaded TCP echo server on libasyncring, in Zig.
//!
//!   echo_server PORT [CPU]     listens on 127.0.0.1:PORT (pinned to CPU if given) and
//!                              prints "listening on 127.0.0.1:PORT" when ready;
//!                              SIGINT or SIGTERM stops it cleanly (exit status 0)
//!
//! The same design as examples/c/echo_server.c, whose command line it shares:
//! - one multishot accept for all connections;
//! - per connection one multishot receive into a shared buffer group, so idle connections
//!   hold no buffer; `.rearm` keeps a receive alive when a burst drains the group;
//! - each received buffer is sent straight back from where the kernel put it and recycled
//!   when the send completes: no copy, no allocation per message;
//! - one send in flight per connection (buffers queue behind it), because two sends on one
//!   TCP socket can reorder bytes when the first is short.
//!
//! Build and run from the repository root: `zig build echo -- 7000`.

const std = @import("std");
const asyncring = @import("asyncring");
const Ring = asyncring.Ring;
const BufGroup = asyncring.BufGroup;
const c = std.c;

const buf_count = 4096;
const buf_size = 4096;
/// The end of a connection's queue of received buffers.
const no_buf: u16 = std.math.maxInt(u16);

/// Set by SIGINT/SIGTERM; the signal also interrupts `run`, which returns
/// `error.SignalInterrupt`.
var stopping: std.atomic.Value(bool) = .init(false);

fn onSignal(_: c.SIG) callconv(.c) void {
    stopping.store(true, .monotonic);
}

const Server = struct {
    ring: Ring,
    group: BufGroup,
    listen_fd: c.fd_t,
    /// Connections alive (allocated and not yet closed).
    live: usize = 0,
    /// Per provided buffer: the next one in its connection's queue, and what it holds.
    next_buf: [buf_count]u16 = undefined,
    buf_data: [buf_count][]u8 = undefined,

    fn armAccept(server: *Server) void {
        _ = server.ring.acceptMultishot(server.listen_fd, c.SOCK.CLOEXEC, .{}, server, onAccept) catch |err| {
            std.debug.print("echo_server: accept: {s}\n", .{@errorName(err)});
            stopping.store(true, .monotonic);
        };
    }

    fn onAccept(server: *Server, completion: asyncring.Completion(.accept)) void {
        if (completion.result()) |fd| {
            server.open(fd);
        } else |err| switch (err) {
            error.Canceled => return, // teardown
            else => {},
        }
        // A multishot accept can end (an error, a full completion queue): arm a new one.
        if (!completion.more() and !stopping.load(.monotonic)) server.armAccept();
    }

    fn open(server: *Server, fd: c.fd_t) void {
        const conn = std.heap.c_allocator.create(Conn) catch {
            _ = c.close(fd);
            return;
        };
        conn.* = .{ .server = server, .fd = fd };
        server.live += 1;
        if (server.ring.recvMultishot(fd, server.group, 0, .{ .rearm = true }, conn, Conn.onRecv)) |_| {} else |_| {
            conn.recv_done = true;
            conn.close();
        }
    }
};

const Conn = struct {
    server: *Server,
    fd: c.fd_t,
    /// The receive has delivered its final completion.
    recv_done: bool = false,
    /// A send is in flight.
    sending: bool = false,
    /// A send failed: drop data, close when the receive ends.
    failed: bool = false,
    /// Queue of received buffers, linked through `Server.next_buf`.
    head: u16 = no_buf,
    tail: u16 = no_buf,
    /// Bytes of the head buffer already sent.
    head_sent: usize = 0,
    recv_op: ?asyncring.Op = null,

    fn close(conn: *Conn) void {
        const server = conn.server;
        // Inside `deinit` (shutdown) no new operation is accepted: close directly.
        _ = server.ring.close(conn.fd, .{}, {}, onClosed) catch c.close(conn.fd);
        server.live -= 1;
        std.heap.c_allocator.destroy(conn);
    }

    fn onClosed(_: void, _: asyncring.Completion(.close)) void {}

    fn onCanceled(_: void, _: asyncring.Completion(.cancel)) void {}

    /// Releases every queued buffer (after a failed send).
    fn dropQueue(conn: *Conn) void {
        const server = conn.server;
        while (conn.head != no_buf) {
            const b = conn.head;
            conn.head = server.next_buf[b];
            server.group.recycle(b) catch {};
        }
        conn.tail = no_buf;
    }

    fn sendHead(conn: *Conn) void {
        const data = conn.server.buf_data[conn.head][conn.head_sent..];
        if (conn.server.ring.send(conn.fd, data, c.MSG.NOSIGNAL, .{}, conn, onSent)) |_| {
            conn.sending = true;
        } else |_| {
            conn.failed = true;
            conn.dropQueue();
        }
    }

    fn onSent(conn: *Conn, completion: asyncring.Completion(.send)) void {
        const server = conn.server;
        conn.sending = false;
        const sent = completion.result() catch 0;
        if (sent == 0) {
            // The peer is gone: stop receiving; the receive's final completion closes.
            conn.failed = true;
            conn.dropQueue();
            if (!conn.recv_done) {
                if (conn.recv_op) |op| _ = server.ring.cancel(op, .{}, {}, onCanceled) catch {};
            }
        } else {
            const b = conn.head;
            conn.head_sent += sent;
            if (conn.head_sent == server.buf_data[b].len) { // whole buffer echoed: give it back
                conn.head = server.next_buf[b];
                if (conn.head == no_buf) conn.tail = no_buf;
                conn.head_sent = 0;
                server.group.recycle(b) catch {};
            }
            if (conn.head != no_buf) return conn.sendHead();
        }
        if (conn.recv_done) conn.close();
    }

    fn onRecv(conn: *Conn, completion: asyncring.Completion(.receive_multishot)) void {
        const server = conn.server;
        conn.recv_op = completion.op;
        if (completion.buffer()) |data| {
            const b = completion.buf_id;
            if (conn.failed or data.len == 0) {
                server.group.recycle(b) catch {};
            } else { // queue it behind any send in flight
                server.buf_data[b] = data;
                server.next_buf[b] = no_buf;
                if (conn.tail == no_buf) conn.head = b else server.next_buf[conn.tail] = b;
                conn.tail = b;
                if (!conn.sending) conn.sendHead();
            }
        }
        if (!completion.more()) { // end of stream, error, or cancel
            conn.recv_done = true;
            if (!conn.sending) conn.close();
        }
    }
};

fn listen(port: u16) !c.fd_t {
    const fd = c.socket(c.AF.INET, c.SOCK.STREAM | c.SOCK.CLOEXEC, 0);
    if (fd < 0) return error.SocketFailed;
    errdefer _ = c.close(fd);
    const one: c_int = 1;
    _ = c.setsockopt(fd, c.SOL.SOCKET, c.SO.REUSEADDR, &one, @sizeOf(c_int));
    const address: c.sockaddr.in = .{
        .port = std.mem.nativeToBig(u16, port),
        .addr = std.mem.nativeToBig(u32, 0x7f00_0001), // 127.0.0.1
    };
    if (c.bind(fd, @ptrCast(&address), @sizeOf(c.sockaddr.in)) != 0) return error.BindFailed;
    if (c.listen(fd, 4096) != 0) return error.ListenFailed;
    return fd;
}

fn pinToCpu(cpu: usize) void {
    var set: std.os.linux.cpu_set_t = @splat(0);
    const bits = @bitSizeOf(usize);
    if (cpu >= set.len * bits) return;
    set[cpu / bits] |= @as(usize, 1) << @intCast(cpu % bits);
    std.os.linux.sched_setaffinity(0, &set) catch |err|
        std.debug.print("echo_server: sched_setaffinity: {s}\n", .{@errorName(err)});
}

pub fn main(init: std.process.Init.Minimal) !u8 {
    var args = init.args.iterate();
    _ = args.skip();
    const port_arg = args.next() orelse {
        std.debug.print("usage: echo_server PORT [CPU]\n", .{});
        return 2;
    };
    const port = std.fmt.parseInt(u16, port_arg, 10) catch {
        std.debug.print("echo_server: bad port {s}\n", .{port_arg});
        return 2;
    };
    if (args.next()) |cpu| pinToCpu(std.fmt.parseInt(usize, cpu, 10) catch {
        std.debug.print("echo_server: bad cpu {s}\n", .{cpu});
        return 2;
    });

    // No SA_RESTART: the signal interrupts `run`, which returns error.SignalInterrupt.
    const action: std.posix.Sigaction = .{
        .handler = .{ .handler = onSignal },
        .mask = std.posix.sigemptyset(),
        .flags = 0,
    };
    std.posix.sigaction(.INT, &action, null);
    std.posix.sigaction(.TERM, &action, null);

    const listen_fd = listen(port) catch |err| {
        std.debug.print("echo_server: listen on 127.0.0.1:{d}: {s}\n", .{ port, @errorName(err) });
        return 1;
    };
    defer _ = c.close(listen_fd);

    // One thread: cheaper completions (DEFER_TASKRUN).
    const ring = Ring.init(.{ .sq_entries = 1024, .single_thread = true }) catch |err| {
        const p = asyncring.probe();
        std.debug.print("echo_server: {s} ({s})\n", .{ asyncring.describe(asyncring.InitError, err), p.message() });
        return 1;
    };
    const group = BufGroup.init(ring, buf_count, buf_size) catch |err| {
        std.debug.print("echo_server: buffer group: {s}\n", .{@errorName(err)});
        ring.deinit();
        return 1;
    };
    const server = try std.heap.c_allocator.create(Server);
    defer std.heap.c_allocator.destroy(server);
    server.* = .{ .ring = ring, .group = group, .listen_fd = listen_fd };
    server.armAccept();

    var line: [64]u8 = undefined;
    const ready = try std.fmt.bufPrint(&line, "listening on 127.0.0.1:{d}\n", .{port});
    _ = c.write(1, ready.ptr, ready.len);

    var status: u8 = 0;
    while (!stopping.load(.monotonic)) {
        _ = ring.run(.once) catch |err| switch (err) {
            error.SignalInterrupt => continue,
            else => {
                std.debug.print("echo_server: run: {s}\n", .{@errorName(err)});
                status = 1;
                break;
            },
        };
    }
    // Teardown: cancels the accept and every receive and send, delivers their final
    // callbacks (which close the connections), then frees.
    ring.deinit();
    group.deinit();
    std.debug.assert(server.live == 0);
    return status;
}
