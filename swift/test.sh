#!/usr/bin/env bash
# Builds the Swift package with warnings as errors and runs its tests, against a private
# install of the C library (build/prefix), with each pinned Swift: 6.0 (the package's minimum,
# Debian 13's swiftlang 6.0.3) and the newest Swift Debian offers (unstable's swiftlang, 6.2 or
# later). Called by `make test`; works from a clean clone.
#   swift/test.sh [extra `swift test` arguments, e.g. --filter NetworkTests]
#   ASYNCRING_SWIFT_VERSIONS="6.0" swift/test.sh    one toolchain only (default: "6.0 6.2")
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
VERSIONS="${ASYNCRING_SWIFT_VERSIONS:-6.0 6.2}"
make --no-print-directory -C "$REPO" build/prefix/.stamp >&2

# The .pc file has no rpath: tests and examples find the library through LD_LIBRARY_PATH.
export PKG_CONFIG_PATH="$REPO/build/prefix/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
export LD_LIBRARY_PATH="$REPO/build/prefix/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
cd "$REPO"

log="$(mktemp /tmp/asyncring-swift-test.XXXXXX)"
trap 'rm -f "$log"' EXIT

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
  echo "ok: Swift $version: AsyncRing built warning-free and its tests passed ($((SECONDS - start)) s)"
done
