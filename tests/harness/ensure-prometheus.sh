#!/usr/bin/env bash
# Installs Prometheus and promtool from Debian's packages when missing: the metrics tests scrape zen-lead with
# a real Prometheus and lint the exposition and alert rules with promtool.
set -euo pipefail
if command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1; then exit 0; fi
echo "[prometheus] installing the Debian package (prometheus, promtool)..."
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null
# The package starts a system service; the tests run their own Prometheus.
$SUDO systemctl stop prometheus 2>/dev/null || $SUDO service prometheus stop 2>/dev/null || pkill -x prometheus || true
command -v promtool >/dev/null
