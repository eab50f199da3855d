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

# shellcheck source=_build_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/_build_lib.sh" build-otelcol

cache_out "${ZEN_LEAD_OTELCOL_CACHE:-}" otelcol "$OTELCOL_VERSION"
BIN=$OUT/otelcol-zen-lead
WANT="otelcol=$OTELCOL_VERSION recipe=$RECIPE"
FORCE=${1:-}

up_to_date() { [[ $FORCE != --force && -x $BIN ]] && stamp_is "$STAMP" "$WANT"; }

if up_to_date; then
  log "collector $OTELCOL_VERSION is cached: $BIN ($(sed -n 2p "$STAMP"))"
  exit 0
fi

use_go
export PATH="$(dirname "$GO"):$PATH"

lock_cache "$OUT" up_to_date

BUILD_START=$(date +%s)
rm -rf "$OUT/src" "$OUT/logs" "$OUT/tools"
mkdir -p "$OUT/src" "$OUT/logs" "$OUT/tools"

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
