#!/usr/bin/env bash
# make install / make uninstall, the GNU way: DESTDIR staging, PREFIX and LIBDIR honoured,
# the versioned library with its soname links, the static library, the header, and an
# asyncring.pc carrying the real version; a program builds and runs against the staged
# copy through pkg-config; uninstall leaves nothing behind.
set -euo pipefail
cd "$(dirname "$0")/.."
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
make --no-print-directory -s install DESTDIR="$stage" PREFIX=/opt/ar LIBDIR=/opt/ar/lib64 >/dev/null
lib="$stage/opt/ar/lib64"
fail() { echo "FAIL install: $*"; exit 1; }
[ -f "$lib/libasyncring.so.$version" ] || fail "versioned library missing"
[ "$(readlink "$lib/libasyncring.so.0")" = "libasyncring.so.$version" ] || fail "soname link"
[ "$(readlink "$lib/libasyncring.so")" = "libasyncring.so.0" ] || fail "dev link"
readelf -d "$lib/libasyncring.so.$version" | grep -q 'SONAME.*libasyncring.so.0' || fail "soname"
[ -f "$lib/libasyncring.a" ] || fail "static library missing"
[ -f "$stage/opt/ar/include/asyncring.h" ] || fail "header missing"
pc="$lib/pkgconfig/asyncring.pc"
grep -qx "Version: $version" "$pc" || fail "pc version"
grep -qx "libdir=/opt/ar/lib64" "$pc" || fail "pc libdir"
grep -q '^Libs.private: .*-lpthread' "$pc" || fail "pc Libs.private"
# A program against the staged copy (pkg-config's sysroot maps /opt/ar into the stage).
export PKG_CONFIG_PATH="$lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$stage"
printf '#include <asyncring.h>\n#include <string.h>\nint main(void) { return strcmp(ar_version(), "%s") != 0; }\n' "$version" >"$stage/prog.c"
# shellcheck disable=SC2046
cc -std=c11 -Wall -Werror -o "$stage/prog" "$stage/prog.c" $(pkg-config --cflags --libs asyncring)
LD_LIBRARY_PATH="$lib" "$stage/prog" || fail "program against the staged library"
# And statically, with the .pc's Libs.private.
# shellcheck disable=SC2046
cc -std=c11 -Wall -Werror -static-libgcc -o "$stage/prog-static" "$stage/prog.c" $(pkg-config --cflags asyncring) \
   "$lib/libasyncring.a" $(pkg-config --static --libs-only-l asyncring | sed 's/-lasyncring//')
readelf -d "$stage/prog-static" | grep -q libasyncring && fail "static program still needs libasyncring.so"
"$stage/prog-static" || fail "static program"
make --no-print-directory -s uninstall DESTDIR="$stage" PREFIX=/opt/ar LIBDIR=/opt/ar/lib64 >/dev/null
left=$(find "$stage/opt" -type f -o -type l | grep -v '/prog' || true)
[ -z "$left" ] || fail "uninstall left: $left"
echo "ok: make install/uninstall (DESTDIR, PREFIX, LIBDIR, soname links, .a, header, .pc)"
