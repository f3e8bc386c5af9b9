#!/usr/bin/env bash
# The Zig package's checks, with every supported Zig. The package is the repository root
# (build.zig, build.zig.zon; sources in zig/). The script provisions the pinned toolchains,
# then for each one:
#   1. `zig fmt --check` of every Zig file;
#   2. against an installed library (-Dlink=system, pkg-config at PREFIX): `zig build test`
#      (unit tests and scenarios against the real kernel), the echo server example over
#      127.0.0.1 with a clean exit on SIGINT, the beside-std-io example, `zig build docs`,
#      and with Zig 0.16 the @cImport example;
#   2b. the tests and both examples again with ASYNCRING_BACKEND=fallback, on the fallback
#      backend (epoll and a thread pool: what rings run on where io_uring is unusable, as
#      under Docker's seccomp profile); the builds are cached, so this adds only run time;
#   3. as a user: the outside project zig/tests/consumer depends on `git archive` of the
#      repository, once by path to the unpacked archive (its committed build.zig.zon) and
#      once by URL and hash of the tarball (`zig fetch --save`, which applies `.paths`),
#      with no library pkg-config could find: the package builds the Rust core with cargo
#      and links it statically, and the consumer does a round trip through a real ring.
#
# Usage: zig/test.sh [PREFIX]
#   PREFIX: an installed libasyncring (with lib/pkgconfig/asyncring.pc). Without it, the
#   script runs `make build/prefix/.stamp` in the repository (cargo build + private
#   install) and uses build/prefix, so it works from a clean clone.
# Environment: ZIG_VERSIONS (default "0.17.1 0.16.0"; the first is the pinned one),
# ASYNCRING_BACKEND is ignored (step 2 runs with it unset, step 2b with "fallback"),
# ASYNCRING_REQUIRE_URING=1 (fail instead of skip when io_uring is unavailable),
# ZIG_ARCHIVE_REV (the tree-ish the consumer gets; default: the work tree's tracked files,
# through `git stash create`, or HEAD when nothing changed: in CI, the commit under test).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
versions="${ZIG_VERSIONS:-0.17.1 0.16.0}"
# Step 2 runs on the backend rings choose by themselves; step 2b sets it.
unset ASYNCRING_BACKEND
# Build products stay under build/ (ignored, and removed by `make clean`).
out="$repo/build/zig"

if [[ $# -ge 1 ]]; then
  prefix="$(cd "$1" && pwd)"
else
  make -C "$repo" --no-print-directory build/prefix/.stamp >&2
  prefix="$repo/build/prefix"
fi
[[ -f "$prefix/lib/pkgconfig/asyncring.pc" ]] \
  || { echo "zig/test.sh: no asyncring.pc under $prefix/lib/pkgconfig" >&2; exit 1; }
installed_pc="$prefix/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"

# Echoes random data over a few connections through the server built by `zig build`.
echo_check() {
  local bin=$1 port log pid status
  # Below Linux's ephemeral range (32768-60999), which other programs' connections use.
  port=$((20000 + RANDOM % 12000))
  log=$(mktemp)
  "$bin" "$port" >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 50); do grep -q "listening on 127.0.0.1:$port" "$log" && break; sleep 0.1; done
  if ! grep -q "listening on 127.0.0.1:$port" "$log"; then
    echo "echo_server did not start:" >&2; cat "$log" >&2; kill "$pid" 2>/dev/null; rm -f "$log"; return 1
  fi
  status=0
  python3 - "$port" <<'PY' || status=1
import os, socket, sys
port = int(sys.argv[1])
conns = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(8)]
for i, s in enumerate(conns):
    data = os.urandom(64 * 1024 + i)
    s.sendall(data)
    got = b""
    while len(got) < len(data):
        chunk = s.recv(65536)
        if not chunk:
            sys.exit("echo_server closed the connection early")
        got += chunk
    if got != data:
        sys.exit("echo_server returned different bytes")
for s in conns:
    s.close()
PY
  kill -INT "$pid"
  wait "$pid" || { echo "echo_server exited with $? after SIGINT" >&2; status=1; }
  rm -f "$log"
  return $status
}

# The repository as a user receives it: `git archive` of a tree-ish, as a tarball whose
# top directory is libasyncring/ (a release tarball), and unpacked beside it.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
rev="${ZIG_ARCHIVE_REV:-$(git -C "$repo" stash create)}"
rev="${rev:-HEAD}"
git -C "$repo" archive --format=tar.gz --prefix=libasyncring/ -o "$work/libasyncring.tar.gz" "$rev"
tar -xzf "$work/libasyncring.tar.gz" -C "$work"
echo "zig/test.sh: the consumer gets git archive of $(git -C "$repo" rev-parse --short "$rev^{tree}") (tree)" >&2

# The consumer project, built and run with `zig` in a copy beside the archive; `how` is
# "path" (the committed build.zig.zon: ../libasyncring) or "url" (`zig fetch --save` of
# the tarball). pkg-config sees no library, as on a machine where none is installed.
consumer_check() {
  local zig=$1 version=$2 how=$3 dir="$work/consumer-$version-$3" start
  rm -rf "$dir"
  cp -r "$here/tests/consumer" "$dir"
  if [[ "$how" == url ]]; then
    sed -i '/\.path = "\.\.\/libasyncring"/d' "$dir/build.zig.zon"
    (cd "$dir" && "$zig" fetch --save=asyncring "file://$work/libasyncring.tar.gz") || return 1
    grep -q '\.hash = "asyncring-' "$dir/build.zig.zon" || { echo "zig fetch --save wrote no hash" >&2; return 1; }
  fi # else the committed `.path = "../libasyncring"`: the unpacked archive beside it
  start=$SECONDS
  (cd "$dir" && env -u PKG_CONFIG_PATH PKG_CONFIG_LIBDIR=/nonexistent "$zig" build run 2>&1) >"$dir.log" || {
    cat "$dir.log" >&2; return 1
  }
  grep -q "^consumer: libasyncring .* through the ring, then error.FileNotFound" "$dir.log" || {
    echo "the consumer did not report its round trip:" >&2; cat "$dir.log" >&2; return 1
  }
  echo "ok: consumer by $how, no installed library, cargo build by the package ($((SECONDS - start)) s, zig $version)" >&2
}

# One toolchain's checks. Every step says `|| return 1`: `set -e` does not apply inside a
# function whose status is tested.
check_with() {
  local version=$1 zig args
  zig="$("$repo/scripts/provision-zig.sh" "$version")" || return 1
  echo "== zig $version" >&2
  cd "$repo" || return 1
  "$zig" fmt --check build.zig zig || { echo "zig fmt --check failed (zig $version)" >&2; return 1; }
  args=(-Dlink=system --cache-dir "$out/cache" --prefix "$out/$version")
  PKG_CONFIG_PATH="$installed_pc" "$zig" build test install docs "${args[@]}" --summary all || return 1
  examples_check "$version" || return 1
  [[ -s "$out/$version/docs/index.html" && -s "$out/$version/docs/sources.tar" ]] || { echo "zig build docs wrote nothing" >&2; return 1; }
  echo "ok: zig build docs (zig $version)" >&2
  if [[ "$version" == 0.16.* ]]; then
    PKG_CONFIG_PATH="$installed_pc" "$zig" build cimport "${args[@]}" || return 1
    echo "ok: zig/examples/cimport_016 (zig $version)" >&2
  fi
  fallback_check "$zig" "$version" "${args[@]}" || return 1
  consumer_check "$zig" "$version" path || return 1
  consumer_check "$zig" "$version" url || return 1
}

# The examples built by `zig build install` for one toolchain, on the backend the
# environment chooses.
examples_check() {
  local version=$1 backend=${ASYNCRING_BACKEND:-default}
  echo_check "$out/$version/bin/echo_server" || return 1
  echo "ok: zig/examples/echo_server (zig $version, $backend backend)" >&2
  "$out/$version/bin/beside_std_io" 2>&1 | grep "^read 22 bytes through the ring: hello from the program$" >&2 || {
    echo "zig/examples/beside_std_io failed (zig $version, $backend backend)" >&2; return 1
  }
  echo "ok: zig/examples/beside_std_io (zig $version, $backend backend)" >&2
}

# The tests and the examples again, every ring forced onto the fallback backend (the tests
# check that their rings run on it). Everything is built already: only the runs cost time.
fallback_check() {  # fallback_check ZIG VERSION ZIG-BUILD-ARGS...
  local zig=$1 version=$2 start=$SECONDS
  shift 2
  echo "== zig $version, ASYNCRING_BACKEND=fallback" >&2
  (
    export ASYNCRING_BACKEND=fallback
    PKG_CONFIG_PATH="$installed_pc" "$zig" build test "$@" --summary all || exit 1
    examples_check "$version" || exit 1
  ) || { echo "the fallback backend failed (zig $version)" >&2; return 1; }
  echo "ok: tests and examples on the fallback backend ($((SECONDS - start)) s, zig $version)" >&2
}

failed=()
for version in $versions; do
  check_with "$version" || failed+=("$version")
done

if [[ ${#failed[@]} -gt 0 ]]; then
  echo "zig/test.sh: FAILED with zig ${failed[*]}" >&2
  exit 1
fi
echo "zig/test.sh: the Zig package passed with zig $versions" >&2
