#!/usr/bin/env bash
# Builds krew (the kubectl plugin manager) from the Go module proxy, for the test that installs zen-lead's krew
# manifest. Lands in ~/.cache/zen-lead/krew/bin/krew; a second run is a no-op.
set -euo pipefail
KREW_VERSION=v0.4.3 # the newest krew the Go module proxy serves
CACHE=${ZEN_LEAD_KREW_CACHE:-$HOME/.cache/zen-lead/krew}
BIN=$CACHE/bin
log() { printf '[build-krew] %s\n' "$*" >&2; }

if [[ -x $BIN/krew && "$(cat "$CACHE/stamp" 2>/dev/null)" == "$KREW_VERSION" ]]; then
  log "krew $KREW_VERSION is cached in $BIN"
  exit 0
fi
GO=$(command -v go || true)
[[ -z $GO && -x /usr/local/go/bin/go ]] && GO=/usr/local/go/bin/go
[[ -n $GO ]] || { log "error: expected a Go toolchain (go on PATH or /usr/local/go/bin/go), found none"; exit 1; }
mkdir -p "$BIN"
exec 9>"$CACHE/.lock"
flock 9
if [[ -x $BIN/krew && "$(cat "$CACHE/stamp" 2>/dev/null)" == "$KREW_VERSION" ]]; then exit 0; fi
log "building krew $KREW_VERSION with $("$GO" version | cut -d' ' -f3) (about a minute)..."
start=$SECONDS
CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS="${GOFLAGS:-} -buildvcs=false" GOBIN=$BIN \
  "$GO" install "sigs.k8s.io/krew/cmd/krew@$KREW_VERSION"
echo "$KREW_VERSION" >"$CACHE/stamp"
log "built $BIN/krew in $((SECONDS - start)) s"
