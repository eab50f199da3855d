#!/usr/bin/env bash
# Installs what tests/dataplane/ needs from Debian: iproute2 (ip netns, veth), nftables (kube-proxy's nft),
# socat (relays to the API server), conntrack. As root only; without root the data-plane tests skip and say so.
set -euo pipefail
log() { printf '[dataplane-tools] %s\n' "$*" >&2; }

declare -A PACKAGE=([ip]=iproute2 [nft]=nftables [socat]=socat [conntrack]=conntrack)
missing=()
for tool in "${!PACKAGE[@]}"; do command -v "$tool" >/dev/null || missing+=("${PACKAGE[$tool]}"); done
if ((${#missing[@]} == 0)); then exit 0; fi
if [[ $(id -u) != 0 ]]; then
  log "missing ${missing[*]} and not root: the data-plane tests will skip"
  exit 0
fi
log "installing ${missing[*]}"
apt-get -o DPkg::Lock::Timeout=600 update -qq
DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${missing[@]}" >/dev/null
log "installed ${missing[*]}"
