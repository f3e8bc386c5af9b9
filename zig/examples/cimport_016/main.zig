//! The C API straight from `@cImport`, as Zig 0.16 (and earlier) users write it: no
//! wrapper, raw `-errno` returns, `?*anyopaque` userdata and a `callconv(.c)` callback.
//! `@cImport` was removed in Zig 0.17; there, translate the header in build.zig
//! (`b.addTranslateC`) or use the `asyncring` package.
//!
//! Build (Zig 0.16.0), against an installed library:
//!   zig build-exe main.zig -lc $(pkg-config --cflags --libs asyncring)
//! or, from the repository root: `zig build cimport` (with asyncring.pc on PKG_CONFIG_PATH).

const std = @import("std");
const c = @cImport(@cInclude("asyncring.h"));

const State = struct {
    fired: u32 = 0,
    last_res: i32 = 0,
};

fn onComplete(userdata: ?*anyopaque, completion: [*c]const c.ar_completion) callconv(.c) void {
    const state: *State = @ptrCast(@alignCast(userdata.?));
    state.fired += 1;
    state.last_res = completion.*.res;
}

pub fn main() !void {
    var ring: ?*c.ar_ring = null;
    const rc = c.ar_ring_new(null, &ring);
    if (rc < 0) {
        std.debug.print("cimport_016: ar_ring_new: {s}\n", .{c.ar_strerror(rc)});
        return error.RingUnavailable;
    }
    defer c.ar_ring_free(ring);

    var state: State = .{};
    if (c.ar_op_nop(ring, null, &state, onComplete) < 0) return error.QueueFailed;
    const opts: c.ar_op_opts = .{ .timeout_ns = 0, .flags = 0, .reserved = 0 };
    if (c.ar_op_timeout(ring, 1_000_000, &opts, &state, onComplete) < 0) return error.QueueFailed;
    if (c.ar_ring_run(ring, c.AR_RUN_UNTIL_DONE) < 0) return error.RunFailed;

    if (state.fired != 2 or state.last_res != 0) return error.WrongCompletions;
    std.debug.print("cimport_016: libasyncring {s}: 2 completions through @cImport\n", .{c.ar_version()});
}
