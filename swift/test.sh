#!/usr/bin/env bash
# Builds the Swift package with warnings as errors and runs its tests, against a private
# install of the C library (build/prefix), with each pinned Swift: 6.0 (the package's minimum,
# Debian 13's swiftlang 6.0.3) and the newest Swift Debian offers (unstable's swiftlang, 6.2 or
# later). Called by `make test`; works from a clean clone. With each Swift, the tests and the
# echo example run twice: on the backend rings choose by themselves (io_uring where it works),
# then forced onto the fallback backend (ASYNCRING_BACKEND=fallback: epoll and a thread pool,
# what rings run on where io_uring is unusable, as under Docker's seccomp profile); the second
# pass reuses the build, so it costs only the run (about 15 s).
#   swift/test.sh [extra `swift test` arguments, e.g. --filter NetworkTests]
#   ASYNCRING_SWIFT_VERSIONS="6.0" swift/test.sh    one toolchain only (default: "6.0 6.2")
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
VERSIONS="${ASYNCRING_SWIFT_VERSIONS:-6.0 6.2}"
# The first pass runs on the backend rings choose by themselves; the second sets it.
unset ASYNCRING_BACKEND
make --no-print-directory -C "$REPO" build/prefix/.stamp build/loadgen >&2

# The .pc file has no rpath: tests and examples find the library through LD_LIBRARY_PATH.
export PKG_CONFIG_PATH="$REPO/build/prefix/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
export LD_LIBRARY_PATH="$REPO/build/prefix/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
cd "$REPO"

log="$(mktemp /tmp/asyncring-swift-test.XXXXXX)"
out="$(mktemp /tmp/asyncring-swift-echo.XXXXXX)"
server=""
cleanup() {
  if [[ -n "$server" ]]; then kill "$server" 2>/dev/null || true; fi
  rm -f "$log" "$out"
}
trap cleanup EXIT

# The echo example under the load generator on loopback (bounded), then SIGINT: it must echo
# every byte and exit 0. Once on the executor, once on the thread-safe ring.
echo_smoke() {  # echo_smoke SWIFT BUILD [--threadsafe]
  local port=$((20000 + RANDOM % 20000))
  # Empty the log first: the background job truncates it only once it starts, and the
  # previous server's "listening" line must not be taken for this one's.
  : > "$out"
  "$1" run --skip-build --build-path "$2" EchoServer "$port" ${3:+"$3"} > "$out" 2>&1 &
  server=$!
  for _ in $(seq 300); do grep -q listening "$out" && break; sleep 0.1; done
  grep -q listening "$out" || { cat "$out"; echo "FAIL: EchoServer did not start"; return 1; }
  "$REPO/build/loadgen" --port "$port" --connections 16 --size 64 --messages 20000 \
    --duration 20 --warmup 0 --stall-timeout 5 > /dev/null || { echo "FAIL: EchoServer echo ${3:-}"; return 1; }
  kill -INT "$server"
  local status=0
  wait "$server" || status=$?
  server=""
  [[ $status == 0 ]] || { cat "$out"; echo "FAIL: EchoServer ${3:-} exited with $status on SIGINT"; return 1; }
}

for version in $VERSIONS; do
  start=$SECONDS
  SWIFT="$("$REPO/scripts/provision-swift.sh" "$version")"   # a chroot wrapper if need be
  flags=(-Xswiftc -warnings-as-errors)
  case "$version" in
    6.0) build="$REPO/.build" ;;
    *)
      build="$REPO/.build/swift-$version"
      # Debian's swiftlang 6.2.3 ships the _Testing_Foundation module without its library,
      # and SwiftPM's generated test runner imports Testing and Foundation, which pulls in
      # that cross-import overlay: link fails. Nothing here uses cross-import overlays.
      flags+=(-Xswiftc -Xfrontend -Xswiftc -disable-cross-import-overlays) ;;
  esac
  echo "== Swift $version: $("$SWIFT" --version 2>&1 | head -n1)"
  # Swift 6 language mode (complete strict concurrency checking), no warnings allowed; the
  # flag is given here, not in Package.swift, so the package stays usable as a dependency.
  "$SWIFT" build --build-path "$build" --build-tests "${flags[@]}"
  if ! "$SWIFT" test --build-path "$build" --skip-build "$@" 2>&1 | tee "$log"; then
    echo "FAIL: Swift tests (Swift $version)"
    exit 1
  fi
  # Tests skip (XCTSkip) where io_uring is unavailable. The tests fail instead when they see
  # ASYNCRING_REQUIRE_URING, but a chroot wrapper may not pass it through: check here too.
  if [[ -n "${ASYNCRING_REQUIRE_URING:-}" ]] && grep -q "^Test Case .* skipped" "$log"; then
    echo "FAIL: Swift tests skipped although ASYNCRING_REQUIRE_URING is set (Swift $version)"
    exit 1
  fi
  echo_smoke "$SWIFT" "$build"
  echo_smoke "$SWIFT" "$build" --threadsafe
  echo "ok: Swift $version: AsyncRing built warning-free, its tests passed, EchoServer echoed and stopped cleanly ($((SECONDS - start)) s)"

  # Again on the fallback backend. The chroot wrapper passes ASYNCRING_BACKEND through; the
  # tests check that their rings run on it, and BackendTests prints the line looked for here,
  # which proves the variable reached them.
  start=$SECONDS
  export ASYNCRING_BACKEND=fallback
  if ! "$SWIFT" test --build-path "$build" --skip-build "$@" 2>&1 | tee "$log"; then
    echo "FAIL: Swift tests on the fallback backend (Swift $version)"
    exit 1
  fi
  if [[ $# -eq 0 ]] && ! grep -q "^AsyncRing tests: a default ring runs on fallback$" "$log"; then
    echo "FAIL: ASYNCRING_BACKEND=fallback did not reach the Swift tests (Swift $version)"
    exit 1
  fi
  echo_smoke "$SWIFT" "$build"
  echo_smoke "$SWIFT" "$build" --threadsafe
  unset ASYNCRING_BACKEND
  echo "ok: Swift $version: the tests passed and EchoServer echoed on the fallback backend ($((SECONDS - start)) s)"
done
