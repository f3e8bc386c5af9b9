#!/usr/bin/env bash
# Builds (release) and runs the Swift echo example through the pinned Swift toolchain, for
# `make bench`:   swift/run-echo.sh PORT [CPU]
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
SWIFT="$("$REPO/scripts/provision-swift.sh")"
export PKG_CONFIG_PATH="$REPO/build/prefix/lib/pkgconfig" LD_LIBRARY_PATH="$REPO/build/prefix/lib"
cd "$REPO"
"$SWIFT" build -c release --build-path "$REPO/.build" --product EchoServer >&2
exec "$SWIFT" run --skip-build -c release --build-path "$REPO/.build" EchoServer "$@"
