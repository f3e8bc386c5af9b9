//! The Zig package of libasyncring.
//!
//! The C library is a system dependency found through pkg-config (`asyncring.pc`): set
//! `PKG_CONFIG_PATH` to `<prefix>/lib/pkgconfig` when it is not installed system-wide.
//! Its header is translated here (`b.addTranslateC`, the replacement for `@cImport`, which
//! Zig 0.17 removed) into the private module `asyncring_c`, on which the public module
//! `asyncring` (src/asyncring.zig) is built.
//!
//! Steps: `zig build` (installs the example `echo_server`), `zig build test`,
//! `zig build echo -- PORT`, and with Zig 0.16 only `zig build cimport` (the `@cImport`
//! example). One build.zig serves 0.16.0 and 0.17.1: the std.Build calls used here have the
//! same shape in both, and the two that differ are chosen at compile time: `@cImport`
//! (gone in 0.17) by `builtin.zig_version`, and passing `zig build echo -- ARGS` through
//! (`b.args` in 0.16, `Run.addPassthruArgs` in 0.17) by `@hasDecl`.

const std = @import("std");
const builtin = @import("builtin");

/// `@cImport` exists up to 0.16 and was removed in 0.17.
const has_cimport = builtin.zig_version.order(.{ .major = 0, .minor = 17, .patch = 0 }) == .lt;

pub fn build(b: *std.Build) void {
    const target = b.standardTargetOptions(.{});
    const optimize = b.standardOptimizeOption(.{});

    // The header of the installed library, translated; pkg-config supplies both the `-I`
    // for the translation and the `-L`/`-l` for everything that imports the module.
    const translate = b.addTranslateC(.{
        .root_source_file = b.path("src/asyncring_c.h"),
        .target = target,
        .optimize = optimize,
        .link_libc = true,
    });
    translate.linkSystemLibrary("asyncring", .{ .use_pkg_config = .force });
    const c_module = translate.createModule();

    const asyncring = b.addModule("asyncring", .{
        .root_source_file = b.path("src/asyncring.zig"),
        .target = target,
        .optimize = optimize,
        .link_libc = true,
        .imports = &.{.{ .name = "asyncring_c", .module = c_module }},
    });

    // --- tests: the wrapper's own unit tests, and scenarios against the real kernel ---
    const test_step = b.step("test", "Run the Zig package's tests against libasyncring");
    const unit_tests = b.addTest(.{ .name = "asyncring-unit", .root_module = asyncring });
    const scenario_tests = b.addTest(.{
        .name = "asyncring-scenarios",
        .root_module = b.createModule(.{
            .root_source_file = b.path("tests/asyncring_test.zig"),
            .target = target,
            .optimize = optimize,
            .link_libc = true,
            .imports = &.{.{ .name = "asyncring", .module = asyncring }},
        }),
    });
    for ([_]*std.Build.Step.Compile{ unit_tests, scenario_tests }) |t| {
        const run = b.addRunArtifact(t);
        // The scenarios test the kernel and the installed library as much as this code,
        // and ASYNCRING_REQUIRE_URING changes their outcome: never reuse a cached result.
        run.has_side_effects = true;
        test_step.dependOn(&run.step);
    }

    // --- the echo server example (examples/zig/echo_server.zig) ---
    const echo = b.addExecutable(.{
        .name = "echo_server",
        .root_module = b.createModule(.{
            .root_source_file = b.path("../examples/zig/echo_server.zig"),
            .target = target,
            .optimize = optimize,
            .link_libc = true,
            .imports = &.{.{ .name = "asyncring", .module = asyncring }},
        }),
    });
    b.installArtifact(echo);
    const run_echo = b.addRunArtifact(echo);
    forwardArgs(b, run_echo);
    b.step("echo", "Run the echo server: zig build echo -- PORT").dependOn(&run_echo.step);

    // --- the @cImport example (examples/zig/cimport_016), for Zig 0.16 only ---
    const cimport_step = b.step("cimport", "Build and run the @cImport example (Zig 0.16 only)");
    if (has_cimport) {
        const module = b.createModule(.{
            .root_source_file = b.path("../examples/zig/cimport_016/main.zig"),
            .target = target,
            .optimize = optimize,
            .link_libc = true,
        });
        // pkg-config gives @cImport its include path, and the link line.
        module.linkSystemLibrary("asyncring", .{ .use_pkg_config = .force });
        const exe = b.addExecutable(.{ .name = "cimport_016", .root_module = module });
        cimport_step.dependOn(&b.addRunArtifact(exe).step);
    } else {
        cimport_step.dependOn(&b.addFail("@cImport was removed in Zig 0.17: build this step with Zig 0.16, " ++
            "or use the translated module as the asyncring package does").step);
    }
}

/// Forwards the arguments after `--` on the `zig build` command line to `run`: 0.17 has
/// `Run.addPassthruArgs` (the configure phase no longer sees them), 0.16 has `b.args`.
fn forwardArgs(b: *std.Build, run: *std.Build.Step.Run) void {
    if (@hasDecl(std.Build.Step.Run, "addPassthruArgs")) {
        run.addPassthruArgs();
    } else if (b.args) |args| {
        run.addArgs(args);
    }
}
