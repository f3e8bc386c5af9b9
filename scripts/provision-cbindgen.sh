#!/usr/bin/env bash
# Install a pinned cbindgen (C header generator for the C ABI) into
# <repo>/.toolchains/cbindgen. Idempotent: a second run only checks the version.
# Usage: scripts/provision-cbindgen.sh   -> prints the cbindgen binary path on stdout.
set -euo pipefail

VERSION=0.29.4
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROOT="$REPO/.toolchains/cbindgen"
BIN="$ROOT/bin/cbindgen"

# Fast path: already installed at the pinned version.
if [[ -x "$BIN" ]] && "$BIN" --version 2>/dev/null | grep -qx "cbindgen $VERSION"; then
  echo "provision-cbindgen: cbindgen $VERSION already at $BIN" >&2
else
  echo "provision-cbindgen: installing cbindgen $VERSION from crates.io into $ROOT" >&2
  # --locked: use cbindgen's own Cargo.lock so the build is reproducible.
  # stdout of cargo goes to stderr: our stdout is reserved for the path.
  cargo install cbindgen --version "$VERSION" --locked --root "$ROOT" 1>&2
  "$BIN" --version | grep -qx "cbindgen $VERSION" \
    || { echo "provision-cbindgen: installed binary is not $VERSION" >&2; exit 1; }
fi
echo "$BIN"
