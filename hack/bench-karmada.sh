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
LOG_TAG=bench BENCH_NAME=bench
. "$(dirname "$0")/lib.sh"
. "$HACK_DIR/bench-lib.sh"
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
bench_cluster "$BENCH_NAME" etcd,kube-apiserver,karmada-aggregated-apiserver,karmada-metrics-adapter
version=$KARMADA_UPSTREAM_VERSION
cache=$state/operator-cache
seed_crd_cache "$cache" "$version"
apply_operator_crds kubectl
bench_operator "$cache" "$ALG" "$POOL"

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

wait_pool "$POOL"
log "operator memory before any instance: $(memory)"
phase 1 1
[ "$N" -lt 2 ] || phase 2 "$N"
