#!/usr/bin/env bash
# Install a pinned Zig from the PyPI package "ziglang" (the only way to get Zig
# here: no network except package registries) into <repo>/.toolchains/zig-<ver>,
# and create a wrapper <repo>/.toolchains/bin/zig-<ver>. Versions live side by side.
# Usage: scripts/provision-zig.sh [VERSION]   (default 0.17.1; e.g. 0.16.0)
#        -> prints the wrapper path on stdout.
set -euo pipefail

VERSION="${1:-0.17.1}"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET="$REPO/.toolchains/zig-$VERSION"
ZIG="$TARGET/ziglang/zig"            # where the wheel puts the real binary
WRAPPER="$REPO/.toolchains/bin/zig-$VERSION"

# Fast path: binary present and reports the pinned version.
if [[ -x "$ZIG" ]] && [[ "$("$ZIG" version 2>/dev/null)" == "$VERSION" ]]; then
  echo "provision-zig: zig $VERSION already in $TARGET" >&2
else
  echo "provision-zig: pip installing ziglang==$VERSION into $TARGET" >&2
  rm -rf "$TARGET"                   # drop any half-finished install
  # stdout of pip goes to stderr: our stdout is reserved for the path.
  python3 -m pip install --disable-pip-version-check --root-user-action=ignore --no-deps --no-compile \
    --target "$TARGET" "ziglang==$VERSION" 1>&2
  [[ "$("$ZIG" version)" == "$VERSION" ]] \
    || { echo "provision-zig: $ZIG does not report $VERSION" >&2; exit 1; }
fi

# Wrapper: a stable path the build can call, independent of the wheel layout.
if [[ ! -x "$WRAPPER" ]] || ! grep -qF "$ZIG" "$WRAPPER"; then
  echo "provision-zig: writing wrapper $WRAPPER" >&2
  mkdir -p "$(dirname "$WRAPPER")"
  printf '#!/bin/sh\nexec "%s" "$@"\n' "$ZIG" > "$WRAPPER.tmp"
  chmod +x "$WRAPPER.tmp" && mv "$WRAPPER.tmp" "$WRAPPER"
fi
echo "$WRAPPER"
