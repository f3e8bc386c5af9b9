//! Error sets: one per family of functions, so a caller can `switch` exhaustively on what
//! the call it made may fail with.
//!
//! The C library reports `-errno`, from a call or in a completion's `res`. Each family's
//! set names the errnos that family can meet, with the standard library's names where the
//! errno means the same thing (`std.Io.File.OpenError`, `std.Io.net.Stream.Reader.Error`,
//! `std.os.linux.IoUring.init`...), and `error.Unexpected` for any other code (the raw
//! value stays in `Completion.res`; `strerror` explains it).
//!
//! Two names are this library's own contract (SPEC §3.5): `error.Timeout` is an
//! operation's own deadline (`OpOptions.timeout`, the completion flag
//! `AR_COMPLETION_DEADLINE`), `error.Canceled` a cancel (`Ring.cancel`, a failed link,
//! teardown); a `-ETIMEDOUT` the kernel reports (a TCP connect that timed out) is
//! `error.ConnectionTimedOut`.

const std = @import("std");
const capi = @import("asyncring_c");

/// Codes no family names.
pub const UnexpectedError = error{Unexpected};

// --- calls -----------------------------------------------------------------------------

/// `Ring.init`. The names are `std.os.linux.IoUring.init`'s.
pub const InitError = error{
    /// `EPERM`: io_uring is forbidden (seccomp, the `kernel.io_uring_disabled` sysctl);
    /// `probe` says which.
    PermissionDenied,
    /// `ENOSYS`: the kernel lacks io_uring or a feature this library needs (5.19+).
    SystemOutdated,
    /// `ENOMEM`: out of memory or locked memory.
    SystemResources,
    /// `EMFILE`.
    ProcessFdQuotaExceeded,
    /// `ENFILE`.
    SystemFdQuotaExceeded,
    /// `EINVAL`: options out of range (queue sizes, incompatible flags).
    ArgumentsInvalid,
} || UnexpectedError;

/// Queueing an operation (`Ring.read`, `Ring.nop`...): bad input is refused at once and
/// queues nothing. A full submission queue is never an error (SPEC §3.2).
pub const QueueError = error{
    /// `EINVAL`: a bad argument (flags, sizes the kernel does not accept, a buffer group
    /// of another ring...).
    ArgumentsInvalid,
    /// `EBADF`: a negative file descriptor.
    FileDescriptorInvalid,
    /// `ENOMEM`: no memory for the operation's record.
    SystemResources,
    /// `EBUSY`: another thread is using the ring (see `Ring.Options.threadsafe`).
    RingBusy,
    /// `ESHUTDOWN`: the ring is being torn down (`Ring.deinit`) and takes nothing new.
    RingShuttingDown,
} || UnexpectedError;

/// `Ring.cancel`: a `QueueError`, or the target is not live (finished, or never existed).
pub const CancelQueueError = QueueError || error{
    /// `ENOENT`: no live operation has this id.
    OperationNotFound,
};

/// `Ring.submit` and `Ring.run`.
pub const RunError = error{
    /// `EBUSY`: called from a callback (`run`), or another thread is using the ring.
    RingBusy,
    /// `EINTR`: a signal arrived while `run` blocked, before anything was delivered.
    SignalInterrupt,
    /// `EEXIST`: a `single_thread` ring used from a thread other than its creator.
    NotRingThread,
    /// `ENOMEM`.
    SystemResources,
} || UnexpectedError;

/// `Ring.post`.
pub const PostError = error{
    /// `ENOMEM`: no memory to queue the work.
    SystemResources,
    /// `ESHUTDOWN`: the ring is being torn down.
    RingShuttingDown,
} || UnexpectedError;

/// `Ring.registerBuffers`, `registerFiles`, `updateFiles` and their `unregister`s.
pub const RegisterError = error{
    /// `EINVAL`: too many entries, a bad slot, or something already registered.
    ArgumentsInvalid,
    /// `EBADF`: a descriptor that is not open.
    FileDescriptorInvalid,
    /// `ENXIO`: nothing registered to update or unregister.
    NothingRegistered,
    /// `ENOMEM`: out of memory or locked memory (`RLIMIT_MEMLOCK`) for pinned buffers.
    SystemResources,
    /// `EFAULT`: a buffer outside the process's memory.
    BufferInvalid,
    /// `EMFILE`: more files than `RLIMIT_NOFILE`.
    ProcessFdQuotaExceeded,
    /// `EBUSY`: another thread is using the ring.
    RingBusy,
} || UnexpectedError;

/// `BufGroup.init`.
pub const BufGroupInitError = error{
    /// `EINVAL`: a count that is not a power of two from 1 to 32768, or a zero size.
    ArgumentsInvalid,
    /// `ENOMEM`.
    SystemResources,
    /// `ENOSPC`: every buffer group id of the ring is taken.
    BufferGroupIdsExhausted,
    /// `EBUSY`: another thread is using the ring.
    RingBusy,
} || UnexpectedError;

/// `BufGroup.recycle`.
pub const RecycleError = error{
    /// `EINVAL`: the buffer is not lent out (a double recycle) or the id is out of range.
    ArgumentsInvalid,
    /// `EBUSY`: another thread is using the ring.
    RingBusy,
} || UnexpectedError;

// --- completions -----------------------------------------------------------------------

/// What any completion may fail with, whatever the operation.
pub const CompletionError = error{
    /// `ECANCELED`: cancelled by `Ring.cancel` or `cancelFd`, by a failed link before it,
    /// or by the ring's teardown.
    Canceled,
    /// `ETIMEDOUT` with `AR_COMPLETION_DEADLINE`: the operation's own deadline
    /// (`OpOptions.timeout`) expired first.
    Timeout,
    /// `E2BIG`: it was part of a linked chain longer than the submission queue.
    LinkChainTooLong,
} || UnexpectedError;

/// `Ring.nop`, `Ring.timeout` (the timer).
pub const NopError = CompletionError;

/// `Ring.cancel` and `Ring.cancelFd`, as they complete.
pub const CancelError = error{
    /// `ENOENT`: no live operation matched (the target finished first).
    OperationNotFound,
    /// `EALREADY`: the target is running and cannot be interrupted; it completes on its own.
    OperationUncancelable,
} || CompletionError;

/// `Ring.read`, `readv`, `readFixed`. As `std.Io.File.ReadPositionalError`, plus what
/// reading a socket may meet.
pub const ReadError = error{
    InputOutput,
    SystemResources,
    IsDir,
    WouldBlock,
    AccessDenied,
    /// `ESPIPE`: an offset was given for a pipe or socket (pass null).
    Unseekable,
    /// `EBADF`.
    NotOpenForReading,
    /// `EFAULT`: for `readFixed`, a range outside the registered buffer.
    BufferInvalid,
    ConnectionResetByPeer,
    SocketUnconnected,
    ConnectionTimedOut,
} || CompletionError;

/// `Ring.write`, `writev`, `writeFixed`. As `std.Io.File.WritePositionalError`.
pub const WriteError = error{
    DiskQuota,
    FileTooBig,
    InputOutput,
    NoSpaceLeft,
    DeviceBusy,
    AccessDenied,
    PermissionDenied,
    BrokenPipe,
    SystemResources,
    WouldBlock,
    NoDevice,
    FileBusy,
    Unseekable,
    /// `EBADF`.
    NotOpenForWriting,
    /// `EFAULT`: for `writeFixed`, a range outside the registered buffer.
    BufferInvalid,
    ConnectionResetByPeer,
    SocketUnconnected,
    ConnectionTimedOut,
} || CompletionError;

/// `Ring.fsync`, `Ring.fallocate`. As `std.Io.File.SyncError` and `SetLengthError`.
pub const SyncError = error{
    InputOutput,
    NoSpaceLeft,
    DiskQuota,
    AccessDenied,
    FileTooBig,
    FileDescriptorInvalid,
    /// `EOPNOTSUPP`: this file system does not support the `fallocate` mode.
    OperationUnsupported,
} || CompletionError;

/// `Ring.openat`. As `std.Io.File.OpenError`.
pub const OpenError = error{
    NoDevice,
    AccessDenied,
    PermissionDenied,
    SymLinkLoop,
    ProcessFdQuotaExceeded,
    SystemFdQuotaExceeded,
    FileNotFound,
    SystemResources,
    FileTooBig,
    IsDir,
    NoSpaceLeft,
    NotDir,
    PathAlreadyExists,
    ReadOnlyFileSystem,
    DeviceBusy,
    FileBusy,
    WouldBlock,
    NameTooLong,
    /// `EBADF`: `dir` is not an open directory.
    FileDescriptorInvalid,
} || CompletionError;

/// `Ring.close`.
pub const CloseError = error{
    FileDescriptorInvalid,
    InputOutput,
    NoSpaceLeft,
    DiskQuota,
} || CompletionError;

/// `Ring.statx`. As `std.Io.Dir.StatFileError`'s errnos.
pub const StatError = error{
    FileNotFound,
    AccessDenied,
    SymLinkLoop,
    NameTooLong,
    NotDir,
    SystemResources,
    FileDescriptorInvalid,
} || CompletionError;

/// `Ring.unlinkat`. As `std.Io.Dir.DeleteFileError` and `DeleteDirError`.
pub const DeleteError = error{
    FileNotFound,
    AccessDenied,
    PermissionDenied,
    FileBusy,
    IsDir,
    DirNotEmpty,
    SymLinkLoop,
    NotDir,
    NameTooLong,
    SystemResources,
    ReadOnlyFileSystem,
    FileDescriptorInvalid,
} || CompletionError;

/// `Ring.renameat`. As `std.Io.Dir.RenameError`.
pub const RenameError = error{
    AccessDenied,
    DirNotEmpty,
    PermissionDenied,
    FileBusy,
    DiskQuota,
    IsDir,
    SymLinkLoop,
    LinkQuotaExceeded,
    FileNotFound,
    NotDir,
    NameTooLong,
    SystemResources,
    NoSpaceLeft,
    ReadOnlyFileSystem,
    CrossDevice,
    /// `EEXIST`: with `RenameFlags.noreplace`, the new path exists.
    PathAlreadyExists,
    FileDescriptorInvalid,
} || CompletionError;

/// `Ring.mkdirat`. As `std.Io.Dir.CreateDirError`.
pub const MakeDirError = error{
    AccessDenied,
    PermissionDenied,
    DiskQuota,
    PathAlreadyExists,
    SymLinkLoop,
    LinkQuotaExceeded,
    FileNotFound,
    NameTooLong,
    SystemResources,
    NoSpaceLeft,
    NotDir,
    ReadOnlyFileSystem,
    FileDescriptorInvalid,
} || CompletionError;

/// `Ring.socket`. As `std.Io.net.IpAddress.BindError`'s socket part.
pub const SocketError = error{
    AddressFamilyUnsupported,
    ProtocolUnsupportedBySystem,
    ProtocolUnsupportedByAddressFamily,
    ProcessFdQuotaExceeded,
    SystemFdQuotaExceeded,
    SystemResources,
    AccessDenied,
} || CompletionError;

/// `Ring.connect`. As `std.Io.net.IpAddress.ConnectError`, except that the kernel's
/// `ETIMEDOUT` is `ConnectionTimedOut` (`Timeout` is the operation's deadline).
pub const ConnectError = error{
    AddressUnavailable,
    AddressFamilyUnsupported,
    AddressInUse,
    SystemResources,
    /// `EALREADY`, `EINPROGRESS`: a connect is already under way on the socket.
    ConnectionPending,
    ConnectionRefused,
    ConnectionResetByPeer,
    ConnectionTimedOut,
    HostUnreachable,
    NetworkUnreachable,
    NetworkDown,
    AccessDenied,
    PermissionDenied,
    WouldBlock,
    /// `EISCONN`.
    AlreadyConnected,
    /// `ENOTSOCK`.
    FileDescriptorNotASocket,
    FileDescriptorInvalid,
} || CompletionError;

/// `Ring.accept`, `acceptMultishot`. As `std.Io.net.Server.AcceptError`.
pub const AcceptError = error{
    ProcessFdQuotaExceeded,
    SystemFdQuotaExceeded,
    SystemResources,
    /// `EINVAL`: the socket is not listening.
    SocketNotListening,
    NetworkDown,
    WouldBlock,
    ConnectionAborted,
    /// `EPERM`: firewall rules forbid the connection.
    BlockedByFirewall,
    /// `EPROTO`.
    ProtocolFailure,
    FileDescriptorNotASocket,
    FileDescriptorInvalid,
} || CompletionError;

/// `Ring.send`, `sendZc`, `sendmsg`. As `std.Io.net.Socket.SendError`.
pub const SendError = error{
    MessageOversize,
    SystemResources,
    NetworkUnreachable,
    HostUnreachable,
    NetworkDown,
    ConnectionRefused,
    ConnectionResetByPeer,
    SocketUnconnected,
    AccessDenied,
    ConnectionTimedOut,
    /// `EPIPE`: the connection was shut down for writing.
    BrokenPipe,
    WouldBlock,
    /// `EOPNOTSUPP`: e.g. a zero-copy send on a socket that does not support it.
    OperationUnsupported,
    FileDescriptorNotASocket,
    FileDescriptorInvalid,
} || CompletionError;

/// `Ring.recv`, `recvmsg`. As `std.Io.net.Socket.ReceiveError`.
pub const ReceiveError = error{
    SystemResources,
    SocketUnconnected,
    MessageOversize,
    ConnectionResetByPeer,
    ConnectionRefused,
    ConnectionTimedOut,
    NetworkDown,
    WouldBlock,
    FileDescriptorNotASocket,
    FileDescriptorInvalid,
} || CompletionError;

/// `Ring.recvMultishot`: a `ReceiveError`, or its buffer group ran dry.
pub const MultishotReceiveError = error{
    /// `ENOBUFS`: the buffer group ran dry and the kernel ended the receive (set
    /// `OpOptions.rearm` to have the library wait for a recycled buffer instead).
    BufferGroupExhausted,
} || ReceiveError;

/// `Ring.shutdown`. As `std.Io.net.ShutdownError`.
pub const ShutdownError = error{
    ConnectionAborted,
    ConnectionResetByPeer,
    NetworkDown,
    SocketUnconnected,
    SystemResources,
    FileDescriptorNotASocket,
    FileDescriptorInvalid,
} || CompletionError;

/// `Ring.poll`, `pollMultishot`.
pub const PollError = error{
    SystemResources,
    FileDescriptorInvalid,
} || CompletionError;

/// `Ring.splice`.
pub const SpliceError = error{
    InputOutput,
    SystemResources,
    WouldBlock,
    BrokenPipe,
    Unseekable,
    FileDescriptorInvalid,
} || CompletionError;

// --- the mapping -----------------------------------------------------------------------

/// For each errno, the names it takes, in order of preference: a set gets the first one
/// it declares (`ENOENT` is `FileNotFound` for `openat`, `OperationNotFound` for `cancel`).
const names_by_errno = [_]struct { errno: u16, names: []const []const u8 }{
    .{ .errno = capi.EPERM, .names = &.{ "PermissionDenied", "BlockedByFirewall" } },
    .{ .errno = capi.ENOENT, .names = &.{ "FileNotFound", "OperationNotFound" } },
    .{ .errno = capi.EINTR, .names = &.{"SignalInterrupt"} },
    .{ .errno = capi.EIO, .names = &.{"InputOutput"} },
    .{ .errno = capi.ENXIO, .names = &.{"NothingRegistered"} },
    .{ .errno = capi.E2BIG, .names = &.{"LinkChainTooLong"} },
    .{ .errno = capi.EBADF, .names = &.{ "NotOpenForReading", "NotOpenForWriting", "FileDescriptorInvalid" } },
    .{ .errno = capi.EAGAIN, .names = &.{"WouldBlock"} },
    .{ .errno = capi.ENOMEM, .names = &.{"SystemResources"} },
    .{ .errno = capi.EACCES, .names = &.{"AccessDenied"} },
    .{ .errno = capi.EFAULT, .names = &.{"BufferInvalid"} },
    .{ .errno = capi.EBUSY, .names = &.{ "RingBusy", "DeviceBusy", "FileBusy" } },
    .{ .errno = capi.EEXIST, .names = &.{ "PathAlreadyExists", "NotRingThread" } },
    .{ .errno = capi.EXDEV, .names = &.{"CrossDevice"} },
    .{ .errno = capi.ENODEV, .names = &.{"NoDevice"} },
    .{ .errno = capi.ENOTDIR, .names = &.{"NotDir"} },
    .{ .errno = capi.EISDIR, .names = &.{"IsDir"} },
    .{ .errno = capi.EINVAL, .names = &.{ "ArgumentsInvalid", "SocketNotListening" } },
    .{ .errno = capi.ENFILE, .names = &.{"SystemFdQuotaExceeded"} },
    .{ .errno = capi.EMFILE, .names = &.{"ProcessFdQuotaExceeded"} },
    .{ .errno = capi.ETXTBSY, .names = &.{"FileBusy"} },
    .{ .errno = capi.EFBIG, .names = &.{"FileTooBig"} },
    .{ .errno = capi.ENOSPC, .names = &.{ "NoSpaceLeft", "BufferGroupIdsExhausted" } },
    .{ .errno = capi.ESPIPE, .names = &.{"Unseekable"} },
    .{ .errno = capi.EROFS, .names = &.{"ReadOnlyFileSystem"} },
    .{ .errno = capi.EMLINK, .names = &.{"LinkQuotaExceeded"} },
    .{ .errno = capi.EDQUOT, .names = &.{"DiskQuota"} },
    .{ .errno = capi.EPIPE, .names = &.{"BrokenPipe"} },
    .{ .errno = capi.ENAMETOOLONG, .names = &.{"NameTooLong"} },
    .{ .errno = capi.ENOSYS, .names = &.{"SystemOutdated"} },
    .{ .errno = capi.ENOTEMPTY, .names = &.{"DirNotEmpty"} },
    .{ .errno = capi.ELOOP, .names = &.{"SymLinkLoop"} },
    .{ .errno = capi.EPROTO, .names = &.{"ProtocolFailure"} },
    .{ .errno = capi.ENOTSOCK, .names = &.{"FileDescriptorNotASocket"} },
    .{ .errno = capi.EMSGSIZE, .names = &.{"MessageOversize"} },
    .{ .errno = capi.EPROTOTYPE, .names = &.{"ProtocolUnsupportedByAddressFamily"} },
    .{ .errno = capi.EPROTONOSUPPORT, .names = &.{"ProtocolUnsupportedBySystem"} },
    .{ .errno = capi.EOPNOTSUPP, .names = &.{"OperationUnsupported"} },
    .{ .errno = capi.EAFNOSUPPORT, .names = &.{"AddressFamilyUnsupported"} },
    .{ .errno = capi.EADDRINUSE, .names = &.{"AddressInUse"} },
    .{ .errno = capi.EADDRNOTAVAIL, .names = &.{"AddressUnavailable"} },
    .{ .errno = capi.ENETDOWN, .names = &.{"NetworkDown"} },
    .{ .errno = capi.ENETUNREACH, .names = &.{"NetworkUnreachable"} },
    .{ .errno = capi.ECONNABORTED, .names = &.{"ConnectionAborted"} },
    .{ .errno = capi.ECONNRESET, .names = &.{"ConnectionResetByPeer"} },
    .{ .errno = capi.ENOBUFS, .names = &.{ "BufferGroupExhausted", "SystemResources" } },
    .{ .errno = capi.EISCONN, .names = &.{"AlreadyConnected"} },
    .{ .errno = capi.ENOTCONN, .names = &.{"SocketUnconnected"} },
    .{ .errno = capi.ESHUTDOWN, .names = &.{"RingShuttingDown"} },
    // A deadline's ETIMEDOUT is told apart by its completion flag before this table.
    .{ .errno = capi.ETIMEDOUT, .names = &.{"ConnectionTimedOut"} },
    .{ .errno = capi.ECONNREFUSED, .names = &.{"ConnectionRefused"} },
    .{ .errno = capi.EHOSTUNREACH, .names = &.{"HostUnreachable"} },
    .{ .errno = capi.EALREADY, .names = &.{ "ConnectionPending", "OperationUncancelable" } },
    .{ .errno = capi.EINPROGRESS, .names = &.{"ConnectionPending"} },
    .{ .errno = capi.ECANCELED, .names = &.{"Canceled"} },
};

/// The largest errno `names_by_errno` names.
const max_errno = max: {
    var max: u16 = 0;
    for (names_by_errno) |entry| max = @max(max, entry.errno);
    break :max max;
};

/// The names of the errors of `Set`. The type info differs: 0.16 lists `Error` structs,
/// 0.17 the names.
fn errorNames(comptime Set: type) []const []const u8 {
    const info = @typeInfo(Set).error_set;
    const list = if (@typeInfo(@TypeOf(info)) == .optional) info.? else info.error_names.?;
    var names: [list.len][]const u8 = undefined;
    for (list, &names) |entry, *name| name.* = if (@TypeOf(entry) == [:0]const u8) entry else entry.name;
    const final = names;
    return &final;
}

fn hasError(comptime Set: type, comptime name: []const u8) bool {
    for (errorNames(Set)) |err_name| {
        if (std.mem.eql(u8, err_name, name)) return true;
    }
    return false;
}

/// The errors of `Set` indexed by errno: for each errno, the first of its names `Set`
/// declares, else `error.Unexpected`.
fn tableFor(comptime Set: type) [max_errno + 1]Set {
    @setEvalBranchQuota(100_000);
    var table: [max_errno + 1]Set = @splat(error.Unexpected);
    for (names_by_errno) |entry| {
        for (entry.names) |name| {
            if (hasError(Set, name)) {
                table[entry.errno] = @field(Set, name);
                break;
            }
        }
    }
    return table;
}

/// Maps an errno (negative as the C API returns it, or positive) to an error of `Set`;
/// codes `Set` does not name become `error.Unexpected`. `deadline` says the completion
/// carried `AR_COMPLETION_DEADLINE`: then `ETIMEDOUT` is `error.Timeout`.
pub fn fromErrno(comptime Set: type, code: i32, deadline: bool) Set {
    const errno = @abs(code);
    if (deadline and errno == capi.ETIMEDOUT and comptime hasError(Set, "Timeout")) {
        return @field(Set, "Timeout");
    }
    const table = comptime tableFor(Set);
    return if (errno < table.len) table[errno] else error.Unexpected;
}

/// The errno an error of `Set` stands for (positive), or null for one no errno maps to
/// (`error.Unexpected`). `error.Timeout` is `ETIMEDOUT`.
pub fn toErrno(comptime Set: type, err: Set) ?u16 {
    switch (err) {
        inline else => |e| return comptime errnoOf(Set, e),
    }
}

fn errnoOf(comptime Set: type, comptime err: Set) ?u16 {
    if (std.mem.eql(u8, @errorName(err), "Timeout")) return capi.ETIMEDOUT;
    const table = tableFor(Set);
    for (table, 0..) |mapped, errno| {
        if (mapped == err and err != error.Unexpected) return errno;
    }
    return null;
}

/// Every family, for the tests (and the docs).
pub const families = .{
    InitError,     QueueError,        CancelQueueError, RunError,     PostError,
    RegisterError, BufGroupInitError, RecycleError,     NopError,     CancelError,
    ReadError,     WriteError,        SyncError,        OpenError,    CloseError,
    StatError,     DeleteError,       RenameError,      MakeDirError, SocketError,
    ConnectError,  AcceptError,       SendError,        ReceiveError, MultishotReceiveError,
    ShutdownError, PollError,         SpliceError,
};

test "every error of every family is reachable from an errno" {
    inline for (families) |Set| {
        inline for (comptime errorNames(Set)) |name| {
            const e = @field(Set, name);
            if (e == error.Unexpected) continue;
            const errno = toErrno(Set, e) orelse {
                std.debug.print("{s} has {s}, which no errno maps to\n", .{ @typeName(Set), name });
                return error.TestUnexpectedResult;
            };
            const deadline = e == error.Timeout;
            try std.testing.expectEqual(e, fromErrno(Set, -@as(i32, errno), deadline));
        }
    }
}

test "a deadline is Timeout, the kernel's ETIMEDOUT is ConnectionTimedOut" {
    const timedout: i32 = -capi.ETIMEDOUT;
    try std.testing.expectEqual(error.Timeout, fromErrno(ConnectError, timedout, true));
    try std.testing.expectEqual(error.ConnectionTimedOut, fromErrno(ConnectError, timedout, false));
    // A family that cannot meet the kernel's ETIMEDOUT calls it unexpected, not a deadline.
    try std.testing.expectEqual(error.Unexpected, fromErrno(NopError, timedout, false));
    try std.testing.expectEqual(error.Timeout, fromErrno(NopError, timedout, true));
}

test "one errno, the name its family gives it" {
    const noent: i32 = -capi.ENOENT;
    try std.testing.expectEqual(error.FileNotFound, fromErrno(OpenError, noent, false));
    try std.testing.expectEqual(error.OperationNotFound, fromErrno(CancelError, noent, false));
    const badf: i32 = -capi.EBADF;
    try std.testing.expectEqual(error.NotOpenForReading, fromErrno(ReadError, badf, false));
    try std.testing.expectEqual(error.NotOpenForWriting, fromErrno(WriteError, badf, false));
    try std.testing.expectEqual(error.FileDescriptorInvalid, fromErrno(QueueError, badf, false));
    const nobufs: i32 = -capi.ENOBUFS;
    try std.testing.expectEqual(error.BufferGroupExhausted, fromErrno(MultishotReceiveError, nobufs, false));
    try std.testing.expectEqual(error.SystemResources, fromErrno(ReceiveError, nobufs, false));
    try std.testing.expectEqual(error.Unexpected, fromErrno(ReadError, -4095, false));
    try std.testing.expectEqual(error.Unexpected, fromErrno(ReadError, std.math.minInt(i32), false));
}
