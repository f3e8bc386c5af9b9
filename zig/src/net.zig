//! Sockets and descriptors: socket, connect, accept (single and multishot), send, receive
//! (single, multishot into a buffer group, msghdr forms), shutdown, poll, splice. Methods
//! of `Ring`.
//!
//! Where the standard library has the type, it is used: addresses are
//! `std.Io.net.IpAddress`, `shutdown` takes `std.Io.net.ShutdownHow`. Socket addresses and
//! `sendmsg` headers are copied by the library; data buffers and `recvmsg` headers belong
//! to the caller until the final callback.

const std = @import("std");
const posix = std.posix;
const capi = @import("asyncring_c");
const errors = @import("errors.zig");
const completion = @import("completion.zig");
const Ring = @import("Ring.zig");
const BufGroup = @import("BufGroup.zig");

const fd_t = posix.fd_t;
const Op = completion.Op;
const OpOptions = completion.OpOptions;
const Callback = completion.Callback;
const QueueError = errors.QueueError;
const queued = completion.queued;
const trampoline = completion.trampoline;
const toUserdata = completion.toUserdata;

/// Queues `socket(domain, socket_type, protocol)` (`posix.AF.*`, `posix.SOCK.*`
/// optionally or'ed with `SOCK.NONBLOCK`/`SOCK.CLOEXEC`); it completes with the new fd.
pub fn socket(
    ring: Ring,
    domain: u32,
    socket_type: u32,
    protocol: u32,
    options: OpOptions,
    context: anytype,
    comptime callback: Callback(@TypeOf(context), .socket),
) QueueError!Op {
    const o = options.toC();
    return queued(QueueError, capi.ar_op_socket(
        ring.handle,
        @bitCast(domain),
        @bitCast(socket_type),
        @bitCast(protocol),
        &o,
        toUserdata(context),
        trampoline(@TypeOf(context), .socket, callback),
    ));
}

/// A socket address as the kernel takes it, large enough for IPv4 and IPv6.
const SockAddr = extern union {
    any: posix.sockaddr,
    in: posix.sockaddr.in,
    in6: posix.sockaddr.in6,
};

/// `address` as a `sockaddr`, and its length.
fn sockAddr(address: *const std.Io.net.IpAddress, storage: *SockAddr) posix.socklen_t {
    switch (address.*) {
        .ip4 => |ip4| {
            storage.* = .{ .in = .{
                .port = std.mem.nativeToBig(u16, ip4.port),
                .addr = @bitCast(ip4.bytes),
            } };
            return @sizeOf(posix.sockaddr.in);
        },
        .ip6 => |ip6| {
            storage.* = .{ .in6 = .{
                .port = std.mem.nativeToBig(u16, ip6.port),
                .flowinfo = ip6.flow,
                .addr = ip6.bytes,
                .scope_id = ip6.interface.index,
            } };
            return @sizeOf(posix.sockaddr.in6);
        },
    }
}

/// Queues `connect(fd, address)`; completes with nothing once connected. A refused or
/// unreachable peer is `error.ConnectionRefused`, `error.HostUnreachable`...; the kernel
/// giving up is `error.ConnectionTimedOut`, the operation's own deadline `error.Timeout`.
/// The address is copied.
pub fn connect(
    ring: Ring,
    fd: fd_t,
    address: *const std.Io.net.IpAddress,
    options: OpOptions,
    context: anytype,
    comptime callback: Callback(@TypeOf(context), .connect),
) QueueError!Op {
    var storage: SockAddr = undefined;
    const len = sockAddr(address, &storage);
    return connectPosix(ring, fd, &storage.any, len, options, context, callback);
}

/// `connect` with a raw `sockaddr` (a Unix socket, a family `IpAddress` does not cover).
/// The address (at most `sockaddr_storage` bytes) is copied.
pub fn connectPosix(
    ring: Ring,
    fd: fd_t,
    address: *const posix.sockaddr,
    address_len: posix.socklen_t,
    options: OpOptions,
    context: anytype,
    comptime callback: Callback(@TypeOf(context), .connect),
) QueueError!Op {
    const o = options.toC();
    return queued(QueueError, capi.ar_op_connect(
        ring.handle,
        fd,
        @ptrCast(address),
        address_len,
        &o,
        toUserdata(context),
        trampoline(@TypeOf(context), .connect, callback),
    ));
}

/// Queues `accept4(fd, NULL, NULL, flags)` on a listening socket (`flags`:
/// `SOCK.NONBLOCK`, `SOCK.CLOEXEC`); it completes with the new connection's fd.
pub fn accept(
    ring: Ring,
    fd: fd_t,
    flags: u32,
    options: OpOptions,
    context: anytype,
    comptime callback: Callback(@TypeOf(context), .accept),
) QueueError!Op {
    const o = options.toC();
    return queued(QueueError, capi.ar_op_accept(
        ring.handle,
        fd,
        @bitCast(flags),
        &o,
        toUserdata(context),
        trampoline(@TypeOf(context), .accept, callback),
    ));
}

/// Queues a multishot accept: one completion per connection (its fd, `more()` true) until
/// an error, a cancel or teardown ends it with a final one.
pub fn acceptMultishot(
    ring: Ring,
    fd: fd_t,
    flags: u32,
    options: OpOptions,
    context: anytype,
    comptime callback: Callback(@TypeOf(context), .accept),
) QueueError!Op {
    const o = options.toC();
    return queued(QueueError, capi.ar_op_accept_multishot(
        ring.handle,
        fd,
        @bitCast(flags),
        &o,
        toUserdata(context),
        trampoline(@TypeOf(context), .accept, callback),
    ));
}

/// Queues `send(fd, buf, flags)` (`posix.MSG.*`); it completes with the byte count sent,
/// possibly short. `buf` must stay valid until the final callback.
pub fn send(
    ring: Ring,
    fd: fd_t,
    buf: []const u8,
    flags: u32,
    options: OpOptions,
    context: anytype,
    comptime callback: Callback(@TypeOf(context), .send),
) QueueError!Op {
    const o = options.toC();
    return queued(QueueError, capi.ar_op_send(
        ring.handle,
        fd,
        buf.ptr,
        buf.len,
        @bitCast(flags),
        &o,
        toUserdata(context),
        trampoline(@TypeOf(context), .send, callback),
    ));
}

/// Queues a zero-copy send (6.0): exactly one completion, delivered only after the kernel
/// has released `buf`, which must stay valid and unmodified until then.
pub fn sendZc(
    ring: Ring,
    fd: fd_t,
    buf: []const u8,
    flags: u32,
    options: OpOptions,
    context: anytype,
    comptime callback: Callback(@TypeOf(context), .send),
) QueueError!Op {
    const o = options.toC();
    return queued(QueueError, capi.ar_op_send_zc(
        ring.handle,
        fd,
        buf.ptr,
        buf.len,
        @bitCast(flags),
        &o,
        toUserdata(context),
        trampoline(@TypeOf(context), .send, callback),
    ));
}

/// Queues `recv(fd, buf, flags)`; it completes with the byte count, 0 at end of stream.
/// `buf` must stay valid until the final callback.
pub fn recv(
    ring: Ring,
    fd: fd_t,
    buf: []u8,
    flags: u32,
    options: OpOptions,
    context: anytype,
    comptime callback: Callback(@TypeOf(context), .receive),
) QueueError!Op {
    const o = options.toC();
    return queued(QueueError, capi.ar_op_recv(
        ring.handle,
        fd,
        buf.ptr,
        buf.len,
        @bitCast(flags),
        &o,
        toUserdata(context),
        trampoline(@TypeOf(context), .receive, callback),
    ));
}

/// Queues a multishot receive into `group`: one completion per arrival carrying a buffer
/// (`Completion.buffer`; recycle it with `group.recycle(buf_id)`) and `more()`, until end
/// of stream (0), an error or a cancel ends it. When the group runs dry the kernel ends it
/// with `error.BufferGroupExhausted`, unless `options.rearm` is set.
pub fn recvMultishot(
    ring: Ring,
    fd: fd_t,
    group: BufGroup,
    flags: u32,
    options: OpOptions,
    context: anytype,
    comptime callback: Callback(@TypeOf(context), .receive_multishot),
) QueueError!Op {
    const o = options.toC();
    return queued(QueueError, capi.ar_op_recv_multishot(
        ring.handle,
        fd,
        group.handle,
        @bitCast(flags),
        &o,
        toUserdata(context),
        trampoline(@TypeOf(context), .receive_multishot, callback),
    ));
}

/// Queues `sendmsg(fd, msg, flags)`; the header, its iovec array, address and control data
/// are copied; the data buffers must stay valid until the final callback.
pub fn sendmsg(
    ring: Ring,
    fd: fd_t,
    msg: *const posix.msghdr_const,
    flags: u32,
    options: OpOptions,
    context: anytype,
    comptime callback: Callback(@TypeOf(context), .send),
) QueueError!Op {
    const o = options.toC();
    return queued(QueueError, capi.ar_op_sendmsg(
        ring.handle,
        fd,
        @ptrCast(msg),
        flags,
        &o,
        toUserdata(context),
        trampoline(@TypeOf(context), .send, callback),
    ));
}

/// Queues `recvmsg(fd, msg, flags)`; the kernel writes into `msg` and everything it points
/// to, which must stay valid until the final callback.
pub fn recvmsg(
    ring: Ring,
    fd: fd_t,
    msg: *posix.msghdr,
    flags: u32,
    options: OpOptions,
    context: anytype,
    comptime callback: Callback(@TypeOf(context), .receive),
) QueueError!Op {
    const o = options.toC();
    return queued(QueueError, capi.ar_op_recvmsg(
        ring.handle,
        fd,
        @ptrCast(msg),
        flags,
        &o,
        toUserdata(context),
        trampoline(@TypeOf(context), .receive, callback),
    ));
}

/// Queues `shutdown(fd, how)`: `.recv`, `.send` (the peer reads end of stream) or `.both`.
pub fn shutdown(
    ring: Ring,
    fd: fd_t,
    how: std.Io.net.ShutdownHow,
    options: OpOptions,
    context: anytype,
    comptime callback: Callback(@TypeOf(context), .shutdown),
) QueueError!Op {
    const o = options.toC();
    const c_how: c_int = switch (how) {
        .recv => posix.SHUT.RD,
        .send => posix.SHUT.WR,
        .both => posix.SHUT.RDWR,
    };
    return queued(QueueError, capi.ar_op_shutdown(
        ring.handle,
        fd,
        c_how,
        &o,
        toUserdata(context),
        trampoline(@TypeOf(context), .shutdown, callback),
    ));
}

/// Queues a one-shot poll of `fd` for `events` (`posix.POLL.*`); it completes with the
/// ready mask.
pub fn poll(
    ring: Ring,
    fd: fd_t,
    events: u32,
    options: OpOptions,
    context: anytype,
    comptime callback: Callback(@TypeOf(context), .poll),
) QueueError!Op {
    const o = options.toC();
    return queued(QueueError, capi.ar_op_poll(
        ring.handle,
        fd,
        events,
        &o,
        toUserdata(context),
        trampoline(@TypeOf(context), .poll, callback),
    ));
}

/// Queues a multishot poll: a completion with `more()` each time `fd` becomes ready,
/// until cancelled (a final `error.Canceled`) or an error.
pub fn pollMultishot(
    ring: Ring,
    fd: fd_t,
    events: u32,
    options: OpOptions,
    context: anytype,
    comptime callback: Callback(@TypeOf(context), .poll),
) QueueError!Op {
    const o = options.toC();
    return queued(QueueError, capi.ar_op_poll_multishot(
        ring.handle,
        fd,
        events,
        &o,
        toUserdata(context),
        trampoline(@TypeOf(context), .poll, callback),
    ));
}

/// Queues `splice(fd_in, off_in, fd_out, off_out, len, flags)`; offsets are null for
/// "none" (required for pipes), `flags` are `SPLICE_F_*`. It completes with the byte count.
pub fn splice(
    ring: Ring,
    fd_in: fd_t,
    off_in: ?u63,
    fd_out: fd_t,
    off_out: ?u63,
    len: usize,
    flags: u32,
    options: OpOptions,
    context: anytype,
    comptime callback: Callback(@TypeOf(context), .splice),
) QueueError!Op {
    const o = options.toC();
    return queued(QueueError, capi.ar_op_splice(
        ring.handle,
        fd_in,
        if (off_in) |off| off else -1,
        fd_out,
        if (off_out) |off| off else -1,
        len,
        flags,
        &o,
        toUserdata(context),
        trampoline(@TypeOf(context), .splice, callback),
    ));
}
