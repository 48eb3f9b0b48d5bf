# shellcheck shell=bash
# Shared helpers for hack/*.sh. Source it; it sets no options of its own.

HACK_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT_DIR=$(cd "$HACK_DIR/.." && pwd)
# shellcheck source=hack/versions.env
. "$HACK_DIR/versions.env"

KO_CACHE=${KARMADA_OPERATOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/karmada-operator}
KO_BIN_CACHE=$KO_CACHE/bin

# build_tool TARGET: the path of a hack/tools binary, built with the dev preset (from the root)
build_tool() {
        cmake --preset dev >/dev/null
        cmake --build --preset dev --target "$1" >/dev/null
        echo "build/dev/hack/$1"
}

# project_version: the operator's version (CMakeLists.txt's project())
project_version() { sed -n 's/^project(karmada-operator VERSION \([0-9.]*\) .*/\1/p' "$ROOT_DIR/CMakeLists.txt"; }

log() { printf '%s [%s] %s\n' "$(date +%H:%M:%S)" "${LOG_TAG:-hack}" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# go_version_ok GO: prints its version and succeeds when >= GO_MIN_VERSION
go_version_ok() {
        local v
        v=$("$1" env GOVERSION 2>/dev/null) || return 1
        v=${v#go}
        echo "$v"
        [ "$(printf '%s\n%s\n' "$GO_MIN_VERSION" "$v" | sort -V | head -n1)" = "$GO_MIN_VERSION" ]
}

# find_go: the first Go new enough: on PATH, /usr/local/go, or the one hack/setup.sh fetched
find_go() {
        local g
        for g in "$(command -v go 2>/dev/null || true)" /usr/local/go/bin/go "$KO_CACHE/go/$GO_BOOTSTRAP_VERSION/bin/go"; do
                [ -n "$g" ] && [ -x "$g" ] && go_version_ok "$g" >/dev/null && { echo "$g"; return 0; }
        done
        return 1
}

# ensure_go_path: put that Go first on PATH
ensure_go_path() {
        local g
        g=$(find_go) || die "no Go >= $GO_MIN_VERSION found; run hack/setup.sh"
        PATH=$(dirname "$g"):$PATH
        # modules that need a newer Go than this one get it through the module proxy
        export GOTOOLCHAIN=${GOTOOLCHAIN:-auto}
}

used_ports() { ss -Htan 2>/dev/null | awk '{print $4}' | sed 's/.*://' | sort -u; }

# free_port: a TCP port in 20000-29999 that nothing listens on or uses now: below the
# NodePort range (30000-32767), whose ports the API server hands out without looking at what
# listens on the host, and below the ephemeral ports (32768-60999) others bind to
free_port() {
        local used p
        used=" $(used_ports | tr '\n' ' ') "
        while :; do
                p=$((20000 + RANDOM % 10000))
                case "$used" in *" $p "*) ;; *) echo "$p"; return 0 ;; esac
        done
}

# cached_bin NAME VERSION -> path of the cached binary (may not exist yet)
cached_bin() { printf '%s/%s-%s\n' "$KO_BIN_CACHE" "$1" "$2"; }

# wait_until TIMEOUT_SECONDS DESCRIPTION CMD... : poll CMD every 0.2 s until it succeeds.
wait_until() {
        local timeout=$1 what=$2 deadline
        shift 2
        deadline=$(($(date +%s) + timeout))
        until "$@" >/dev/null 2>&1; do
                if [ "$(date +%s)" -ge "$deadline" ]; then
                        log "timed out after ${timeout}s waiting for $what"
                        return 1
                fi
                sleep 0.2
        done
}

# seed_crd_cache CACHE VERSION: Karmada's CRD tarball of VERSION (from its Go module) where the
# operator keeps what it downloads from the default URL (the SHA-256 of the URL), so instances
# without spec.crdTarball need no network
# (1 when the Go module proxy does not serve that version: nothing is seeded)
seed_crd_cache() {
        local url sum tarball
        tarball=$("$HACK_DIR/karmada-crds.sh" "$2" 2>/dev/null) || return 1
        url=https://github.com/karmada-io/karmada/releases/download/$2/crds.tar.gz
        sum=$(printf '%s' "$url" | sha256sum | cut -d' ' -f1)
        mkdir -p "$1/crds/$sum"
        cp "$tarball" "$1/crds/$sum/crds.tar.gz"
}

# apply_operator_crds KUBECTL...: the operator's CRDs (crds/), applied server-side and waited for
# until established; KUBECTL is the command to run kubectl with (and its flags)
apply_operator_crds() {
        "$@" apply --server-side --field-manager=karmada-operator-hack -f "$ROOT_DIR/crds/" >/dev/null
        local crd deadline=$((SECONDS + 60))
        for crd in karmadas karmadabackups karmadabackupschedules karmadareleases; do
                until [ "$("$@" get crd "$crd.operator.karmada.io" \
                        -o 'jsonpath={.status.conditions[?(@.type=="Established")].status}' 2>/dev/null)" = True ]; do
                        [ $SECONDS -lt $deadline ] || die "CRD $crd.operator.karmada.io not established after 60s"
                        sleep 0.2
                done
        done
}

# bench_cluster NAME IMAGES [PLANE_ARGS...]: for a benchmark, the ci build of the operator and
# ko-plane, a cluster NAME of BENCH_NODES kwok nodes (1; 250 pods each) brought up (and down at
# exit) with ko-plane running only IMAGES (comma-separated, and with hack/plane.sh's
# PLANE_ARGS); sets kubeconfig and state, and a kubectl function for that cluster
bench_cluster() {
        cmake --preset ci >/dev/null
        cmake --build --preset ci -j "$(nproc)" --target karmada-operator ko-plane >/dev/null
        kubeconfig=$("$HACK_DIR/cluster.sh" up --name "$1" --nodes "${BENCH_NODES:-1}")
        # shellcheck disable=SC2064 # the name is fixed now
        trap "\"$HACK_DIR/cluster.sh\" down --name $1 >/dev/null 2>&1" EXIT
        kubectl() { "$(cached_bin kubectl "$KUBE_VERSION")" --kubeconfig "$kubeconfig" "$@"; }
        state=$("$HACK_DIR/cluster.sh" env --name "$1" | sed -n 's/^STATE=//p')
        "$HACK_DIR/plane.sh" --name "$1" --bin build/ci/hack/ko-plane --only "$2" "${@:3}"
}

# beside_cluster ARGS...: for the scripts that run something beside a cluster of cluster.sh.
# Parses --name N | --state-dir DIR (default: --name local) into WHERE; STATE is its directory.
beside_cluster() {
        WHERE=(--name local)
        while [ $# -gt 0 ]; do
                case $1 in
                --name | --state-dir) WHERE=("$1" "$2"); shift 2 ;;
                *) die "unknown argument '$1'" ;;
                esac
        done
        STATE=$("$HACK_DIR/cluster.sh" env "${WHERE[@]}" | sed -n 's/^STATE=//p')
        [ -n "$STATE" ] || die "no cluster"
}
