#!/usr/bin/env bash
# Provide Swift for the Swift package, in one of two pinned flavours:
#   scripts/provision-swift.sh        Swift 6.0 (the package's minimum): Debian 13 (trixie)
#                                     ships swiftlang 6.0.3; a minbase trixie root is
#                                     debootstrapped once into <repo>/.toolchains/swift-root
#                                     (~2.6 GB, ~2 min) and swift runs in it through the chroot
#                                     wrapper <repo>/.toolchains/bin/swift.
#   scripts/provision-swift.sh 6.2    the newest Swift Debian offers: unstable's (sid) swiftlang,
#                                     which must be 6.2 or later, in .toolchains/swift-sid-root,
#                                     wrapper .toolchains/bin/swift-sid. sid moves, so the version
#                                     found at provisioning time is recorded in the root's
#                                     .provisioned stamp and kept (the root is never upgraded);
#                                     delete the root to take a newer one.
# Needs root (debootstrap, chroot, mount). Idempotent: a finished root is reused as it is.
# Prints the swift path on stdout.
set -euo pipefail

FLAVOUR="${1:-6.0}"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
case "$FLAVOUR" in
  6.0) SUITE=trixie ROOT_NAME=swift-root     WRAPPER_NAME=swift ;;
  6.2) SUITE=sid    ROOT_NAME=swift-sid-root WRAPPER_NAME=swift-sid ;;
  *) echo "usage: $0 [6.0|6.2]" >&2; exit 2 ;;
esac
ROOT="$REPO/.toolchains/$ROOT_NAME"
STAMP="$ROOT/.provisioned"                 # written only after everything succeeded
WRAPPER="$REPO/.toolchains/bin/$WRAPPER_NAME"
log() { echo "provision-swift($FLAVOUR): $*" >&2; }

# Whether `swift --version` output ($1) is the flavour's: 6.0.x, or 6.2 and later.
version_ok() {
  local v
  v="$(sed -n 's/.*Swift version \([0-9][0-9]*\.[0-9][0-9]*\).*/\1/p' <<<"$1" | head -n1)"
  [[ -n "$v" ]] || return 1
  if [[ "$FLAVOUR" == 6.0 ]]; then [[ "$v" == 6.0 ]]; else
    [[ "$(printf '%s\n%s\n' 6.2 "$v" | sort -V | head -n1)" == 6.2 ]]
  fi
}

# A real swift on PATH of the right version wins (e.g. a developer's own install); our own
# wrappers on PATH do not count, since their roots may not be built yet.
found="$(command -v swift || true)"
if [[ -n "$found" && "$(readlink -f "$found")" != "$(readlink -f "$REPO/.toolchains/bin/$(basename "$found")" 2>/dev/null)" ]] \
   && version_ok "$("$found" --version 2>&1 || true)"; then
  log "using swift from PATH"; echo "$found"; exit 0
fi

# The wrapper is cheap: (re)write it every run so edits here always take effect.
# It computes its paths from its own location, so the clone can move.
mkdir -p "$(dirname "$WRAPPER")"
sed "s/@ROOT_NAME@/$ROOT_NAME/g; s/@SUITE@/$SUITE/g" > "$WRAPPER.tmp" <<'WRAP'
#!/usr/bin/env bash
# Run swift from the Debian @SUITE@ root (made by scripts/provision-swift.sh) via chroot.
# The repo, /tmp, /dev, /proc and /sys are mounted at the same paths inside, in a
# private mount namespace, so the mounts vanish when the command ends.
set -euo pipefail
REPO="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd -P)"
ROOT="$REPO/.toolchains/@ROOT_NAME@"
if [[ "${_SWIFT_CHROOT_NS:-}" != 1 ]]; then
  _SWIFT_CHROOT_NS=1 exec unshare --mount --propagation private "${BASH_SOURCE[0]}" "$@"
fi
unset _SWIFT_CHROOT_NS
same_path() {            # same_path --bind|--rbind DIR: DIR at the same path inside, once
  mkdir -p "$ROOT$2"
  mountpoint -q "$ROOT$2" || mount "$1" "$2" "$ROOT$2"
}
mountpoint -q "$ROOT/proc" || mount -t proc proc "$ROOT/proc"
# /tmp and the repo: plain --bind, so the root's own mounts are not copied into them.
same_path --rbind /dev; same_path --rbind /sys; same_path --bind /tmp; same_path --bind "$REPO"

# Keep the working directory when it means the same inside (repo or /tmp).
cwd="$(pwd -P)"
case "$cwd" in
  "$REPO"|"$REPO"/*|/tmp|/tmp/*|/) ;;
  *) echo "swift wrapper: $cwd is not shared with the root (only $REPO and /tmp are); using /" >&2
     cwd=/ ;;
esac
# Clean environment plus a few pass-through variables. HOME is kept if that folder
# exists inside the root (e.g. /root is the root's own /root: SwiftPM caches stay there).
envs=(PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8)
for v in PKG_CONFIG_PATH LD_LIBRARY_PATH TERM CI ASYNCRING_REQUIRE_URING ASYNCRING_BACKEND; do
  if [[ -n "${!v:-}" ]]; then envs+=("$v=${!v}"); fi
done
home="${HOME:-/root}"; [[ -d "$ROOT$home" ]] || home=/root
# shellcheck disable=SC2016  # $1 and $@ are expanded by the inner sh, on purpose
exec chroot "$ROOT" /usr/bin/env -i "${envs[@]}" HOME="$home" \
  /bin/sh -c 'cd "$1" && shift && exec swift "$@"' sh "$cwd" "$@"
WRAP
chmod +x "$WRAPPER.tmp" && mv "$WRAPPER.tmp" "$WRAPPER"

if [[ -f "$STAMP" ]]; then
  log "$SUITE root ready ($(cat "$STAMP"))"; echo "$WRAPPER"; exit 0
fi

# Never rm -rf through a live mount (it could be the repo).
if grep -qF " $ROOT/" /proc/self/mounts; then
  log "something is mounted under $ROOT; unmount it first"; exit 1
fi
BOOTSTRAPPED="$ROOT/.debootstrapped"       # the base system is complete: resume from there
if [[ ! -f "$BOOTSTRAPPED" ]]; then
rm -rf --one-file-system "$ROOT"

"$REPO/scripts/provision-debian.sh" debootstrap

# Use the Debian mirror this host's apt uses (first ".../debian" URI in its sources).
files=(); for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
  if [[ -f "$f" ]]; then files+=("$f"); fi
done
MIRROR="$(awk '!/^[[:space:]]*#/ { for (i = 1; i <= NF; i++) if ($i ~ /^https?:\/\/.*\/debian\/?$/) { print $i; exit } }' "${files[@]}")"
[[ -n "$MIRROR" ]] || { log "no Debian mirror found in apt sources"; exit 1; }

log "debootstrap $SUITE from $MIRROR into $ROOT"
debootstrap --variant=minbase "$SUITE" "$ROOT" "$MIRROR" 1>&2
touch "$BOOTSTRAPPED"
fi

log "installing swiftlang inside the root"
# Valid-Until is not checked: a mirror that lags (or a snapshot of one) serves a Release file
# whose validity has lapsed, which apt would refuse; debootstrap already verified the
# signatures, and what gets installed is pinned by the version check below.
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"      # apt inside needs DNS for this step only
# shellcheck disable=SC2016  # $1 is expanded by the inner sh, on purpose
unshare --mount --propagation private sh -c '
  mount -t proc proc "$1/proc" && mount --rbind /dev "$1/dev"
  exec chroot "$1" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive sh -c "
    apt-get -o Acquire::Check-Valid-Until=false update -qq &&
    gcc=\$(apt-cache depends gcc | sed -n \"s/.*Depends: gcc-\\([0-9][0-9]*\\)\$/\\1/p\" | head -n1) &&
    apt-get install -y -qq --no-install-recommends swiftlang libc6-dev libstdc++-\${gcc:-14}-dev pkg-config &&
    apt-get clean"' sh "$ROOT" 1>&2

# Pin check: fail loudly unless it is Swift 6.0.x (6.2 or later for the sid flavour).
version="$("$WRAPPER" --version 2>&1)"
log "$version"
version_ok "$version" || { log "expected Swift $FLAVOUR"; exit 1; }
# shellcheck disable=SC2016  # ${Version} is a dpkg-query field, not a shell variable
echo "swiftlang $(chroot "$ROOT" dpkg-query -W -f='${Version}' swiftlang)" > "$STAMP"
log "done ($(cat "$STAMP"))"
echo "$WRAPPER"
