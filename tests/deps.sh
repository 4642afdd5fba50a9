#!/usr/bin/env bash
# Install the Debian packages infertop needs to build and test, when missing.
# Run as root to install; otherwise just reports what is missing.
set -euo pipefail
PKGS=(build-essential pkg-config libncurses-dev libcjson-dev libinih-dev libcriterion-dev
      tmux clang libclang-rt-14-dev python3 python3-pip)
missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "deps: missing Debian packages: ${missing[*]} (run 'make deps' as root)" >&2
    exit 1
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
