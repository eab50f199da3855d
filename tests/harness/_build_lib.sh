# shellcheck shell=bash
# What every build/ensure script shares (sourced, never run): logging, the cache paths, stamps, the cache lock,
# the Go toolchain, Debian installs, and steps that show which one runs and for how long.
#
# Usage: source _build_lib.sh TAG [PINS]: TAG prefixes the log lines; PINS, a KEY=VALUE file beside this one
# (versions.env, tools.env), is sourced as well. run_step writes its logs to $BUILD_LOGS (set by cache_out) and
# reports the total time since $BUILD_START (set by the caller).
BUILD_TAG=${1:?usage: source _build_lib.sh TAG [PINS]}
if [[ -n ${2:-} ]]; then
  # shellcheck disable=SC1090 # the pins file is the caller's choice
  source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$2"
fi

log() { printf '[%s] %s\n' "$BUILD_TAG" "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}
fmt_secs() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

# cache_out OVERRIDE NAME [SUBDIR]: OUT=${OVERRIDE:-~/.cache/zen-lead/NAME}[/SUBDIR], STAMP and BUILD_LOGS in it.
cache_out() {
  OUT=${1:-$HOME/.cache/zen-lead/$2}${3:+/$3}
  STAMP=$OUT/stamp
  BUILD_LOGS=$OUT/logs
}

# stamp_is FILE WANT: FILE exists and its first line is WANT.
stamp_is() { [[ -f $1 && "$(head -n1 "$1")" == "$2" ]]; }

# lock_cache DIR [UP_TO_DATE]: creates DIR and holds DIR/.lock on fd 9 until the script exits; while another
# build holds it, says so and waits. Two runs may start at once: once the lock is ours, the command UP_TO_DATE
# (when given) tells whether the other run built it meanwhile, and then the script ends successfully.
lock_cache() {
  mkdir -p "$1"
  exec 9>"$1/.lock"
  if command -v flock >/dev/null; then
    flock -n 9 || {
      log "another build holds $1/.lock: waiting for it"
      flock 9
    }
  fi
  if [[ -n ${2:-} ]] && "$2"; then
    log "built meanwhile by another run: $1"
    exit 0
  fi
}

# use_go [GOFLAG...]: GO is the Go toolchain (on PATH, else /usr/local/go/bin/go), building static binaries
# without VCS stamps with the local toolchain only (no toolchain download).
use_go() {
  GO=$(command -v go || true)
  [[ -z $GO && -x /usr/local/go/bin/go ]] && GO=/usr/local/go/bin/go
  [[ -n $GO ]] || die "expected a Go toolchain (go on PATH or /usr/local/go/bin/go), found none"
  export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS="${GOFLAGS:-} -buildvcs=false${*:+ $*}"
}

# apt_install [APT-OPTION...] PACKAGE...: installs Debian packages as root, or through sudo; waits for the apt
# lock of other runs instead of failing.
apt_install() {
  local sudo=()
  [[ $(id -u) == 0 ]] || sudo=(sudo)
  "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=600 update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq "$@" >/dev/null
}

# run_step NAME COMMAND...: runs COMMAND in the background with its output in $BUILD_LOGS/NAME.log, printing
# which step runs and for how long (live on a terminal, every 30 s otherwise); a failure prints the log's tail.
run_step() {
  local name=$1 logfile start pid now
  shift
  logfile=$BUILD_LOGS/$(printf '%s' "$name" | tr -c 'A-Za-z0-9.-' '_').log
  start=$(date +%s)
  log "$name: started"
  "$@" >"$logfile" 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    now=$(date +%s)
    if [[ -t 2 ]]; then
      printf '\r[%s] %s: %s elapsed (total %s) ' "$BUILD_TAG" "$name" "$(fmt_secs $((now - start)))" \
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
