#!/usr/bin/env bash
# Installs Prometheus and promtool from Debian's packages when missing: the metrics tests scrape zen-lead with
# a real Prometheus and lint the exposition and alert rules with promtool.
set -euo pipefail
if command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1; then exit 0; fi
# shellcheck source=_build_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/_build_lib.sh" prometheus
log "installing the Debian package (prometheus, promtool)..."
apt_install --no-install-recommends prometheus
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
# The package starts a system service; the tests run their own Prometheus. Without an init system, only the
# service's own process (user prometheus) is stopped, never a test's Prometheus (run as the test's user).
$SUDO systemctl stop prometheus 2>/dev/null || $SUDO service prometheus stop 2>/dev/null ||
  $SUDO pkill -u prometheus -x prometheus || true
command -v promtool >/dev/null
