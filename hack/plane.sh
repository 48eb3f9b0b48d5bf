#!/usr/bin/env bash
# Run ko-plane (hack/tools/plane.c) beside a cluster of hack/cluster.sh: it runs, as real
# processes on loopback, the etcd, kube-apiserver, kube-controller-manager and Karmada
# components the operator asks that cluster for, with their DNS names, Service ports, node
# ports and load balancers. It stops with `hack/cluster.sh down` (or `stop ko-plane`).
#   hack/plane.sh [--name N | --state-dir DIR] [--bin PATH_TO_KO_PLANE] [--only IMAGE,...]
#                 [--operator-bin PATH]   (runs the init containers of restores)
#                 [--registry] [--token-rotate SECONDS]
#                 [--front-to NAMESPACE]  (hack/bench-scale.sh: only that namespace's instance
#                                          runs; the others' API servers are fronts to it)
# With --registry, images in the cluster's registry (hack/registry.sh, started if need be) run
# as containers from their unpacked image (ko-container next to ko-plane): the operator's own
# Deployment among them, with a projected ServiceAccount token (rotated every SECONDS, the one
# before the last invalidated then, with --token-rotate).
set -euo pipefail
LOG_TAG=plane
. "$(dirname "$0")/lib.sh"

where=(--name local) bin=$ROOT_DIR/build/dev/hack/ko-plane only=() registry=false
while [ $# -gt 0 ]; do
        case $1 in
        --name | --state-dir) where=("$1" "$2"); shift 2 ;;
        --bin) bin=$2; shift 2 ;;
        --only) only=(--only "$2"); shift 2 ;;
        --operator-bin) only+=(--operator-bin "$2"); shift 2 ;;
        --registry) registry=true; shift ;;
        --token-rotate) only+=(--token-rotate "$2"); shift 2 ;;
        --front-to) only+=(--front-to "$2"); shift 2 ;;
        *) die "unknown argument '$1'" ;;
        esac
done
[ -x "$bin" ] || die "$bin missing (cmake --build --preset dev --target ko-plane)"
command -v socat >/dev/null || die "socat not found; run hack/setup.sh"
# Every Karmada component ko-plane runs watches its certificate files with an inotify instance
# of its own (root's, all of them); the default limit of 128 per user ends a long test run's
# webhooks with "too many open files". A node of that many pods needs the same (kind's known
# issues say so too).
limit=/proc/sys/fs/inotify/max_user_instances
if [ -w "$limit" ] && [ "$(cat "$limit")" -lt 1024 ]; then
        log "raising fs.inotify.max_user_instances from $(cat "$limit") to 1024"
        echo 1024 >"$limit"
fi
state=$("$HACK_DIR/cluster.sh" env "${where[@]}" | sed -n 's/^STATE=//p')
[ -n "$state" ] || die "no cluster"
if $registry; then
        "$HACK_DIR/registry.sh" "${where[@]}"
        only+=(--registry "$(sed -n 's/^REGISTRY=//p' "$state/registry.env")")
        for t in skopeo umoci; do command -v $t >/dev/null || die "$t not found; run hack/setup.sh"; done
fi
"$HACK_DIR/cluster.sh" run ko-plane "${where[@]}" -- "$bin" --kubeconfig "$state/kubeconfig/admin" \
        --state "$state/plane" --bin-dir "$KO_BIN_CACHE" --kube-version "$KUBE_VERSION" \
        --etcd-version "$ETCD_VERSION" --karmada-version "$KARMADA_UPSTREAM_VERSION" "${only[@]}"
