#!/usr/bin/env bash
# Install Debian packages (e.g. liburing-dev valgrind pkg-config) idempotently:
# when dpkg already reports every one as installed, touch nothing (no apt-get update).
# Usage: scripts/provision-debian.sh PKG...   (needs root; prints nothing on stdout)
set -euo pipefail

(( $# )) || { echo "usage: $0 PKG..." >&2; exit 2; }

missing=()
for pkg in "$@"; do
  # dpkg -s exits 0 also for removed-but-configured packages; check the status line.
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' \
    || missing+=("$pkg")
done

if (( ${#missing[@]} == 0 )); then
  echo "provision-debian: already installed: $*" >&2
  exit 0
fi

echo "provision-debian: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# SUDO is empty as root (CI and dev machines here); sudo elsewhere if available.
SUDO=""; (( EUID == 0 )) || SUDO=sudo
$SUDO apt-get update -qq 1>&2
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" 1>&2
