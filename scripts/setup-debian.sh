#!/usr/bin/env bash
# Installs what the tests need on a Debian machine, idempotently: firefox-esr (Debian's
# current ESR), tor and tor-gencert, iproute2/util-linux (network namespaces) from apt, and
# Firefox 140 ESR (Tor Browser 15's engine) unpacked into .cache/firefox-140.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
FF140_VERSION=140.12.0esr-1~deb12u1
FF140=.cache/firefox-140/usr/lib/firefox-esr/firefox-esr

missing=()
command -v firefox-esr >/dev/null || missing+=(firefox-esr)
command -v tor >/dev/null || missing+=(tor)
command -v ip >/dev/null || missing+=(iproute2)
command -v unshare >/dev/null || missing+=(util-linux)
if ((${#missing[@]})) || [[ ! -x $FF140 ]]; then
  if [[ $(id -u) != 0 ]]; then
    echo "setup: need root to install ${missing[*]:-} ${FF140##*/}; run: sudo bash scripts/setup-debian.sh" >&2
    exit 1
  fi
  apt-get update -q
  if ((${#missing[@]})); then apt-get install -y -q --no-install-recommends "${missing[@]}"; fi
fi
if [[ ! -x $FF140 ]]; then
  tmp=$(mktemp -d); chmod 777 "$tmp"
  (cd "$tmp" && apt-get download -q "firefox-esr=$FF140_VERSION")
  mkdir -p .cache/firefox-140
  dpkg -x "$tmp"/firefox-esr_*.deb .cache/firefox-140
  rm -rf "$tmp"
fi
echo "setup: $(firefox-esr --version 2>/dev/null), $($FF140 --version 2>/dev/null), $(tor --version 2>/dev/null | head -1)"
