#!/usr/bin/env bash
# Install the Debian packages infertop needs to build and test, when missing.
# Run as root to install; otherwise just reports what is missing.
# Nsight Systems comes from Debian's non-free component (docs/nsight.md):
# the components are added to the existing Debian sources, then two fixes of the
# Debian package are applied. Every step is idempotent.
set -euo pipefail
PKGS=(build-essential pkg-config libncurses-dev libcjson-dev libinih-dev libcriterion-dev
      tmux clang libclang-rt-14-dev python3 python3-pip)
NSYS_HOST=/usr/lib/nsight-systems/host-linux-x64
NSYS_LINK=/usr/lib/x86_64-linux-gnu/nsight-systems/host-linux-x64

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

missing=()
for p in "${PKGS[@]}"; do installed "$p" || missing+=("$p"); done
installed nsight-systems || missing+=(nsight-systems)
nsys_fix_needed=0
if installed nsight-systems && [ "$(readlink "$NSYS_LINK" 2>/dev/null)" != "$NSYS_HOST" ]; then nsys_fix_needed=1; fi
[ ${#missing[@]} -eq 0 ] && [ $nsys_fix_needed -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "deps: missing Debian packages or the nsys importer link: ${missing[*]} (run 'make deps' as root)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive

# contrib + non-free on the Debian archive lines (deb822 or one-line format)
enable_non_free() {
    local f=/etc/apt/sources.list.d/debian.sources
    if [ -f "$f" ] && grep -q '^Components: main$' "$f"; then
        sed -i 's/^Components: main$/Components: main contrib non-free/' "$f"
    fi
    if [ -f /etc/apt/sources.list ] && grep -qE '^deb .*debian.* bookworm main$' /etc/apt/sources.list; then
        sed -i -E 's/^(deb .*debian.* bookworm main)$/\1 contrib non-free/' /etc/apt/sources.list
    fi
}

if [ ${#missing[@]} -gt 0 ]; then
    echo "deps: installing ${missing[*]}" >&2
    [[ " ${missing[*]} " == *" nsight-systems "* ]] && enable_non_free
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Fix 1: nsys profile looks for its importer next to the target folder.
if installed nsight-systems; then
    mkdir -p "$(dirname "$NSYS_LINK")"
    ln -sfn "$NSYS_HOST" "$NSYS_LINK"
fi
# Fix 2 (LD_LIBRARY_PATH for the host tools) is applied where they run: tests/cli/nsys_env.sh.
