#!/usr/bin/env bash
# Member clusters for the end-to-end tests of Karmada's features: N clusters of hack/cluster.sh
# (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok), started one after the
# other (two cores), each with what Karmada's push mode needs to join it: a ServiceAccount
# kube-system/karmada-join bound to cluster-admin and a token of it.
#   hack/members.sh up   --state-dir DIR [--count N]   DIR/member1..N: each a cluster's state
#                                                      directory; its token in <that>/join-token
#   hack/members.sh down --state-dir DIR               stop them and remove DIR
set -euo pipefail
LOG_TAG=members
. "$(dirname "$0")/lib.sh"

cmd=${1:-}
[ $# -gt 0 ] && shift
dir="" count=2
while [ $# -gt 0 ]; do
        case $1 in
        --state-dir) dir=$2; shift 2 ;;
        --count) count=$2; shift 2 ;;
        *) die "unknown argument '$1'" ;;
        esac
done
[ -n "$dir" ] || die "--state-dir is required"

up() {
        local i m
        mkdir -p "$dir" && chmod 700 "$dir"
        for ((i = 1; i <= count; i++)); do
                m=$dir/member$i
                "$HACK_DIR/cluster.sh" up --state-dir "$m" >/dev/null
                k() { "$HACK_DIR/cluster.sh" kubectl --state-dir "$m" -- "$@"; }
                k -n kube-system create serviceaccount karmada-join >/dev/null
                k create clusterrolebinding karmada-join --clusterrole=cluster-admin \
                        --serviceaccount=kube-system:karmada-join >/dev/null
                (umask 077 && k -n kube-system create token karmada-join --duration=24h >"$m/join-token")
                log "member$i ready: $(sed -n 's/^API_PORT=/https:\/\/127.0.0.1:/p' "$m/cluster.env")"
        done
}

down() {
        local m rc=0
        for m in "$dir"/member*; do
                [ -d "$m" ] || continue
                "$HACK_DIR/cluster.sh" down --state-dir "$m" || rc=1
        done
        [ $rc -eq 0 ] && rm -rf "$dir"
        return $rc
}

case $cmd in
up) up ;;
down) down ;;
*) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
