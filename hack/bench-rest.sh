#!/usr/bin/env bash
# Benchmark (not a test) of "nothing at rest", counted by the API server: on a cluster of its
# own (brought up and down here, ko-plane running each instance's etcd, Karmada API server and
# the API servers behind its APIServices, so nothing is Degraded), the operator runs as its own
# user with
#   - instance a: plain;
#   - instance b: 40 estimator members, one kubeconfig Secret for all (estimators not run);
#   - instance c: an invalid spec touched three times (a repeated Warning Event), then its whole
#     namespace deleted;
# for SECONDS (default 600). Then the kube-apiserver's audit log tells the operator's requests
# in the last half of that time, by verb, resource and code: the lease's and watch renewals
# apart, everything else must be 0.
#   hack/bench-rest.sh [SECONDS]
set -euo pipefail
LOG_TAG=bench-rest
. "$(dirname "$0")/lib.sh"
cd "$ROOT_DIR"

DURATION=${1:-600}
MEMBERS=40
case $DURATION in '' | *[!0-9]*) die "usage: $0 [SECONDS]" ;; esac

# every APIService served (the aggregated apiserver and the metrics adapter): nothing Degraded
bench_cluster rest etcd,kube-apiserver,karmada-aggregated-apiserver,karmada-metrics-adapter
version=$KARMADA_UPSTREAM_VERSION
cache=$state/operator-cache
seed_crd_cache "$cache" "$version"
apply_operator_crds kubectl
"$HACK_DIR/cluster.sh" run karmada-operator --name rest -- build/ci/operator/karmada-operator run \
        --kubeconfig "$state/kubeconfig/karmada-operator" --leader-election-namespace kube-system \
        --key-algorithm ecdsa --cache-dir "$cache" --metrics-bind-address 0 \
        --health-probe-bind-address 0

members=$(for ((i = 0; i < MEMBERS; i++)); do
        printf '%s{name: m%02d, kubeconfigSecretRef: {name: members}}' "$([ $i -gt 0 ] && echo ,)" "$i"
done)
kubectl create -f - >/dev/null <<EOT
apiVersion: v1
kind: Namespace
metadata: {name: rest-a}
---
apiVersion: v1
kind: Namespace
metadata: {name: rest-b}
---
apiVersion: v1
kind: Namespace
metadata: {name: rest-c}
---
apiVersion: operator.karmada.io/v1alpha1
kind: Karmada
metadata: {name: a, namespace: rest-a}
spec:
  karmadaVersion: $version
  components: {etcd: {local: {}}, karmadaAPIServer: {serviceType: NodePort}}
---
apiVersion: v1
kind: Secret
metadata: {name: members, namespace: rest-b}
stringData: {kubeconfig: "apiVersion: v1\nkind: Config\n"}
---
apiVersion: operator.karmada.io/v1alpha1
kind: Karmada
metadata: {name: b, namespace: rest-b}
spec:
  karmadaVersion: $version
  components: {etcd: {local: {}}, karmadaAPIServer: {serviceType: NodePort}}
  features: {scheduler: {estimator: {enabled: true, memberClusters: [$members]}}}
---
apiVersion: operator.karmada.io/v1alpha1
kind: Karmada
metadata: {name: c, namespace: rest-c}
spec: {karmadaVersion: v0.1.0}
EOT
ready() { [ "$(kubectl get karmada -n "$1" "$2" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}')" = True ]; }
condition() { kubectl get karmada -n "$1" "$2" -o "jsonpath={.status.conditions[?(@.type==\"$3\")].status}"; }
settled() { [ "$(condition "$1" "$2" Ready)" = True ] && [ "$(condition "$1" "$2" Degraded)" = False ]; }
wait_until 300 "instance a Ready and not Degraded" settled rest-a a
wait_until 300 "instance b Ready and not Degraded" settled rest-b b
log "a and b Ready, not Degraded ($MEMBERS estimator members in b)"
for i in 1 2 3; do
        kubectl annotate -n rest-c karmada c --overwrite "bench/touch=$i" >/dev/null
        sleep 1.5
done
kubectl delete namespace rest-c --wait=true --timeout=120s >/dev/null
log "namespace rest-c (instance c, a repeated InvalidSpec Warning) deleted"

audit=$state/logs/audit.log
start=$(date -u +%s)
log "running for ${DURATION}s"
sleep "$DURATION"
from=$(date -u -d "@$((start + DURATION / 2))" +%Y-%m-%dT%H:%M:%S)
# the operator's completed requests since $from: "verb resource code" per line
jq -r --arg from "$from" 'select(.stage == "ResponseComplete" and .user.username == "karmada-operator"
        and .requestReceivedTimestamp >= $from)
        | "\(.verb) \(.objectRef.resource // "-") \(.responseStatus.code // 0)"' "$audit" >"$state/rest.txt"
lease=$(grep -c ' leases ' "$state/rest.txt" || true)
watches=$(grep -c '^watch ' "$state/rest.txt" || true)
others=$(grep -v ' leases ' "$state/rest.txt" | grep -vc '^watch ' || true)
log "audit log, the last $((DURATION - DURATION / 2))s: $others requests of the operator apart from the lease ($lease) and watch renewals ($watches)"
grep -v ' leases ' "$state/rest.txt" | sort | uniq -c | sort -rn | sed 's/^/    /' >&2 || true
log "the instances at the end: a Ready=$(condition rest-a a Ready) Degraded=$(condition rest-a a Degraded), b Ready=$(condition rest-b b Ready) Degraded=$(condition rest-b b Degraded)"
[ "$others" -eq 0 ] || die "the operator is not at rest: $others requests"
