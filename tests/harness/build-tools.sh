#!/usr/bin/env bash
# Builds the deploy tools from the Go module proxy with `go install`: helm, kustomize and syft at the versions
# pinned in tools.env, and downloads the Go modules that carry the published CRD YAML used by the deploy tests
# (Prometheus Operator, Argo CD, Flux source-controller; Flux's helm-controller is not on the proxy, so its
# HelmRelease CRD is a test fixture in tests/fixtures/crds/). Binaries land in ~/.cache/zen-lead/tools/<recipe>/bin;
# a stamp makes a second run a no-op. Prints which step runs and for how long.
#
# Usage: build-tools.sh [--force] [--without-syft]
# Env:   ZEN_LEAD_TOOLS_CACHE  cache root (default ~/.cache/zen-lead/tools)
set -euo pipefail

# shellcheck source=_build_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/_build_lib.sh" build-tools tools.env
cache_out "${ZEN_LEAD_TOOLS_CACHE:-}" tools "$TOOLS_RECIPE"
BIN=$OUT/bin
WANT="helm=$HELM_VERSION kustomize=$KUSTOMIZE_VERSION syft=$SYFT_VERSION promop=$PROMETHEUS_OPERATOR_VERSION argocd=$ARGOCD_VERSION"
FORCE=
WITH_SYFT=1
for a in "$@"; do
  case $a in
    --force) FORCE=1 ;;
    --without-syft) WITH_SYFT= ;;
    *) echo "usage: build-tools.sh [--force] [--without-syft]" >&2; exit 2 ;;
  esac
done

use_go -mod=mod

tool_ok() { [[ -x $BIN/$1 ]] && stamp_is "$OUT/$1.stamp" "$2"; }
CRDS_WANT="$PROMETHEUS_OPERATOR_VERSION $ARGOCD_VERSION $FLUX_SOURCE_CONTROLLER_VERSION"
crds_ok() { stamp_is "$OUT/crds.stamp" "$CRDS_WANT"; }
up_to_date() {
  [[ -z $FORCE ]] || return 1
  [[ -x $BIN/helm && "$(cat "$OUT/helm.stamp" 2>/dev/null)" == "$HELM_VERSION"-k8s1.* ]] && tool_ok kustomize "$KUSTOMIZE_VERSION" && crds_ok || return 1
  [[ -z $WITH_SYFT ]] || tool_ok syft "$SYFT_VERSION"
}

if up_to_date; then
  log "helm $HELM_VERSION, kustomize $KUSTOMIZE_VERSION${WITH_SYFT:+, syft $SYFT_VERSION} and the CRD modules are cached in $OUT"
  exit 0
fi

mkdir -p "$BIN" "$BUILD_LOGS"
lock_cache "$OUT"
BUILD_START=$(date +%s)

install_tool() { # install_tool NAME PACKAGE STAMP [LDFLAGS] [MODULE_VERSION]: MODULE_VERSION defaults to STAMP
  local name=$1 pkg=$2 version=$3 ldflags=${4:-} module_version=${5:-$3}
  tool_ok "$name" "$version" && { log "$name $version: cached"; return 0; }
  build() { GOBIN=$BIN "$GO" install -trimpath -ldflags "-s -w $ldflags" "$pkg@$module_version"; }
  run_step "go install $name $version" build
  echo "$version" >"$OUT/$name.stamp"
}

# helm reports its version, and the Kubernetes version it assumes without a cluster (`helm template`, lint), from
# these variables, as its Makefile sets them from its client-go (v0.MINOR.x is Kubernetes 1.MINOR).
helm_mod=$("$GO" mod download -json "helm.sh/helm/v3@$HELM_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')
helm_k8s_minor=$(sed -n 's/^[[:space:]]*k8s.io\/client-go v0\.\([0-9]*\)\..*/\1/p' "$helm_mod")
[[ -n $helm_k8s_minor ]] || die "expected k8s.io/client-go in $helm_mod"
HELM_LDFLAGS="-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
  HELM_LDFLAGS+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$helm_k8s_minor"
done
install_tool helm helm.sh/helm/v3/cmd/helm "$HELM_VERSION-k8s1.$helm_k8s_minor" "$HELM_LDFLAGS" "$HELM_VERSION"
install_tool kustomize sigs.k8s.io/kustomize/kustomize/v5 "$KUSTOMIZE_VERSION"
if [[ -n $WITH_SYFT ]]; then
  install_tool syft github.com/anchore/syft/cmd/syft "$SYFT_VERSION" "-X main.version=$SYFT_VERSION"
fi

# The published CRD YAML ships inside these modules' source trees; copy the files the tests use.
fetch_crds() {
  local dir
  mkdir -p "$OUT/crds.tmp"
  dir=$("$GO" mod download -json "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
  [[ -d $dir/example/prometheus-operator-crd ]] || die "expected example/prometheus-operator-crd in $dir"
  for k in servicemonitors podmonitors prometheusrules; do
    cp "$dir/example/prometheus-operator-crd/monitoring.coreos.com_$k.yaml" "$OUT/crds.tmp/"
  done
  dir=$("$GO" mod download -json "github.com/argoproj/argo-cd/v3@$ARGOCD_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
  [[ -f $dir/manifests/crds/application-crd.yaml ]] || die "expected manifests/crds/application-crd.yaml in $dir"
  cp "$dir/manifests/crds/application-crd.yaml" "$OUT/crds.tmp/argoproj.io_applications.yaml"
  dir=$("$GO" mod download -json "github.com/fluxcd/source-controller@$FLUX_SOURCE_CONTROLLER_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
  for k in helmrepositories ocirepositories; do
    [[ -f $dir/config/crd/bases/source.toolkit.fluxcd.io_$k.yaml ]] || die "expected source.toolkit.fluxcd.io_$k.yaml in $dir"
    cp "$dir/config/crd/bases/source.toolkit.fluxcd.io_$k.yaml" "$OUT/crds.tmp/"
  done
  rm -rf "$OUT/crds" && mv "$OUT/crds.tmp" "$OUT/crds"
}
if crds_ok; then log "CRDs: cached"; else
  run_step "download CRD modules ($CRDS_WANT)" fetch_crds
  echo "$CRDS_WANT" >"$OUT/crds.stamp"
fi

printf '%s\nbuilt in %ss on %s\n' "$WANT" "$(($(date +%s) - BUILD_START))" "$(date -u +%FT%TZ)" >"$STAMP"
log "tools in $BIN, CRDs in $OUT/crds ($(fmt_secs $(($(date +%s) - BUILD_START))))"
