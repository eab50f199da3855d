#!/usr/bin/env bash
# Builds krew (the kubectl plugin manager) from the Go module proxy, for the test that installs zen-lead's krew
# manifest. Lands in ~/.cache/zen-lead/krew/bin/krew; a second run is a no-op.
set -euo pipefail
KREW_VERSION=v0.4.3 # the newest krew the Go module proxy serves
# shellcheck source=../tests/harness/_build_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../tests/harness/_build_lib.sh" build-krew
cache_out "${ZEN_LEAD_KREW_CACHE:-}" krew
BIN=$OUT/bin
up_to_date() { [[ -x $BIN/krew ]] && stamp_is "$STAMP" "$KREW_VERSION"; }

if up_to_date; then
  log "krew $KREW_VERSION is cached in $BIN"
  exit 0
fi
use_go
mkdir -p "$BIN"
lock_cache "$OUT" up_to_date
log "building krew $KREW_VERSION with $("$GO" version | cut -d' ' -f3) (about a minute)..."
start=$SECONDS
GOBIN=$BIN "$GO" install "sigs.k8s.io/krew/cmd/krew@$KREW_VERSION"
echo "$KREW_VERSION" >"$STAMP"
log "built $BIN/krew in $((SECONDS - start)) s"
