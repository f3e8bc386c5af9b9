//! File and path operations: reads and writes (plain, vectored, registered-buffer),
//! sync, allocation, open, close, stat, unlink, rename, mkdir. Methods of `Ring`.
//!
//! Paths are copied by the library when the call returns; data buffers, iovec-described
//! buffers and `Statx` results belong to the caller until the final callback.

const std = @import("std");
const linux = std.os.linux;
const posix = std.posix;
const capi = @import("asyncring_c");
const errors = @import("errors.zig");
const completion = @import("completion.zig");
const Ring = @import("Ring.zig");

const fd_t = posix.fd_t;
const Op = completion.Op;
const OpOptions = completion.OpOptions;
const Callback = completion.Callback;
const QueueError = errors.QueueError;
const queued = completion.queued;
const trampoline = completion.trampoline;
const toUserdata = completion.toUserdata;
const offsetArg = completion.offsetArg;

/// Queues a read from `fd` at `offset` (null: the current position, as for pipes and
/// sockets) into `buf`; it completes with the byte count, 0 at end of file. `buf` must
/// stay valid until the final callback.
pub fn read(
    ring: Ring,
    fd: fd_t,
    buf: []u8,
    offset: ?u64,
    options: OpOptions,
    context: anytype,
    comptime callback: Callback(@TypeOf(context), .read),
) QueueError!Op {
    const o = options.toC();
    return queued(QueueError, capi.ar_op_read(
        ring.handle,
        fd,
        buf.ptr,
        buf.len,
        offsetArg(offset),
        &o,
        toUserdata(context),
        trampoline(@TypeOf(context), .read, callback),
    ));
}

/// Queues a write of `buf` to `fd` at `offset` (null: the current position); it completes
/// with the byte count. `buf` must stay valid until the final callback.
pub fn write(
    ring: Ring,
    fd: fd_t,
    buf: []const u8,
    offset: ?u64,
    options: OpOptions,
    context: anytype,
    comptime callback: Callback(@TypeOf(context), .write),
) QueueError!Op {
    const o = options.toC();
    return queued(QueueError, capi.ar_op_write(
        ring.handle,
        fd,
        buf.ptr,
        buf.len,
        offsetArg(offset),
        &o,
        toUserdata(context),
        trampoline(@TypeOf(context), .write, callback),
    ));
}

/// Queues a scatter read (`preadv2`) into 1 to 1024 buffers. The iovec array is copied;
/// the buffers it describes must stay valid until the final callback.
pub fn readv(
    ring: Ring,
    fd: fd_t,
    iovecs: []const posix.iovec,
    offset: ?u64,
    options: OpOptions,
    context: anytype,
    comptime callback: Callback(@TypeOf(context), .read),
) QueueError!Op {
    const o = options.toC();
    return queued(QueueError, capi.ar_op_readv(
        ring.handle,
        fd,
        @ptrCast(iovecs.ptr),
        iovecs.len,
        offsetArg(offset),
        &o,
        toUserdata(context),
        trampoline(@TypeOf(context), .read, callback),
    ));
}

/// Queues a gather write (`pwritev2`) from 1 to 1024 buffers. The iovec array is copied;
/// the buffers must stay valid until the final callback.
pub fn writev(
    ring: Ring,
    fd: fd_t,
    iovecs: []const posix.iovec_const,
    offset: ?u64,
    options: OpOptions,
    context: anytype,
    comptime callback: Callback(@TypeOf(context), .write),
) QueueError!Op {
    const o = options.toC();
    return queued(QueueError, capi.ar_op_writev(
        ring.handle,
        fd,
        @ptrCast(iovecs.ptr),
        iovecs.len,
        offsetArg(offset),
        &o,
        toUserdata(context),
        trampoline(@TypeOf(context), .write, callback),
    ));
}

/// Queues a read into `buf`, a range inside registered buffer `buf_index` (see
/// `Ring.registerBuffers`); a range outside it completes with `error.BufferInvalid`.
pub fn readFixed(
    ring: Ring,
    fd: fd_t,
    buf: []u8,
    offset: ?u64,
    buf_index: u16,
    options: OpOptions,
    context: anytype,
    comptime callback: Callback(@TypeOf(context), .read),
) QueueError!Op {
    const o = options.toC();
    return queued(QueueError, capi.ar_op_read_fixed(
        ring.handle,
        fd,
        buf.ptr,
        buf.len,
        offsetArg(offset),
        buf_index,
        &o,
        toUserdata(context),
        trampoline(@TypeOf(context), .read, callback),
    ));
}

/// Queues a write from `buf`, a range inside registered buffer `buf_index` (see
/// `Ring.registerBuffers`); a range outside it completes with `error.BufferInvalid`.
pub fn writeFixed(
    ring: Ring,
    fd: fd_t,
    buf: []const u8,
    offset: ?u64,
    buf_index: u16,
    options: OpOptions,
    context: anytype,
    comptime callback: Callback(@TypeOf(context), .write),
) QueueError!Op {
    const o = options.toC();
    return queued(QueueError, capi.ar_op_write_fixed(
        ring.handle,
        fd,
        buf.ptr,
        buf.len,
        offsetArg(offset),
        buf_index,
        &o,
        toUserdata(context),
        trampoline(@TypeOf(context), .write, callback),
    ));
}

/// What `fsync` flushes.
pub const SyncMode = enum {
    /// `fsync(2)`: data and metadata.
    all,
    /// `fdatasync(2)`: data only (`AR_FSYNC_DATASYNC`).
    data,
};

/// Queues `fsync(fd)` or, with `.data`, `fdatasync(fd)`.
pub fn fsync(
    ring: Ring,
    fd: fd_t,
    mode: SyncMode,
    options: OpOptions,
    context: anytype,
    comptime callback: Callback(@TypeOf(context), .sync),
) QueueError!Op {
    const o = options.toC();
    const flags: u32 = switch (mode) {
        .all => 0,
        .data => capi.AR_FSYNC_DATASYNC,
    };
    return queued(QueueError, capi.ar_op_fsync(
        ring.handle,
        fd,
        flags,
        &o,
        toUserdata(context),
        trampoline(@TypeOf(context), .sync, callback),
    ));
}

/// Queues `fallocate(fd, mode, offset, len)`; `mode` is `FALLOC_FL_*` flags.
pub fn fallocate(
    ring: Ring,
    fd: fd_t,
    mode: i32,
    offset: u64,
    len: u64,
    options: OpOptions,
    context: anytype,
    comptime callback: Callback(@TypeOf(context), .sync),
) QueueError!Op {
    const o = options.toC();
    return queued(QueueError, capi.ar_op_fallocate(
        ring.handle,
        fd,
        mode,
        offset,
        len,
        &o,
        toUserdata(context),
        trampoline(@TypeOf(context), .sync, callback),
    ));
}

/// Queues `openat(dir, path, flags, mode)`; it completes with the new file descriptor.
/// `dir` is a directory fd or `cwd`; `path` is copied.
pub fn openat(
    ring: Ring,
    dir: fd_t,
    path: [:0]const u8,
    flags: posix.O,
    mode: posix.mode_t,
    options: OpOptions,
    context: anytype,
    comptime callback: Callback(@TypeOf(context), .open),
) QueueError!Op {
    const o = options.toC();
    const raw_flags: u32 = @bitCast(flags);
    return queued(QueueError, capi.ar_op_openat(
        ring.handle,
        dir,
        path.ptr,
        @bitCast(raw_flags),
        mode,
        &o,
        toUserdata(context),
        trampoline(@TypeOf(context), .open, callback),
    ));
}

/// Queues `close(fd)` (not for registered files).
pub fn close(
    ring: Ring,
    fd: fd_t,
    options: OpOptions,
    context: anytype,
    comptime callback: Callback(@TypeOf(context), .close),
) QueueError!Op {
    const o = options.toC();
    return queued(QueueError, capi.ar_op_close(
        ring.handle,
        fd,
        &o,
        toUserdata(context),
        trampoline(@TypeOf(context), .close, callback),
    ));
}

/// Queues `statx(dir, path, flags, mask, result)`; `flags` are `AT_*` (`""` with
/// `AT_EMPTY_PATH` for `dir` itself), `mask` says which fields to fill. `path` is copied;
/// `result` must stay valid until the final callback.
pub fn statx(
    ring: Ring,
    dir: fd_t,
    path: [:0]const u8,
    flags: u32,
    mask: linux.STATX,
    result: *linux.Statx,
    options: OpOptions,
    context: anytype,
    comptime callback: Callback(@TypeOf(context), .stat),
) QueueError!Op {
    const o = options.toC();
    return queued(QueueError, capi.ar_op_statx(
        ring.handle,
        dir,
        path.ptr,
        @bitCast(flags),
        @bitCast(mask),
        @ptrCast(result),
        &o,
        toUserdata(context),
        trampoline(@TypeOf(context), .stat, callback),
    ));
}

/// What `unlinkat` removes.
pub const UnlinkKind = enum {
    /// A file (or symbolic link).
    file,
    /// An empty directory (`AT_REMOVEDIR`).
    dir,
};

/// Queues `unlinkat(dir, path, ...)`; `path` is copied.
pub fn unlinkat(
    ring: Ring,
    dir: fd_t,
    path: [:0]const u8,
    kind: UnlinkKind,
    options: OpOptions,
    context: anytype,
    comptime callback: Callback(@TypeOf(context), .delete),
) QueueError!Op {
    const o = options.toC();
    const flags: c_int = switch (kind) {
        .file => 0,
        .dir => posix.AT.REMOVEDIR,
    };
    return queued(QueueError, capi.ar_op_unlinkat(
        ring.handle,
        dir,
        path.ptr,
        flags,
        &o,
        toUserdata(context),
        trampoline(@TypeOf(context), .delete, callback),
    ));
}

/// Flags for `renameat` (`renameat2(2)`).
pub const RenameFlags = packed struct(u32) {
    /// `RENAME_NOREPLACE`: fail with `error.PathAlreadyExists` rather than replace.
    noreplace: bool = false,
    /// `RENAME_EXCHANGE`: atomically exchange the two paths.
    exchange: bool = false,
    /// `RENAME_WHITEOUT`: leave a whiteout at the old path (overlay file systems).
    whiteout: bool = false,
    _: u29 = 0,
};

/// Queues `renameat2(old_dir, old_path, new_dir, new_path, flags)`; both paths are
/// copied.
pub fn renameat(
    ring: Ring,
    old_dir: fd_t,
    old_path: [:0]const u8,
    new_dir: fd_t,
    new_path: [:0]const u8,
    flags: RenameFlags,
    options: OpOptions,
    context: anytype,
    comptime callback: Callback(@TypeOf(context), .rename),
) QueueError!Op {
    const o = options.toC();
    return queued(QueueError, capi.ar_op_renameat(
        ring.handle,
        old_dir,
        old_path.ptr,
        new_dir,
        new_path.ptr,
        @bitCast(flags),
        &o,
        toUserdata(context),
        trampoline(@TypeOf(context), .rename, callback),
    ));
}

/// Queues `mkdirat(dir, path, mode)`; `path` is copied.
pub fn mkdirat(
    ring: Ring,
    dir: fd_t,
    path: [:0]const u8,
    mode: posix.mode_t,
    options: OpOptions,
    context: anytype,
    comptime callback: Callback(@TypeOf(context), .make_dir),
) QueueError!Op {
    const o = options.toC();
    return queued(QueueError, capi.ar_op_mkdirat(
        ring.handle,
        dir,
        path.ptr,
        mode,
        &o,
        toUserdata(context),
        trampoline(@TypeOf(context), .make_dir, callback),
    ));
}
