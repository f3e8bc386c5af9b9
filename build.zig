//! The Zig package of libasyncring, at the repository root because Zig fetches a package
//! by the root of a repository or tarball (SPEC §6); its sources live in `zig/`.
//!
//! It exposes the module `asyncring` (zig/src/asyncring.zig) over the C API, translated
//! from `asyncring.h` (`b.addTranslateC`; Zig 0.17 removed `@cImport`) into the private
//! module `asyncring_c`. Where the C library comes from is the option `-Dlink`:
//!
//! - `system`: an installed libasyncring found by pkg-config (`asyncring.pc`; set
//!   `PKG_CONFIG_PATH` for a private prefix): its header and its shared library.
//! - `cargo`: this package builds the Rust core itself, `cargo build --release --lib`
//!   into a target directory in the build's cache (`-Dcargo-target-dir` overrides it),
//!   then translates the package's own `include/asyncring.h` and links the static
//!   `libasyncring.a` with the system libraries of `asyncring.pc`'s `Libs.private`.
//!   Needs `cargo` on `PATH` (or `-Dcargo=PATH`).
//! - `auto` (the default): `system` when `pkg-config --exists asyncring` succeeds, else
//!   `cargo`.
//!
//! Steps: `zig build` (installs the example `echo_server`), `zig build test`,
//! `zig build echo -- PORT`, `zig build beside-std-io`, `zig build docs` (HTML API
//! reference in zig-out/docs), and with Zig 0.16 only `zig build cimport` (the `@cImport`
//! example). One build.zig serves 0.16.0 and 0.17.1: where their std.Build differs, the
//! choice is made at compile time (see `has_cimport`, `cargoTargetDir`, `forwardArgs`).

const std = @import("std");
const builtin = @import("builtin");

/// `@cImport` exists up to 0.16 and was removed in 0.17.
const has_cimport = builtin.zig_version.order(.{ .major = 0, .minor = 17, .patch = 0 }) == .lt;

/// Where the C library comes from (`-Dlink`).
pub const Link = enum { auto, system, cargo };

/// What the Rust core's static library needs from the system when linked into a program:
/// `asyncring.pc.in`'s `Libs.private`, except that `gcc_s` (which provides the `_Unwind_*`
/// functions Rust's standard library unwinds panics with, caught at the C boundary) is
/// replaced by Zig's own libunwind (`unwind`), and `c` comes with `link_libc`.
const static_deps = [_][]const u8{ "unwind", "util", "rt", "pthread", "m", "dl" };

pub fn build(b: *std.Build) void {
    const target = b.standardTargetOptions(.{});
    const optimize = b.standardOptimizeOption(.{});
    const link_option = b.option(
        Link,
        "link",
        "Where libasyncring comes from: auto (default: system if pkg-config finds asyncring, else cargo), system, cargo",
    ) orelse .auto;
    const cargo_exe = b.option(
        []const u8,
        "cargo",
        "The cargo to build the Rust core with (-Dlink=cargo; default: cargo on PATH)",
    ) orelse "cargo";
    const cargo_target_dir = b.option(
        []const u8,
        "cargo-target-dir",
        "Cargo's target directory for -Dlink=cargo (default: inside the build cache)",
    );

    const link: Link = switch (link_option) {
        .auto => if (pkgConfigFinds(b, "asyncring")) .system else .cargo,
        else => |l| l,
    };

    const translate = b.addTranslateC(.{
        .root_source_file = b.path("zig/src/asyncring_c.h"),
        .target = target,
        .optimize = optimize,
        .link_libc = true,
    });
    const asyncring = b.addModule("asyncring", .{
        .root_source_file = b.path("zig/src/asyncring.zig"),
        .target = target,
        .optimize = optimize,
        .link_libc = true,
    });
    switch (link) {
        .auto => unreachable,
        .system => {
            // pkg-config gives the translation its `-I` and every importer its `-L`/`-l`.
            translate.linkSystemLibrary("asyncring", .{ .use_pkg_config = .force });
            asyncring.linkSystemLibrary("asyncring", .{ .use_pkg_config = .force });
        },
        .cargo => {
            translate.addIncludePath(b.path("include"));
            asyncring.addObjectFile(cargoBuild(b, cargo_exe, cargo_target_dir));
            for (static_deps) |lib| asyncring.linkSystemLibrary(lib, .{});
        },
    }
    asyncring.addImport("asyncring_c", translate.createModule());

    // --- tests: the wrapper's own unit tests, and scenarios against the real kernel ---
    const test_step = b.step("test", "Run the Zig package's tests against libasyncring");
    const unit_tests = b.addTest(.{ .name = "asyncring-unit", .root_module = asyncring });
    const scenario_tests = b.addTest(.{
        .name = "asyncring-scenarios",
        .root_module = b.createModule(.{
            .root_source_file = b.path("zig/tests/asyncring_test.zig"),
            .target = target,
            .optimize = optimize,
            .link_libc = true,
            .imports = &.{.{ .name = "asyncring", .module = asyncring }},
        }),
    });
    for ([_]*std.Build.Step.Compile{ unit_tests, scenario_tests }) |t| {
        const run = b.addRunArtifact(t);
        // The scenarios test the kernel and the library as much as this code, and
        // ASYNCRING_REQUIRE_URING changes their outcome: never reuse a cached result.
        run.has_side_effects = true;
        test_step.dependOn(&run.step);
    }

    // --- examples (zig/examples/) ---
    const echo = example(b, "echo_server", asyncring, target, optimize);
    b.installArtifact(echo);
    const run_echo = b.addRunArtifact(echo);
    forwardArgs(b, run_echo);
    b.step("echo", "Run the echo server: zig build echo -- PORT").dependOn(&run_echo.step);

    const beside = example(b, "beside_std_io", asyncring, target, optimize);
    b.installArtifact(beside);
    b.step("beside-std-io", "Run the example of a ring on its own thread beside a std.Io program").dependOn(&b.addRunArtifact(beside).step);

    // --- the @cImport example (zig/examples/cimport_016), for Zig 0.16 only ---
    const cimport_step = b.step("cimport", "Build and run the @cImport example (Zig 0.16 only, -Dlink=system)");
    if (!has_cimport) {
        cimport_step.dependOn(&b.addFail("@cImport was removed in Zig 0.17: build this step with Zig 0.16, " ++
            "or use the translated module as the asyncring package does").step);
    } else if (link != .system) {
        cimport_step.dependOn(&b.addFail("the @cImport example includes the installed asyncring.h: " ++
            "it needs -Dlink=system (an asyncring.pc on PKG_CONFIG_PATH)").step);
    } else {
        const module = b.createModule(.{
            .root_source_file = b.path("zig/examples/cimport_016/main.zig"),
            .target = target,
            .optimize = optimize,
            .link_libc = true,
        });
        // pkg-config gives @cImport its include path, and the link line.
        module.linkSystemLibrary("asyncring", .{ .use_pkg_config = .force });
        const exe = b.addExecutable(.{ .name = "cimport_016", .root_module = module });
        cimport_step.dependOn(&b.addRunArtifact(exe).step);
    }

    // --- docs: the module's API reference, generated by the compiler ---
    const docs_object = b.addObject(.{ .name = "asyncring", .root_module = asyncring });
    const install_docs = b.addInstallDirectory(.{
        .source_dir = docs_object.getEmittedDocs(),
        .install_dir = .prefix,
        .install_subdir = "docs",
    });
    b.step("docs", "Generate the API reference of the asyncring module into zig-out/docs").dependOn(&install_docs.step);
}

fn example(
    b: *std.Build,
    comptime name: []const u8,
    asyncring: *std.Build.Module,
    target: std.Build.ResolvedTarget,
    optimize: std.builtin.OptimizeMode,
) *std.Build.Step.Compile {
    return b.addExecutable(.{
        .name = name,
        .root_module = b.createModule(.{
            .root_source_file = b.path("zig/examples/" ++ name ++ ".zig"),
            .target = target,
            .optimize = optimize,
            .link_libc = true,
            .imports = &.{.{ .name = "asyncring", .module = asyncring }},
        }),
    });
}

/// Runs `cargo build --release --lib` on this package's Rust core and returns its static
/// library. Cargo runs on every build (it decides in a few milliseconds that nothing
/// changed) in a target directory that persists between builds; the library is then copied
/// to a step output so everything that links it depends on this step.
fn cargoBuild(b: *std.Build, cargo_exe: []const u8, target_dir_option: ?[]const u8) std.Build.LazyPath {
    const cargo = b.addSystemCommand(&.{
        "/bin/sh",
        "-ec",
        \\"$1" build --release --lib --quiet --manifest-path "$2" --target-dir "$3"
        \\cp "$3/release/libasyncring.a" "$4"
        ,
        "cargo-build",
        cargo_exe,
    });
    cargo.setName("cargo build --release --lib (libasyncring)");
    cargo.addFileArg(b.path("Cargo.toml"));
    if (target_dir_option) |dir| {
        cargo.addArg(dir);
    } else {
        cargo.addDirectoryArg(cargoTargetDir(b));
    }
    // Cargo tracks the Rust sources itself; Zig's cache cannot see them.
    cargo.has_side_effects = true;
    return cargo.addOutputFileArg("libasyncring.a");
}

/// A directory for cargo's build products that outlives one build: in the local cache.
/// 0.17 names it with a relative lazy path; 0.16 knows the cache's path at configure time.
fn cargoTargetDir(b: *std.Build) std.Build.LazyPath {
    const sub_path = "asyncring-cargo-target";
    if (@hasDecl(std.Build.LazyPath, "cache_root")) {
        return std.Build.LazyPath.cache_root.path(b, sub_path);
    } else {
        return .{ .cwd_relative = b.cache_root.join(b.allocator, &.{sub_path}) catch @panic("OOM") };
    }
}

/// Whether pkg-config finds `name` (configure time). In 0.17, whose build configuration is
/// cached, the answer depends on the environment, so the configuration is not reused.
fn pkgConfigFinds(b: *std.Build, name: []const u8) bool {
    if (@hasDecl(std.Build.Graph, "poisonCache")) b.graph.poisonCache();
    var code: u8 = 0;
    _ = b.runAllowFail(&.{ "pkg-config", "--exists", name }, &code, .ignore) catch return false;
    return true;
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
