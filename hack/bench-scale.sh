#!/usr/bin/env bash
# Scale benchmark (not a test): the operator with 1, 10 and N (default 100) Karmada instances,
# then upstream's operator (v$KARMADA_UPSTREAM_VERSION, built from its Go module) with the same
# instances, each on a cluster of its own brought up and down here; then the ratios.
#
# A hundred real Karmada API servers do not fit on two cores, so ko-plane runs in its shared
# mode (--front-to, hack/tools/plane_front.c): one instance's etcd, Karmada API server,
# aggregated API server and metrics adapter run for real (rendered by the operator into a
# namespace of their own, with no Karmada object), and each measured instance's three API
# servers are TLS fronts to them that present the instance's own serving certificates and check
# its own client CA; etcd and the controllers are simulated. The instances share what they
# write in the Karmada API server, so after the first one most of it is there already: the
# Karmada-side writes of later instances are fewer than with API servers of their own.
#
# For each level: the time from creating the new instances to all Ready (and to Degraded=False,
# ours only: upstream has no such condition); the operator's CPU seconds, and its requests
# while installing them (to the host as the kube-apiserver's audit log counts them, the lease
# apart; to the Karmada API servers as its own metrics count them); its RSS, private memory
# and peak RSS; and for KO_BENCH_REST_SECONDS (300) at rest, the same requests, the lease's
# per renewal period, and its reconciles. Upstream's levels stop at the first it does not
# bring to Ready within KO_BENCH_UPSTREAM_LIMIT seconds (600), with its conditions then.
# KO_BENCH_WRAP: a command ours runs under, for a profile (`heaptrack -o FILE`: its figures are
# then the profiled operator's).
#   hack/bench-scale.sh [N] [--key-algorithm rsa|ecdsa] [--key-pool-size K] [--no-upstream]
set -euo pipefail
LOG_TAG=scale
. "$(dirname "$0")/lib.sh"
. "$HACK_DIR/bench-lib.sh"
cd "$ROOT_DIR"

N=100 ALG=rsa POOL=15 SHARED=ko-shared UPSTREAM=true
while [ $# -gt 0 ]; do
        case $1 in
        --key-algorithm) ALG=$2; shift 2 ;;
        --key-pool-size) POOL=$2; shift 2 ;;
        --no-upstream) UPSTREAM=false; shift ;;
        [0-9]*) N=$1; shift ;;
        *) die "usage: $0 [N] [--key-algorithm rsa|ecdsa] [--key-pool-size K] [--no-upstream]" ;;
        esac
done
REST=${KO_BENCH_REST_SECONDS:-300} LIMIT=${KO_BENCH_UPSTREAM_LIMIT:-600}
command -v jq >/dev/null || die "jq not found; run hack/setup.sh"
version=$KARMADA_UPSTREAM_VERSION
# a kwok node holds 250 pods: the instances' 9 each, the shared instance's and some room
BENCH_NODES=$(((N * 9 + 9) / 250 + 1))
levels=()
for l in 1 10 "$N"; do [ "$l" -le "$N" ] && { [ ${#levels[@]} -eq 0 ] || [ "$l" -gt "${levels[-1]}" ]; } && levels+=("$l"); done

# The API servers every instance's fronts forward to: what the operator renders for an instance
# in $SHARED, its host objects only, applied with no Karmada object (so no operator owns them)
shared_plane() {
        kubectl create namespace "$SHARED" >/dev/null
        cat <<EOF | build/ci/operator/karmada-operator render -f - -o json --show-secrets --key-algorithm ecdsa |
apiVersion: operator.karmada.io/v1alpha1
kind: Karmada
metadata: {name: shared, namespace: $SHARED}
spec:
  karmadaVersion: $version
  components: {etcd: {local: {}}}
EOF
                jq --arg ns "$SHARED" '{apiVersion: "v1", kind: "List", items: [.items[] | select(.metadata.namespace == $ns)]}' |
                kubectl apply -f - >/dev/null
        wait_until 180 "the shared Karmada API server" shared_ready
        log "the shared Karmada API server serves"
}
shared_ready() {
        [ "$(kubectl get pods -n "$SHARED" -l app.kubernetes.io/name=karmada-apiserver \
                -o 'jsonpath={.items[*].status.conditions[?(@.type=="Ready")].status}')" = True ]
}

# Upstream's operator, as this machine's user karmada-operator, with its own CRD; its data
# directory (/var/lib/karmada) is one of the cluster's, with the CRD tarball in its cache
upstream_operator() {
        local src data sum bin
        "$HACK_DIR/build-bins.sh" upstream-operator
        bin=$(cached_bin karmada-operator-upstream "$version")
        src=$("$HACK_DIR/karmada-src.sh" "$version")
        kubectl apply --server-side --field-manager=bench -f "$src/operator/config/crds/" >/dev/null
        kubectl wait --for=condition=Established crd/karmadas.operator.karmada.io --timeout=60s >/dev/null
        data=$state/upstream-var-lib
        sum=$(printf '%s' "https://github.com/karmada-io/karmada/releases/download/$version/crds.tar.gz" | sha256sum | cut -d' ' -f1)
        mkdir -p "$data/karmada/cache/$sum"
        cp "$("$HACK_DIR/karmada-crds.sh" "$version")" "$data/karmada/cache/$sum/crds.tar.gz"
        mport=$(free_port)
        bench_run unshare -m -- /bin/sh -c 'mount --bind "$0" /var/lib && exec "$@"' "$data" "$bin" \
                --kubeconfig "$("$HACK_DIR/cluster.sh" user karmada-operator --name "$BENCH_NAME")" \
                --leader-elect-resource-namespace kube-system \
                --metrics-bind-address "127.0.0.1:$mport" --health-probe-bind-address 0
}

# audit_since OFFSET: the operator's requests in the audit log after byte OFFSET:
# "writes reads lease watches" (a watch is logged when it ends: a renewal)
audit_since() {
        tail -c +$(($1 + 1)) "$audit" | jq -r 'select(.user.username == "karmada-operator") |
                if .objectRef.resource == "leases" then "lease"
                elif (.verb | test("^(create|update|patch|delete|deletecollection)$")) then "write"
                elif (.verb | test("^(get|list)$")) then "read" else .verb end' |
                awk '{n[$1]++} END {printf "%d %d %d %d\n", n["write"], n["read"], n["lease"], n["watch"]}'
}
# karmada_side: the operator's requests to the Karmada API servers by its metrics: "reads writes"
# (all but the host's: ours labels them with the host's URL, client-go with its host:port)
karmada_side() {
        local m h="host=\"(https://)?${host#https://}\""
        m=$(metrics)
        echo "$(($(msum rest_client_requests_total 'method="GET"' <<<"$m") - $(msum rest_client_requests_total "$h.*method=\"GET\"" <<<"$m")))" \
                "$(($(msum rest_client_requests_total 'method="(POST|PUT|PATCH|DELETE)"' <<<"$m") - $(msum rest_client_requests_total "$h.*method=\"(POST|PUT|PATCH|DELETE)\"" <<<"$m")))"
}
reconciles() { metrics | msum controller_runtime_reconcile_total ''; }
cpu() { awk -v t="$(getconf CLK_TCK)" '{printf "%.1f", ($14 + $15) / t}' "/proc/$pid/stat"; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", b - a}'; }

declare -A M # M[kind,level,measure]
# level KIND FIRST LAST: create instances FIRST..LAST, measure their install, then all at rest;
# 1 when they are not all Ready within the limit
level() {
        local kind=$1 first=$2 last=$3 t0 ready calm="-" c0 off kr0 kw0 kr1 kw1 w r lease watches rec0
        off=$(stat -c %s "$audit")
        read -r kr0 kw0 <<<"$(karmada_side)"
        c0=$(cpu)
        t0=$(date +%s.%N)
        create "$first" "$last"
        if ! ready=$(wait_condition "$t0" "$last" Ready True "$([ "$kind" = ours ] && echo 3600 || echo "$LIMIT")"); then
                log "$kind: not all $last instances Ready after ${LIMIT}s: $(count_condition Ready True) are; conditions:"
                kubectl get karmadas -A -o 'jsonpath={range .items[*]}{.metadata.name}: {range .status.conditions[*]}{.type}={.status} {.reason}: {.message}; {end}{"\n"}{end}' | sort | uniq -c | sort -rn | head -5 >&2
                M[$kind,$last,ready]="not Ready"
                return 1
        fi
        [ "$kind" = upstream ] || calm="$(wait_condition "$t0" "$last" Degraded False 3600) s"
        log "$kind: $((last - first + 1)) new instance(s) ($last in all) Ready ${ready}s after creation, Degraded=False: $calm"
        sleep 5 # the last status writes and Events
        read -r w r lease watches <<<"$(audit_since "$off")"
        read -r kr1 kw1 <<<"$(karmada_side)"
        M[$kind,$last,ready]=$ready M[$kind,$last,calm]=$calm M[$kind,$last,cpu]=$(sub "$c0" "$(cpu)")
        M[$kind,$last,host]="$w / $r" M[$kind,$last,hostn]=$((w + r))
        M[$kind,$last,karmada]="$((kw1 - kw0)) / $((kr1 - kr0))" M[$kind,$last,karmadan]=$((kw1 - kw0 + kr1 - kr0))
        M[$kind,$last,peak]=$(kib VmHWM)
        log "$kind: installing them took ${M[$kind,$last,cpu]} s of CPU; host ${M[$kind,$last,host]} writes / reads (audit log);" \
                "Karmada API servers ${M[$kind,$last,karmada]}; memory $(memory)"
        off=$(stat -c %s "$audit")
        read -r kr0 kw0 <<<"$(karmada_side)"
        rec0=$(reconciles)
        sleep "$REST"
        read -r w r lease watches <<<"$(audit_since "$off")"
        read -r kr1 kw1 <<<"$(karmada_side)"
        M[$kind,$last,rest]="$((w + r)) + $((kw1 - kw0 + kr1 - kr0))" M[$kind,$last,lease]=$lease
        M[$kind,$last,watches]=$watches
        M[$kind,$last,recs]=$(($(reconciles) - rec0))
        M[$kind,$last,rss]=$(kib VmRSS) M[$kind,$last,private]=$(private)
        log "$kind: at rest for ${REST}s with $last: ${M[$kind,$last,rest]} requests (host + Karmada)," \
                "$lease of the lease, $watches watch renewals, ${M[$kind,$last,recs]} reconciles; memory $(memory)"
}

# run KIND: KIND's operator (ours or upstream) on a cluster of its own, level by level
run() {
        local kind=$1 l prev=0
        BENCH_NAME=scale-$1
        bench_cluster "$BENCH_NAME" etcd,kube-apiserver,karmada-aggregated-apiserver,karmada-metrics-adapter \
                --front-to "$SHARED"
        audit=$state/logs/audit.log
        if [ "$kind" = ours ]; then
                seed_crd_cache "$state/operator-cache" "$version"
                apply_operator_crds kubectl
                shared_plane
                bench_operator "$state/operator-cache" "$ALG" "$POOL"
                wait_pool "$POOL"
                cr_version=$version
        else
                upstream_operator
                shared_plane
                cr_version=""
        fi
        log "$kind: operator memory before any instance: $(memory)"
        M[$kind,0,rss]=$(kib VmRSS) M[$kind,0,private]=$(private)
        for l in "${levels[@]}"; do
                level "$kind" $((prev + 1)) "$l" || break
                prev=$l
        done
        "$HACK_DIR/cluster.sh" down --name "$BENCH_NAME" >/dev/null 2>&1
        trap - EXIT
}

run ours
! $UPSTREAM || run upstream

echo
echo "| operator | instances | new ones Ready | Degraded=False | CPU to install | host writes / reads | Karmada writes / reads | RSS at rest | private at rest | peak RSS | requests at rest (host + Karmada) | lease requests at rest | watch renewals at rest | reconciles at rest |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for kind in ours upstream; do
        for l in "${levels[@]}"; do
                [ -n "${M[$kind,$l,ready]:-}" ] || continue
                if [ -z "${M[$kind,$l,rss]:-}" ]; then
                        echo "| $kind | $l | ${M[$kind,$l,ready]} | | | | | | | | | | | |"
                        continue
                fi
                echo "| $kind | $l | ${M[$kind,$l,ready]} s | ${M[$kind,$l,calm]} | ${M[$kind,$l,cpu]} s | ${M[$kind,$l,host]} |" \
                        "${M[$kind,$l,karmada]} | $(mib "${M[$kind,$l,rss]}") | $(mib "${M[$kind,$l,private]}") |" \
                        "$(mib "${M[$kind,$l,peak]}") | ${M[$kind,$l,rest]} | ${M[$kind,$l,lease]} in ${REST}s | ${M[$kind,$l,watches]} | ${M[$kind,$l,recs]} |"
        done
done
prev=${levels[0]}
for l in "${levels[@]:1}"; do
        [ -n "${M[ours,$l,private]:-}" ] && [ -n "${M[ours,$prev,private]:-}" ] &&
                echo "ours: private memory per added instance from $prev to $l: $(((M[ours,$l,private] - M[ours,$prev,private]) / (l - prev))) KiB"
        prev=$l
done
$UPSTREAM || exit 0
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f", a / b; else printf "-"}'; }
echo
echo "| instances | time to Ready | CPU to install | host requests to install | Karmada requests to install | RSS at rest | private at rest | peak RSS |"
echo "|---|---|---|---|---|---|---|---|"
for l in "${levels[@]}"; do
        [ -n "${M[ours,$l,rss]:-}" ] && [ -n "${M[upstream,$l,rss]:-}" ] || continue
        echo "| $l (ours / upstream) | $(ratio "${M[ours,$l,ready]}" "${M[upstream,$l,ready]}") |" \
                "$(ratio "${M[ours,$l,cpu]}" "${M[upstream,$l,cpu]}") | $(ratio "${M[ours,$l,hostn]}" "${M[upstream,$l,hostn]}") |" \
                "$(ratio "${M[ours,$l,karmadan]}" "${M[upstream,$l,karmadan]}") | $(ratio "${M[ours,$l,rss]}" "${M[upstream,$l,rss]}") |" \
                "$(ratio "${M[ours,$l,private]}" "${M[upstream,$l,private]}") | $(ratio "${M[ours,$l,peak]}" "${M[upstream,$l,peak]}") |"
done
