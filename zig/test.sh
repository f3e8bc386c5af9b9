#!/usr/bin/env bash
# The Zig package's checks, with every supported Zig: provisions the pinned toolchains,
# then for each one checks formatting, runs `zig build test` against the real library and
# kernel, builds the echo server and checks that it echoes over 127.0.0.1 and exits
# cleanly on SIGINT; with Zig 0.16 it also builds and runs the @cImport example.
#
# Usage: zig/test.sh [PREFIX]
#   PREFIX: an installed libasyncring (with lib/pkgconfig/asyncring.pc). Without it, the
#   script runs `make build/prefix/.stamp` in the repository (cargo build + private
#   install) and uses build/prefix, so it works from a clean clone.
# Environment: ZIG_VERSIONS (default "0.17.1 0.16.0"; the first is the pinned one),
# ASYNCRING_REQUIRE_URING=1 (fail instead of skip when io_uring is unavailable).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
versions="${ZIG_VERSIONS:-0.17.1 0.16.0}"

if [[ $# -ge 1 ]]; then
  prefix="$(cd "$1" && pwd)"
else
  make -C "$repo" --no-print-directory build/prefix/.stamp >&2
  prefix="$repo/build/prefix"
fi
[[ -f "$prefix/lib/pkgconfig/asyncring.pc" ]] \
  || { echo "zig/test.sh: no asyncring.pc under $prefix/lib/pkgconfig" >&2; exit 1; }
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"

# Echoes random data over a few connections through the server built by `zig build`.
echo_check() {
  local bin=$1 port log pid status
  port=$((20000 + RANDOM % 30000))
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

# One toolchain's checks. Every step says `|| return 1`: `set -e` does not apply inside a
# function whose status is tested.
check_with() {
  local version=$1 zig
  zig="$("$repo/scripts/provision-zig.sh" "$version")" || return 1
  echo "== zig $version" >&2
  cd "$here" || return 1
  "$zig" fmt --check . "$repo/examples/zig" || { echo "zig fmt --check failed (zig $version)" >&2; return 1; }
  "$zig" build test install --summary all || return 1
  echo_check "$here/zig-out/bin/echo_server" || return 1
  echo "ok: examples/zig/echo_server (zig $version)" >&2
  if [[ "$version" == 0.16.* ]]; then
    "$zig" build cimport || return 1
    echo "ok: examples/zig/cimport_016 (zig $version)" >&2
  fi
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
