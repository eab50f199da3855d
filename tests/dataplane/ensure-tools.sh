#!/usr/bin/env bash
# Installs what tests/dataplane/ needs from Debian: iproute2 (ip netns, veth), nftables (kube-proxy's nft),
# socat (relays to the API server), conntrack. As root only; without root the data-plane tests skip and say so.
set -euo pipefail
# shellcheck source=../harness/_build_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../harness/_build_lib.sh" dataplane-tools

declare -A PACKAGE=([ip]=iproute2 [nft]=nftables [socat]=socat [conntrack]=conntrack)
missing=()
for tool in "${!PACKAGE[@]}"; do command -v "$tool" >/dev/null || missing+=("${PACKAGE[$tool]}"); done
if ((${#missing[@]} == 0)); then exit 0; fi
if [[ $(id -u) != 0 ]]; then
  log "missing ${missing[*]} and not root: the data-plane tests will skip"
  exit 0
fi
log "installing ${missing[*]}"
apt_install "${missing[@]}"
log "installed ${missing[*]}"
