//! A project outside libasyncring that depends on its Zig package, the way a user's own
//! project does: zig/test.sh builds and runs it against `git archive` of the repository,
//! with no installed library, so the package builds the Rust core itself.

const std = @import("std");

pub fn build(b: *std.Build) void {
    const target = b.standardTargetOptions(.{});
    const optimize = b.standardOptimizeOption(.{});

    const asyncring = b.dependency("asyncring", .{ .target = target, .optimize = optimize });
    const exe = b.addExecutable(.{
        .name = "consumer",
        .root_module = b.createModule(.{
            .root_source_file = b.path("src/main.zig"),
            .target = target,
            .optimize = optimize,
            .imports = &.{.{ .name = "asyncring", .module = asyncring.module("asyncring") }},
        }),
    });
    b.installArtifact(exe);

    const run = b.addRunArtifact(exe);
    b.step("run", "Run the consumer: one real round trip through a ring").dependOn(&run.step);
}
