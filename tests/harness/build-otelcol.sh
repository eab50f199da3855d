#!/usr/bin/env bash
# Builds an OpenTelemetry Collector for the tests with the collector's own builder
# (go.opentelemetry.io/collector/cmd/builder) from the Go module proxy: the OTLP receiver, the file exporter
# (what the e2e reads) and the debug exporter, nothing else. The binary lands in
# ~/.cache/zen-lead/otelcol/<version>/otelcol-zen-lead; a stamp file makes a second run a no-op.
#
# Usage: build-otelcol.sh [--force]
# Env:   ZEN_LEAD_OTELCOL_CACHE  cache root (default ~/.cache/zen-lead/otelcol)
set -euo pipefail

# One collector release for every module: core v0.x with its v1.y twins, and contrib at the same v0.x.
OTELCOL_VERSION=v0.161.0
RECIPE=1

CACHE_ROOT=${ZEN_LEAD_OTELCOL_CACHE:-$HOME/.cache/zen-lead/otelcol}
OUT=$CACHE_ROOT/$OTELCOL_VERSION
BIN=$OUT/otelcol-zen-lead
STAMP=$OUT/stamp
WANT="otelcol=$OTELCOL_VERSION recipe=$RECIPE"
FORCE=${1:-}

log() { printf '[build-otelcol] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
fmt_secs() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }
up_to_date() { [[ $FORCE != --force && -x $BIN && -f $STAMP && "$(head -n1 "$STAMP")" == "$WANT" ]]; }

if up_to_date; then
  log "collector $OTELCOL_VERSION is cached: $BIN ($(sed -n 2p "$STAMP"))"
  exit 0
fi

GO=$(command -v go || true)
[[ -z $GO && -x /usr/local/go/bin/go ]] && GO=/usr/local/go/bin/go
[[ -n $GO ]] || die "expected a Go toolchain (go on PATH or /usr/local/go/bin/go), found none"
export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS="${GOFLAGS:-} -buildvcs=false"
export PATH="$(dirname "$GO"):$PATH"

mkdir -p "$OUT"
exec 9>"$OUT/.lock"
if command -v flock >/dev/null; then
  flock -n 9 || { log "another build holds $OUT/.lock: waiting for it"; flock 9; }
  if up_to_date; then log "built meanwhile by another run: $BIN"; exit 0; fi
fi

BUILD_START=$(date +%s)
rm -rf "$OUT/src" "$OUT/logs" "$OUT/tools"
mkdir -p "$OUT/src" "$OUT/logs" "$OUT/tools"

# Runs "$@" in the background, printing which step runs and for how long (every 30 s without a terminal).
run_step() {
  local name=$1 logfile start pid now
  shift
  logfile=$OUT/logs/$(printf '%s' "$name" | tr -c 'A-Za-z0-9.-' '_').log
  start=$(date +%s)
  log "$name: started"
  "$@" >"$logfile" 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    now=$(date +%s)
    if [[ -t 2 ]]; then
      printf '\r[build-otelcol] %s: %s elapsed (total %s) ' "$name" "$(fmt_secs $((now - start)))" \
        "$(fmt_secs $((now - BUILD_START)))" >&2
    elif (((now - start) % 30 == 0)); then
      log "$name: $(fmt_secs $((now - start))) elapsed (total $(fmt_secs $((now - BUILD_START))))"
    fi
  done
  [[ -t 2 ]] && printf '\n' >&2
  if ! wait "$pid"; then
    tail -n 40 "$logfile" >&2
    die "$name failed (full log: $logfile)"
  fi
  log "$name: done in $(fmt_secs $(($(date +%s) - start)))"
}

cat >"$OUT/src/builder.yaml" <<EOF
dist:
  name: otelcol-zen-lead
  description: OpenTelemetry Collector for the zen-lead tests (OTLP in, file and debug out)
  output_path: $OUT/src/dist
exporters:
  - gomod: go.opentelemetry.io/collector/exporter/debugexporter $OTELCOL_VERSION
  - gomod: github.com/open-telemetry/opentelemetry-collector-contrib/exporter/fileexporter $OTELCOL_VERSION
receivers:
  - gomod: go.opentelemetry.io/collector/receiver/otlpreceiver $OTELCOL_VERSION
EOF

install_builder() { GOBIN=$OUT/tools "$GO" install "go.opentelemetry.io/collector/cmd/builder@$OTELCOL_VERSION"; }
generate_and_build() { "$OUT/tools/builder" --config "$OUT/src/builder.yaml"; }

run_step "builder $OTELCOL_VERSION" install_builder
run_step "collector (generate, download modules, compile)" generate_and_build
[[ -x $OUT/src/dist/otelcol-zen-lead ]] || die "the builder finished without $OUT/src/dist/otelcol-zen-lead"
mv "$OUT/src/dist/otelcol-zen-lead" "$BIN"
"$BIN" components >"$OUT/components.txt" 2>&1 || die "the built collector does not run: $(head -5 "$OUT/components.txt")"
printf '%s\nbuilt %s with %s in %s\n' "$WANT" "$(date -u +%FT%TZ)" "$($GO version | cut -d' ' -f3)" \
  "$(fmt_secs $(($(date +%s) - BUILD_START)))" >"$STAMP"
rm -rf "$OUT/src"
log "collector $OTELCOL_VERSION ready: $BIN ($(sed -n 2p "$STAMP"))"
