#!/usr/bin/env bash
# Provide Swift 6.0 for the Swift package. Debian 12 has no Swift, Debian 13
# (trixie) ships swiftlang 6.0.3, so we debootstrap a trixie root once into
# <repo>/.toolchains/swift-root (~2.6 GB, ~2 min) and run swift in it through the
# chroot wrapper <repo>/.toolchains/bin/swift. Needs root (debootstrap, chroot, mount).
# Usage: scripts/provision-swift.sh   -> prints the swift path on stdout.
set -euo pipefail

WANT=6.0                                   # swift --version must say "Swift version 6.0"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
ROOT="$REPO/.toolchains/swift-root"
STAMP="$ROOT/.provisioned"                 # written only after everything succeeded
WRAPPER="$REPO/.toolchains/bin/swift"
log() { echo "provision-swift: $*" >&2; }

# A real swift on PATH wins (e.g. a developer's own install); our own wrapper
# on PATH does not count, since its root may not be built yet.
found="$(command -v swift || true)"
if [[ -n "$found" && "$(readlink -f "$found")" != "$(readlink -f "$WRAPPER" 2>/dev/null)" ]]; then
  log "using swift from PATH"; echo "$found"; exit 0
fi

# The wrapper is cheap: (re)write it every run so edits here always take effect.
# It computes its paths from its own location, so the clone can move.
mkdir -p "$(dirname "$WRAPPER")"
cat > "$WRAPPER.tmp" <<'WRAP'
#!/usr/bin/env bash
# Run swift from the Debian trixie root (made by scripts/provision-swift.sh) via chroot.
# The repo, /tmp, /dev, /proc and /sys are mounted at the same paths inside, in a
# private mount namespace, so the mounts vanish when the command ends.
set -euo pipefail
REPO="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd -P)"
ROOT="$REPO/.toolchains/swift-root"
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
for v in PKG_CONFIG_PATH LD_LIBRARY_PATH TERM CI ASYNCRING_REQUIRE_URING; do
  if [[ -n "${!v:-}" ]]; then envs+=("$v=${!v}"); fi
done
home="${HOME:-/root}"; [[ -d "$ROOT$home" ]] || home=/root
# shellcheck disable=SC2016  # $1 and $@ are expanded by the inner sh, on purpose
exec chroot "$ROOT" /usr/bin/env -i "${envs[@]}" HOME="$home" \
  /bin/sh -c 'cd "$1" && shift && exec swift "$@"' sh "$cwd" "$@"
WRAP
chmod +x "$WRAPPER.tmp" && mv "$WRAPPER.tmp" "$WRAPPER"

if [[ -f "$STAMP" ]]; then
  log "trixie root ready ($(cat "$STAMP"))"; echo "$WRAPPER"; exit 0
fi

# Start from scratch, but never rm -rf through a live mount (it could be the repo).
if grep -qF " $ROOT/" /proc/self/mounts; then
  log "something is mounted under $ROOT; unmount it first"; exit 1
fi
rm -rf --one-file-system "$ROOT"

"$REPO/scripts/provision-debian.sh" debootstrap

# Use the Debian mirror this host's apt uses (first ".../debian" URI in its sources).
files=(); for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
  if [[ -f "$f" ]]; then files+=("$f"); fi
done
MIRROR="$(awk '!/^[[:space:]]*#/ { for (i = 1; i <= NF; i++) if ($i ~ /^https?:\/\/.*\/debian\/?$/) { print $i; exit } }' "${files[@]}")"
[[ -n "$MIRROR" ]] || { log "no Debian mirror found in apt sources"; exit 1; }

log "debootstrap trixie from $MIRROR into $ROOT"
debootstrap --variant=minbase trixie "$ROOT" "$MIRROR" 1>&2

log "installing swiftlang inside the root"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"      # apt inside needs DNS for this step only
# shellcheck disable=SC2016  # $1 is expanded by the inner sh, on purpose
unshare --mount --propagation private sh -c '
  mount -t proc proc "$1/proc" && mount --rbind /dev "$1/dev"
  exec chroot "$1" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive sh -c "
    apt-get update -qq &&
    apt-get install -y -qq --no-install-recommends swiftlang libc6-dev libstdc++-14-dev pkg-config &&
    apt-get clean"' sh "$ROOT" 1>&2

# Pin check: fail loudly unless it is Swift 6.0.x.
version="$("$WRAPPER" --version 2>&1)"
log "$version"
grep -qF "Swift version $WANT." <<<"$version" || { log "expected Swift $WANT"; exit 1; }
# shellcheck disable=SC2016  # ${Version} is a dpkg-query field, not a shell variable
echo "swiftlang $(chroot "$ROOT" dpkg-query -W -f='${Version}' swiftlang)" > "$STAMP"
log "done ($(cat "$STAMP"))"
echo "$WRAPPER"
