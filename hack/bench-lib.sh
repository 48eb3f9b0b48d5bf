# shellcheck shell=bash
# What the operator benchmarks share (hack/bench-karmada.sh, hack/bench-scale.sh): sourced after
# lib.sh and bench_cluster. bench_operator starts the operator and sets pid and metrics; the
# other functions read its metrics, its memory and the instances' conditions.

# bench_run CMD...: an operator run by CMD with the cluster (its metrics at 127.0.0.1:$mport, which
# the caller chose); its pid is pid, its metrics `metrics`, the host API server host
bench_run() {
        "$HACK_DIR/cluster.sh" run karmada-operator --name "$BENCH_NAME" -- "$@"
        pid=$(awk '{print $1}' "$state/pids/karmada-operator")
        wait_until 60 "the operator" metrics >/dev/null
        host=$(kubectl config view -o 'jsonpath={.clusters[0].cluster.server}')
}
# bench_operator CACHE ALG POOL: ours, as its own user (the audit log records it), with RSA or
# ECDSA keys and a key pool of POOL
bench_operator() {
        mport=$(free_port)
        bench_run ${KO_BENCH_WRAP-} build/ci/operator/karmada-operator run \
                --kubeconfig "$("$HACK_DIR/cluster.sh" user karmada-operator --name "$BENCH_NAME")" \
                --leader-election-namespace kube-system --key-algorithm "$2" \
                --key-pool-size "$3" --cache-dir "$1" \
                --metrics-bind-address "127.0.0.1:$mport" --health-probe-bind-address 0
        [ -z "${KO_BENCH_WRAP-}" ] || pid=$(pgrep -n -f 'operator/karmada-operator run')
        keytype=$([ "$2" = rsa ] && echo rsa-3072 || echo ecdsa-p256)
}
metrics() { curl -fsS --max-time 5 "http://127.0.0.1:$mport/metrics"; }

# sum of a family's samples whose labels match a regular expression
msum() { awk -v f="$1" -v re="$2" '$1 ~ "^"f"({|$)" && $1 ~ re {s += $NF} END {printf "%d\n", s}'; }
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
kib() { awk -v k="$1" '$1 == k":" {print $2}' "/proc/$pid/status"; } # VmRSS, VmHWM (KiB)
private() { awk '/^Private_Dirty/ {print $2}' "/proc/$pid/smaps_rollup"; } # KiB
memory() { # and the heap's split (karmada_operator_heap_bytes, ours only): live data, free chunks kept
        local m
        m=$(metrics)
        printf 'RSS %s, private dirty %s' "$(mib "$(kib VmRSS)")" "$(mib "$(private)")"
        grep -q '^karmada_operator_heap_bytes' <<<"$m" &&
                printf ', heap in use %s, free %s' \
                        "$(mib $(($(msum karmada_operator_heap_bytes 'state="in_use"' <<<"$m") / 1024)))" \
                        "$(mib $(($(msum karmada_operator_heap_bytes 'state="free"' <<<"$m") / 1024)))"
        echo
}
# how many instances have condition TYPE with status STATUS
count_condition() {
        kubectl get karmadas -A -o "jsonpath={range .items[*]}{.status.conditions[?(@.type==\"$1\")].status}{\"\\n\"}{end}" |
                grep -c "^$2\$" || true
}
# wait_condition T0 TOTAL TYPE STATUS [LIMIT]: until TOTAL instances have it (at most LIMIT
# seconds, 600); prints seconds since T0
wait_condition() {
        while [ "$(count_condition "$3" "$4")" -lt "$2" ]; do
                sleep 0.5
                awk -v t0="$1" -v now="$(date +%s.%N)" -v l="${5:-600}" 'BEGIN {exit !(now - t0 > l)}' &&
                        die "not all $2 $3=$4 after ${5:-600}s"
        done
        awk -v t0="$1" -v now="$(date +%s.%N)" 'BEGIN {printf "%.1f", now - t0}'
}
# create FIRST LAST: instance bench-i in namespace bench-i (spec.karmadaVersion: cr_version if set,
# as it is empty for upstream's operator, else version)
create() {
        local i kv=${cr_version-$version}
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
${kv:+  karmadaVersion: $kv
}  components: {etcd: {local: {}}, karmadaAPIServer: {serviceType: NodePort}}
---
EOT
        done | kubectl create -f - >/dev/null
}

pool_keys() { metrics | msum karmada_operator_key_pool_keys "type=\"$keytype\""; }
keys_by_source() {
        local m
        m=$(metrics)
        echo "$(msum karmada_operator_keys_total "type=\"$keytype\".*source=\"pool\"" <<<"$m") from the pool, $(msum karmada_operator_keys_total "type=\"$keytype\".*source=\"made\"" <<<"$m") made on demand"
}
# wait_pool POOL: until the key pool holds POOL keys (an operator that has been up a while)
wait_pool() {
        local t_pool=$SECONDS
        while [ "$1" -gt 0 ] && [ "$(pool_keys)" -lt "$1" ]; do
                [ $((SECONDS - t_pool)) -lt 300 ] || die "the key pool holds $(pool_keys) of $1 keys after 300 s"
                sleep 0.5
        done
        log "the key pool holds $1 $keytype keys $((SECONDS - t_pool)) s after the operator answered"
}
