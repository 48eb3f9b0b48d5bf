#!/usr/bin/env bash
# Benchmark (not a test) of the operator on a local cluster brought up and down here, with
# ko-plane running each instance's etcd and kube-apiserver for real (the operator installs
# Karmada's CRDs and webhook configurations through it): time from creating Karmada objects to
# Ready, API requests per reconcile (and writes in a steady state, which must be 0), and the
# operator's memory, after the last reconcile and again at rest (KO_BENCH_REST_SECONDS later,
# default 45: the Karmada API server connections closed) — for 1 instance, then for N
# (default 20) in all. The first instance is
# created once the operator's key pool is full (an operator that has been up a while), and the
# log says how many keys came from the pool and how many were made on demand.
#   hack/bench-karmada.sh [N] [--key-algorithm rsa|ecdsa] [--key-pool-size K]
set -euo pipefail
LOG_TAG=bench
. "$(dirname "$0")/lib.sh"
cd "$ROOT_DIR"

N=20 ALG=rsa POOL=15
while [ $# -gt 0 ]; do
        case $1 in
        --key-algorithm) ALG=$2; shift 2 ;;
        --key-pool-size) POOL=$2; shift 2 ;;
        [0-9]*) N=$1; shift ;;
        *) die "usage: $0 [N] [--key-algorithm rsa|ecdsa] [--key-pool-size K]" ;;
        esac
done
STEADY=${KO_BENCH_STEADY_SECONDS:-30} REST=${KO_BENCH_REST_SECONDS:-45}

# the Karmada API servers and the aggregated API servers behind their APIServices for real
# (the controllers stay simulated: 20 of each would not fit on 2 cores)
bench_cluster bench etcd,kube-apiserver,karmada-aggregated-apiserver,karmada-metrics-adapter
version=$KARMADA_UPSTREAM_VERSION
cache=$state/operator-cache
seed_crd_cache "$cache" "$version"
apply_operator_crds kubectl
mport=$(free_port)
"$HACK_DIR/cluster.sh" run karmada-operator --name bench -- build/ci/operator/karmada-operator run \
        --kubeconfig "$kubeconfig" --leader-election-namespace kube-system --key-algorithm "$ALG" \
        --key-pool-size "$POOL" --cache-dir "$cache" \
        --metrics-bind-address "127.0.0.1:$mport" --health-probe-bind-address 0
pid=$(awk '{print $1}' "$state/pids/karmada-operator")
metrics() { curl -fsS --max-time 5 "http://127.0.0.1:$mport/metrics"; }
wait_until 60 "the operator" metrics >/dev/null

# sum of a family's samples whose labels match a regular expression
msum() { awk -v f="$1" -v re="$2" '$1 ~ "^"f"({|$)" && $1 ~ re {s += $NF} END {printf "%d\n", s}'; }
host=$(kubectl config view -o 'jsonpath={.clusters[0].cluster.server}')
snapshot() { # -> "reads writes reconciles karmada-reads karmada-writes" (not the lease)
        local m lr lw
        m=$(metrics)
        lr=$(msum leader_election_requests_total 'method="GET"' <<<"$m")
        lw=$(msum leader_election_requests_total 'method="(POST|PUT|PATCH|DELETE)"' <<<"$m")
        echo "$(($(msum rest_client_requests_total "host=\"$host\".*method=\"GET\"" <<<"$m") - lr))" \
                "$(($(msum rest_client_requests_total "host=\"$host\".*method=\"(POST|PUT|PATCH|DELETE)\"" <<<"$m") - lw))" \
                "$(msum controller_runtime_reconcile_total '' <<<"$m")" \
                "$(($(msum rest_client_requests_total 'method="GET"' <<<"$m") - lr))" \
                "$(($(msum rest_client_requests_total 'method="(POST|PUT|PATCH|DELETE)"' <<<"$m") - lw))"
}
mib() { echo "$(($1 / 1024)).$((($1 % 1024) * 10 / 1024)) MiB"; } # KiB -> "N.N MiB"
memory() { # and the heap's split (karmada_operator_heap_bytes): live data, free chunks kept
        local rss pd m
        rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")
        pd=$(awk '/^Private_Dirty/ {print $2}' "/proc/$pid/smaps_rollup")
        m=$(metrics)
        echo "RSS $(mib "$rss"), private dirty $(mib "$pd"), heap in use" \
                "$(mib $(($(msum karmada_operator_heap_bytes 'state="in_use"' <<<"$m") / 1024))), free" \
                "$(mib $(($(msum karmada_operator_heap_bytes 'state="free"' <<<"$m") / 1024)))"
}
# how many instances have condition TYPE with status STATUS
count_condition() {
        kubectl get karmadas -A -o "jsonpath={range .items[*]}{.status.conditions[?(@.type==\"$1\")].status}{\"\\n\"}{end}" |
                grep -c "^$2\$" || true
}
# wait_condition T0 TOTAL TYPE STATUS: until TOTAL instances have it; prints seconds since T0
wait_condition() {
        while [ "$(count_condition "$3" "$4")" -lt "$2" ]; do
                sleep 0.2
                awk -v t0="$1" -v now="$(date +%s.%N)" 'BEGIN {exit !(now - t0 > 600)}' &&
                        die "not all $2 $3=$4 after 600s"
        done
        awk -v t0="$1" -v now="$(date +%s.%N)" 'BEGIN {printf "%.1f", now - t0}'
}
create() { # create FIRST LAST: instance bench-i in namespace bench-i
        local i
        for ((i = $1; i <= $2; i++)); do
                cat <<EOT
apiVersion: v1
kind: Namespace
metadata: {name: bench-$i}
---
apiVersion: operator.karmada.io/v1alpha1
kind: Karmada
metadata: {name: bench-$i, namespace: bench-$i}
spec:
  karmadaVersion: $version
  components: {etcd: {local: {}}, karmadaAPIServer: {serviceType: NodePort}}
---
EOT
        done | kubectl create -f - >/dev/null
}

# phase: create FIRST..LAST, time to all Ready, steady state, one forced reconcile each
phase() {
        local first=$1 last=$2 total=$2 t0 took r0 w0 c0 r1 w1 c1 ar0 aw0 ar1 aw1 i n=$(($2 - $1 + 1))
        read -r r0 w0 c0 ar0 aw0 <<<"$(snapshot)"
        t0=$(date +%s.%N)
        create "$first" "$last"
        took=$(wait_condition "$t0" "$total" Ready True)
        log "$n new instance(s) ($total in all) Ready ${took}s after creation ($ALG keys; so far $(keys_by_source))"
        # Degraded flips to False once the aggregated API servers answer: a real change, so the
        # steady state starts after it
        took=$(wait_condition "$t0" "$total" Degraded False)
        log "... and Degraded=False (every APIService Available) ${took}s after creation"
        sleep 5 # let the last status writes and the events settle
        read -r r1 w1 c1 ar1 aw1 <<<"$(snapshot)"
        log "installing them took $((w1 - w0)) writes, $((r1 - r0)) reads and $((c1 - c0)) reconciles in the host ($(((w1 - w0) / n)) writes per instance, events included); in the Karmada API servers $(((aw1 - aw0) - (w1 - w0))) writes, $(((ar1 - ar0) - (r1 - r0))) reads"
        read -r r0 w0 c0 ar0 aw0 <<<"$(snapshot)"
        sleep "$STEADY"
        read -r r1 w1 c1 ar1 aw1 <<<"$(snapshot)"
        log "steady state for ${STEADY}s with $total instance(s): $((aw1 - aw0)) writes, $((ar1 - ar0)) reads (all API servers), $((c1 - c0)) reconciles"
        # a reconcile of each unchanged CR (an annotation the operator ignores triggers it)
        read -r r0 w0 c0 ar0 aw0 <<<"$(snapshot)"
        for ((i = 1; i <= total; i++)); do
                kubectl annotate -n "bench-$i" karmada "bench-$i" --overwrite "bench/touch=$(date +%s%N)" >/dev/null
        done
        local deadline=$((SECONDS + 60))
        while :; do
                read -r r1 w1 c1 ar1 aw1 <<<"$(snapshot)"
                [ $((c1 - c0)) -ge "$total" ] && break
                [ $SECONDS -lt $deadline ] || die "the annotations did not trigger $total reconciles"
                sleep 0.2
        done
        sleep 2
        read -r r1 w1 c1 ar1 aw1 <<<"$(snapshot)"
        log "forced reconcile of $total unchanged instance(s): $((c1 - c0)) reconciles, $((aw1 - aw0)) writes, $((ar1 - ar0)) reads (all API servers; $(awk -v r=$((ar1 - ar0)) -v c=$((c1 - c0)) 'BEGIN {printf "%.1f", r / c}') reads per reconcile)"
        log "operator memory with $total instance(s): $(memory)"
        sleep "$REST" # the connections to the Karmada API servers closed after 30 s idle
        log "operator memory with $total instance(s) at rest (${REST}s later): $(memory)"
}

keytype=$([ "$ALG" = rsa ] && echo rsa-3072 || echo ecdsa-p256)
pool_keys() { metrics | msum karmada_operator_key_pool_keys "type=\"$keytype\""; }
keys_by_source() {
        local m
        m=$(metrics)
        echo "$(msum karmada_operator_keys_total "type=\"$keytype\".*source=\"pool\"" <<<"$m") from the pool, $(msum karmada_operator_keys_total "type=\"$keytype\".*source=\"made\"" <<<"$m") made on demand"
}
t_pool=$SECONDS
while [ "$POOL" -gt 0 ] && [ "$(pool_keys)" -lt "$POOL" ]; do
        [ $((SECONDS - t_pool)) -lt 300 ] || die "the key pool holds $(pool_keys) of $POOL keys after 300 s"
        sleep 0.5
done
log "the key pool holds $POOL $keytype keys $((SECONDS - t_pool)) s after the operator answered"
log "operator memory before any instance: $(memory)"
phase 1 1
[ "$N" -lt 2 ] || phase 2 "$N"
