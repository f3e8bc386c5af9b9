//! Zig bindings for libasyncring: asynchronous I/O on Linux io_uring, completions
//! delivered by callback.
//!
//! The model is the C library's (`include/asyncring.h`, docs/DESIGN.md): a `Ring` owns one
//! io_uring instance; operations are queued with methods such as `Ring.read`, reach the
//! kernel in batches (`Ring.submit`, or the start of `Ring.run`), and complete by calling
//! a typed callback, only from inside `Ring.run`, on the thread that called it.
//! Where io_uring is unusable (Docker's default seccomp profile, the
//! `kernel.io_uring_disabled` sysctl, a kernel before 5.19), a ring runs on the library's
//! fallback backend (epoll and a thread pool) with the same API: `Ring.backend` says which,
//! `Ring.Options.no_fallback` refuses the fallback and `Ring.Options.force_fallback` (or
//! the environment variable `ASYNCRING_BACKEND=fallback`) forces it.
//!
//! What this layer adds to the C API:
//! - errors are precise: each family of calls has its own error set (`InitError`,
//!   `QueueError`, `RunError`...), and each kind of completion too (`ReadError`,
//!   `OpenError`, `ConnectError`...), with the standard library's names where the errno
//!   means the same thing. An operation's own deadline is `error.Timeout`, a cancel
//!   `error.Canceled`, the kernel's `ETIMEDOUT` `error.ConnectionTimedOut`;
//! - callbacks are typed: `ring.read(fd, buf, offset, .{}, &state, onRead)` with
//!   `fn onRead(state: *State, completion: asyncring.Completion(.read)) void`, whose
//!   `completion.result()` is a `ReadError!usize`; the C trampoline is generated at compile
//!   time, so no `?*anyopaque` reaches user code;
//! - operation ids are `Op`, a non-exhaustive `enum(i64)`; buffers are slices, paths
//!   `[:0]const u8`, deadlines `std.Io.Duration`, addresses `std.Io.net.IpAddress`,
//!   `shutdown` takes `std.Io.net.ShutdownHow`.
//!
//! Memory rules are the C library's: whatever the kernel reads after the call returns and
//! the caller might not keep (paths, iovec arrays, socket addresses) is copied by the
//! library; data buffers, `statx` results and `msghdr`s the kernel writes into belong to
//! the caller and must stay valid until the operation's final callback.
//!
//! ## Beside a `std.Io` program
//!
//! This package does not implement `std.Io` (its interface is still changing between Zig
//! releases); it runs beside one. Give the ring a thread of its own that loops on
//! `ring.run(.once)`, and let the rest of the program hand it work with `ring.post`, which
//! is callable from any thread and wakes the blocked `run`: the posted function runs on
//! the ring's thread, where it may queue operations; their callbacks run there too and
//! report back through whatever the program uses (a `std.Io` future, a queue, an atomic).
//!
//! ```zig
//! fn ringThread(ring: asyncring.Ring, stop: *std.atomic.Value(bool)) void {
//!     while (!stop.load(.acquire)) _ = ring.run(.once) catch |err| switch (err) {
//!         error.SignalInterrupt => continue,
//!         else => return,
//!     };
//! }
//! // Elsewhere, on any thread: ring.post(&request, Request.start), where `start` queues
//! // the operation; to stop, set `stop` and post anything to wake the ring thread.
//! ```
//!
//! zig/examples/beside_std_io.zig is the whole program (`zig build beside-std-io`). A ring
//! made with `Ring.Options.threadsafe` also takes operations queued from any thread
//! directly; `post` is still how to wake its `run`.

const std = @import("std");

/// The raw C API, translated from `asyncring.h` by build.zig. Everything in this package is
/// built on it; reach for it only for what the wrapper does not cover.
pub const capi = @import("asyncring_c");

const errors = @import("errors.zig");
const completion = @import("completion.zig");
const fs = @import("fs.zig");
const probe_zig = @import("probe.zig");

pub const Ring = @import("Ring.zig");
pub const BufGroup = @import("BufGroup.zig");

pub const Op = completion.Op;
pub const OpOptions = completion.OpOptions;
pub const Link = completion.Link;
pub const Kind = completion.Kind;
pub const Completion = completion.Completion;
pub const Callback = completion.Callback;
pub const RenameFlags = fs.RenameFlags;

pub const Probe = probe_zig.Probe;
pub const ProbeReason = probe_zig.Reason;
pub const probe = probe_zig.probe;

// Error sets, one per family (errors.zig).
pub const UnexpectedError = errors.UnexpectedError;
pub const InitError = errors.InitError;
pub const QueueError = errors.QueueError;
pub const CancelQueueError = errors.CancelQueueError;
pub const RunError = errors.RunError;
pub const PostError = errors.PostError;
pub const RegisterError = errors.RegisterError;
pub const BufGroupInitError = errors.BufGroupInitError;
pub const RecycleError = errors.RecycleError;
pub const CompletionError = errors.CompletionError;
pub const NopError = errors.NopError;
pub const CancelError = errors.CancelError;
pub const ReadError = errors.ReadError;
pub const WriteError = errors.WriteError;
pub const SyncError = errors.SyncError;
pub const OpenError = errors.OpenError;
pub const CloseError = errors.CloseError;
pub const StatError = errors.StatError;
pub const DeleteError = errors.DeleteError;
pub const RenameError = errors.RenameError;
pub const MakeDirError = errors.MakeDirError;
pub const SocketError = errors.SocketError;
pub const ConnectError = errors.ConnectError;
pub const AcceptError = errors.AcceptError;
pub const SendError = errors.SendError;
pub const ReceiveError = errors.ReceiveError;
pub const MultishotReceiveError = errors.MultishotReceiveError;
pub const ShutdownError = errors.ShutdownError;
pub const PollError = errors.PollError;
pub const SpliceError = errors.SpliceError;

/// Maps an errno (negative as the C API returns it, or positive) to an error of `Set`.
pub const errorFromErrno = errors.fromErrno;
/// The errno an error of `Set` stands for, or null for `error.Unexpected`.
pub const errnoFromError = errors.toErrno;

/// A file descriptor.
pub const fd_t = std.posix.fd_t;

/// `AT_FDCWD`: as a `dir`, paths are resolved against the current working directory.
pub const cwd: fd_t = std.posix.AT.FDCWD;

/// Describes an errno value (negative or positive) in the library's terms: a static
/// string.
pub fn strerror(code: i32) [:0]const u8 {
    return std.mem.span(capi.ar_strerror(code));
}

/// Describes an error of `Set` in the library's terms (`ar_strerror`).
pub fn describe(comptime Set: type, err: Set) [:0]const u8 {
    const errno = errors.toErrno(Set, err) orelse return "unexpected error";
    return strerror(-@as(i32, errno));
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

test {
    _ = errors;
    _ = completion;
}

test "header and library versions agree" {
    var buf: [32]u8 = undefined;
    const expected = try std.fmt.bufPrint(&buf, "{d}.{d}.{d}", .{ header_version.major, header_version.minor, header_version.patch });
    try std.testing.expectEqualStrings(expected, version());
}

test "describe uses the library's words" {
    try std.testing.expect(std.mem.indexOf(u8, describe(QueueError, error.RingBusy), "ring busy") != null);
    try std.testing.expectEqualStrings("unexpected error", describe(QueueError, error.Unexpected));
}
