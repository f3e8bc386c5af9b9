//! Writes through a ring into a pipe and reads it back through the ring, then opens a
//! missing file: real operations against the kernel, through the package as a dependency.

const std = @import("std");
const asyncring = @import("asyncring");

const Read = struct {
    buf: [32]u8 = undefined,
    result: ?asyncring.ReadError!usize = null,

    fn done(read: *Read, completion: asyncring.Completion(.read)) void {
        read.result = completion.result();
    }
};

const Wrote = struct {
    result: ?asyncring.WriteError!usize = null,

    fn done(wrote: *Wrote, completion: asyncring.Completion(.write)) void {
        wrote.result = completion.result();
    }
};

const Open = struct {
    result: ?asyncring.OpenError!std.posix.fd_t = null,

    fn done(open: *Open, completion: asyncring.Completion(.open)) void {
        open.result = completion.result();
    }
};

pub fn main() !void {
    const ring = try asyncring.Ring.init(.{});
    defer ring.deinit();

    var fds: [2]std.posix.fd_t = undefined;
    if (std.c.pipe2(&fds, .{ .CLOEXEC = true }) != 0) return error.PipeFailed;
    defer for (fds) |fd| {
        _ = std.c.close(fd);
    };

    const message = "through the ring";
    var wrote: Wrote = .{};
    var read: Read = .{};
    _ = try ring.write(fds[1], message, null, .{}, &wrote, Wrote.done);
    _ = try ring.read(fds[0], &read.buf, null, .{ .timeout = .fromSeconds(5) }, &read, Read.done);
    _ = try ring.run(.until_done);
    if (try wrote.result.? != message.len) return error.ShortWrite;
    const n = try read.result.?;
    if (!std.mem.eql(u8, read.buf[0..n], message)) return error.WrongBytes;

    var open: Open = .{};
    _ = try ring.openat(asyncring.cwd, "/nonexistent/asyncring-consumer", .{ .CLOEXEC = true }, 0, .{}, &open, Open.done);
    _ = try ring.run(.until_done);
    if (open.result.?) |fd| {
        _ = std.c.close(fd);
        return error.MissingFileOpened;
    } else |err| switch (err) {
        error.FileNotFound => {},
        else => return err,
    }

    var line: [128]u8 = undefined;
    const text = try std.fmt.bufPrint(&line, "consumer: libasyncring {s}: {d} bytes through the ring, then error.FileNotFound\n", .{ asyncring.version(), n });
    _ = std.c.write(1, text.ptr, text.len);
}
