//! Whether io_uring is usable here and, if not, why.

const std = @import("std");
const capi = @import("asyncring_c");
const errors = @import("errors.zig");

/// Why io_uring is or is not usable (`Probe.reason`).
pub const Reason = enum {
    /// io_uring is usable.
    ok,
    /// A seccomp filter blocks io_uring (as Docker's default profile does).
    seccomp,
    /// The `kernel.io_uring_disabled` sysctl forbids io_uring to this process.
    sysctl,
    /// The kernel lacks io_uring or a needed feature (5.19 or later is required).
    kernel,
    /// Out of memory, file descriptors or locked memory.
    resources,
    /// Anything else; see `Probe.message`.
    other,
};

/// The diagnosis of `probe`.
pub const Probe = struct {
    raw: capi.ar_probe,

    /// Null when io_uring is usable, else the error `Ring.init` fails with.
    pub fn err(p: *const Probe) ?errors.InitError {
        return if (p.raw.status < 0) errors.fromErrno(errors.InitError, p.raw.status, false) else null;
    }

    /// Why it is not usable.
    pub fn reason(p: *const Probe) Reason {
        return switch (p.raw.reason) {
            capi.AR_PROBE_OK => .ok,
            capi.AR_PROBE_SECCOMP => .seccomp,
            capi.AR_PROBE_SYSCTL => .sysctl,
            capi.AR_PROBE_KERNEL => .kernel,
            capi.AR_PROBE_RESOURCES => .resources,
            else => .other,
        };
    }

    /// The running kernel's release (`uname -r`).
    pub fn kernelRelease(p: *const Probe) []const u8 {
        return std.mem.sliceTo(&p.raw.kernel_release, 0);
    }

    /// A sentence saying what is wrong and what to do about it.
    pub fn message(p: *const Probe) []const u8 {
        return std.mem.sliceTo(&p.raw.message, 0);
    }
};

/// Tells whether io_uring is usable here and, if not, why (creates and frees a small
/// ring).
pub fn probe() Probe {
    var p: Probe = .{ .raw = undefined };
    _ = capi.ar_ring_probe(&p.raw);
    return p;
}
