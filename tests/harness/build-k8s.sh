#!/usr/bin/env bash
# Builds the test control plane from the Go module proxy: etcd, and kube-apiserver,
# kube-controller-manager, kubectl and kube-proxy (for tests/dataplane/) of the one Kubernetes release pinned
# in versions.env. Binaries land in ~/.cache/zen-lead/k8s/<version>/bin; a stamp file makes a second run a no-op.
# A cache whose stamp is current but lacks a binary (one built before kube-proxy joined the list) gets only the
# missing ones, so older checkouts sharing the cache keep their stamp and never rebuild over the newer binaries.
#
# Usage: build-k8s.sh [--force]
# Env:   ZEN_LEAD_K8S_CACHE  cache root (default ~/.cache/zen-lead/k8s)
set -euo pipefail

# shellcheck source=_build_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/_build_lib.sh" build-k8s versions.env
cache_out "${ZEN_LEAD_K8S_CACHE:-}" k8s "$KUBERNETES_VERSION"
BIN=$OUT/bin
WANT="kubernetes=$KUBERNETES_VERSION etcd=$ETCD_VERSION recipe=$BUILD_RECIPE"
BINARIES=(etcd kube-apiserver kube-controller-manager kubectl kube-proxy)
FORCE=${1:-}

stamp_current() { [[ $FORCE != --force ]] && stamp_is "$STAMP" "$WANT"; }

# The binaries of BINARIES not yet in $BIN, space-separated.
missing_binaries() {
  local b out=()
  for b in "${BINARIES[@]}"; do [[ -x $BIN/$b ]] || out+=("$b"); done
  echo "${out[*]}"
}

up_to_date() { stamp_current && [[ -z $(missing_binaries) ]]; }

if up_to_date; then
  log "Kubernetes $KUBERNETES_VERSION and etcd $ETCD_VERSION are cached in $BIN ($(sed -n 2p "$STAMP"))"
  exit 0
fi

# The harness generates certificates with the openssl CLI.
if ! command -v openssl >/dev/null; then
  log "installing openssl (the harness needs it for certificates)"
  apt_install openssl
fi

use_go

lock_cache "$OUT" up_to_date

BUILD_START=$(date +%s)
# TARGETS: what this run builds. A current stamp means the other binaries are good: add only the missing ones.
if stamp_current; then
  read -r -a TARGETS <<<"$(missing_binaries)"
  PARTIAL=1
  log "adding ${TARGETS[*]} to the cached Kubernetes $KUBERNETES_VERSION in $BIN"
else
  TARGETS=("${BINARIES[@]}")
  PARTIAL=0
  log "cold build of Kubernetes $KUBERNETES_VERSION + etcd $ETCD_VERSION with $($GO version | cut -d' ' -f3) into $BIN"
fi
wants() { [[ " ${TARGETS[*]} " == *" $1 "* ]]; }

SRC=$OUT/src
rm -rf "$SRC" "$BIN.tmp" "$OUT/logs"
mkdir -p "$OUT/logs" "$SRC/etcd" "$SRC/kubernetes" "$BIN.tmp"

# --- etcd: a tiny main around etcdmain, so `etcd` is the real server at the pinned version.
cat >"$SRC/etcd/go.mod" <<EOF
module zen-lead.local/etcd-build

go 1.24.0

require go.etcd.io/etcd/server/v3 $ETCD_VERSION
EOF
cat >"$SRC/etcd/main.go" <<'EOF'
// Command etcd runs the etcd server of the version pinned in go.mod.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
EOF

# --- Kubernetes: require k8s.io/kubernetes and point every ./staging replace at its published v0 module.
K8S_MINOR_PATCH=${KUBERNETES_VERSION#v1.}
STAGING_VERSION=v0.$K8S_MINOR_PATCH
K8S_MAJOR=1
K8S_MINOR=${K8S_MINOR_PATCH%%.*}

resolve_kubernetes_module() {
  (cd "$SRC/kubernetes" && "$GO" mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION") >"$SRC/kubernetes-module.json"
}
run_step "fetch k8s.io/kubernetes $KUBERNETES_VERSION go.mod" resolve_kubernetes_module
json_field() { sed -n "s/^[[:space:]]*\"$1\": \"\(.*\)\",\{0,1\}$/\1/p" "$SRC/kubernetes-module.json" | head -n1; }
K8S_GOMOD=$(json_field GoMod)
K8S_INFO=$(json_field Info)
[[ -f $K8S_GOMOD ]] || die "expected the go.mod of k8s.io/kubernetes@$KUBERNETES_VERSION, found: $(cat "$SRC/kubernetes-module.json")"
# A deterministic build date: the release's commit time as the module proxy reports it.
BUILD_DATE=$(sed -n 's/.*"Time":"\([^"]*\)".*/\1/p' "$K8S_INFO")
GO_DIRECTIVES=$(grep -E '^(go|godebug) ' "$K8S_GOMOD")

{
  echo "module zen-lead.local/kubernetes-build"
  echo
  echo "$GO_DIRECTIVES"
  echo
  echo "require k8s.io/kubernetes $KUBERNETES_VERSION"
  echo
  echo "replace ("
  # Lines look like: k8s.io/api => ./staging/src/k8s.io/api  (inside the replace block).
  replaced=0
  while read -r mod arrow target rest; do
    [[ $arrow == "=>" ]] || continue
    case $target in
      ./staging/src/*) echo "	$mod => $mod $STAGING_VERSION"; replaced=$((replaced + 1)) ;;
      ./* | ../*) die "k8s.io/kubernetes replaces $mod with the local path $target, which a module build cannot use" ;;
      *) echo "	$mod => $target $rest" ;;
    esac
  done < <(sed -n '/^replace (/,/^)/p; /^replace [^(]/s/^replace //p' "$K8S_GOMOD")
  echo ")"
  ((replaced > 20)) || die "expected k8s.io/kubernetes to replace 20+ staging modules, found $replaced"
} >"$SRC/kubernetes/go.mod"
log "wrapper module replaces $(grep -c "=> .* $STAGING_VERSION" "$SRC/kubernetes/go.mod") staging modules with $STAGING_VERSION"

# Version stamps, as hack/lib/version.sh sets them; 1.31+ derives the compatibility version from gitVersion.
LDFLAGS="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  LDFLAGS+=" -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=$K8S_MAJOR -X $pkg.gitMinor=$K8S_MINOR"
  LDFLAGS+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$BUILD_DATE"
done

K8S_COMMANDS=()
for c in kube-apiserver kube-controller-manager kubectl kube-proxy; do
  if wants "$c"; then K8S_COMMANDS+=("$c"); fi
done
K8S_PACKAGES=()
for c in "${K8S_COMMANDS[@]}"; do K8S_PACKAGES+=("k8s.io/kubernetes/cmd/$c"); done

download_etcd_modules() { (cd "$SRC/etcd" && "$GO" mod tidy); }
build_etcd() { (cd "$SRC/etcd" && "$GO" build -trimpath -ldflags "-s -w" -o "$BIN.tmp/etcd" .); }
download_kubernetes_modules() { (cd "$SRC/kubernetes" && "$GO" list -mod=mod -deps "${K8S_PACKAGES[@]}" >/dev/null); }
build_kubernetes_command() {
  (cd "$SRC/kubernetes" && "$GO" build -trimpath -ldflags "$LDFLAGS" -o "$BIN.tmp/$1" "k8s.io/kubernetes/cmd/$1")
}

if wants etcd; then
  run_step "download etcd modules" download_etcd_modules
  run_step etcd build_etcd
fi
if ((${#K8S_COMMANDS[@]})); then run_step "download kubernetes modules" download_kubernetes_modules; fi
for c in "${K8S_COMMANDS[@]}"; do run_step "$c" build_kubernetes_command "$c"; done

for c in "${K8S_COMMANDS[@]}"; do
  if [[ $c == kubectl ]]; then continue; fi # kubectl has no plain --version; it carries the same ldflags
  got=$("$BIN.tmp/$c" --version)
  [[ $got == "Kubernetes $KUBERNETES_VERSION" ]] || die "expected $c --version to say 'Kubernetes $KUBERNETES_VERSION', found '$got'"
done

ELAPSED=$(($(date +%s) - BUILD_START))
if ((PARTIAL)); then
  for b in "${TARGETS[@]}"; do mv "$BIN.tmp/$b" "$BIN/$b"; done
  rmdir "$BIN.tmp"
  printf 'added %s in %s (%ss) on %s\n' "${TARGETS[*]}" "$(fmt_secs "$ELAPSED")" "$ELAPSED" "$(date -u +%FT%TZ)" >>"$STAMP"
  log "added ${TARGETS[*]} to $BIN in $(fmt_secs "$ELAPSED") (${ELAPSED}s)"
  exit 0
fi
rm -rf "$BIN"
mv "$BIN.tmp" "$BIN"
printf '%s\ncold build took %s (%ss) on %s\n' "$WANT" "$(fmt_secs "$ELAPSED")" "$ELAPSED" "$(date -u +%FT%TZ)" >"$STAMP"
log "built ${BINARIES[*]} into $BIN"
log "cold build time: $(fmt_secs "$ELAPSED") (${ELAPSED}s)"
