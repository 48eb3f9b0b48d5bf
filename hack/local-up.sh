#!/usr/bin/env bash
# Set up everything and run the main job locally: a host cluster (etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, kwok), ko-plane beside it (it runs on loopback the
# etcd, kube-apiserver and Karmada components the operator renders, since kwok's pods are
# simulated), the operator's CRDs, the operator (built from this tree, in the background) and the
# sample Karmada of crds/samples/, waited for until Ready. Karmada's CRD tarball comes from its
# Go module (hack/karmada-crds.sh) into the operator's cache, as if downloaded from GitHub.
# Run it again to rebuild and restart; stop everything with hack/cluster.sh down.
set -euo pipefail
LOG_TAG=local-up
. "$(dirname "$0")/lib.sh"
cd "$ROOT_DIR"

READY_TIMEOUT=${KO_READY_TIMEOUT:-300}

"$HACK_DIR/setup.sh"
ensure_go_path
"$HACK_DIR/build-bins.sh"
cmake --preset dev >/dev/null
cmake --build --preset dev -j "$(nproc)"
operator=$ROOT_DIR/build/dev/operator/karmada-operator
kubeconfig=$("$HACK_DIR/cluster.sh" up --name local)
kubectl() { "$(cached_bin kubectl "$KUBE_VERSION")" --kubeconfig "$kubeconfig" "$@"; }
state=$("$HACK_DIR/cluster.sh" env --name local | sed -n 's/^STATE=//p')
"$HACK_DIR/plane.sh" --name local --bin "$ROOT_DIR/build/dev/hack/ko-plane" --operator-bin "$operator"

# the sample's CRD tarball, where the operator keeps what it downloads (sha256 of the URL)
version=$(sed -n 's/^ *karmadaVersion: *//p' crds/samples/karmada.yaml)
cache=$state/operator-cache
seed_crd_cache "$cache" "$version"
apply_operator_crds kubectl

metrics_port=$(free_port)
probe_port=$(free_port)
while [ "$probe_port" = "$metrics_port" ]; do probe_port=$(free_port); done
# the operator as its own user: the API server's audit log ($state/logs/audit.log) has its requests
"$HACK_DIR/cluster.sh" run karmada-operator --name local -- "$operator" run \
        --kubeconfig "$state/kubeconfig/karmada-operator" --leader-election-namespace kube-system --cache-dir "$cache" \
        --metrics-bind-address "127.0.0.1:$metrics_port" --health-probe-bind-address "127.0.0.1:$probe_port"
oplog=$state/logs/karmada-operator.log
operator_ready() { curl -fsS --max-time 2 "http://127.0.0.1:$probe_port/readyz" >/dev/null 2>&1; }
if ! wait_until 60 "the operator to become ready" operator_ready; then
        tail -n 30 "$oplog" >&2
        die "the operator did not become ready; its log: $oplog"
fi

kubectl create namespace karmada-system --dry-run=client -o yaml | kubectl apply -f - >/dev/null
kubectl apply -f crds/samples/karmada.yaml >/dev/null
log "waiting up to ${READY_TIMEOUT}s for karmada-system/karmada-demo to become Ready"
start=$SECONDS
if ! kubectl wait -n karmada-system karmada/karmada-demo --for=condition=Ready --timeout="${READY_TIMEOUT}s" >/dev/null; then
        kubectl get karmada -n karmada-system karmada-demo -o yaml >&2 || true
        tail -n 30 "$oplog" >&2
        die "karmada-demo did not become Ready; the operator's log: $oplog"
fi
log "karmada-demo Ready after $((SECONDS - start))s"
kubectl get karmadas -A

cat <<EOT

Local cluster (Kubernetes $KUBE_VERSION, one kwok node) with the operator and a Karmada.
  export KUBECONFIG=$kubeconfig
  alias kubectl=$(cached_bin kubectl "$KUBE_VERSION")
  kubectl get karmadas -A; kubectl get all -n karmada-system
The Karmada API server (its admin kubeconfig):
  kubectl get secret -n karmada-system karmada-demo-admin-config -o jsonpath='{.data.karmada\.config}' | base64 -d > karmada.config
  kubectl --kubeconfig karmada.config get crds
Processes ko-plane runs: $state/plane/pods/*/log
Operator: log $oplog, pid in $state/pids/karmada-operator, its requests in $state/logs/audit.log
  metrics http://127.0.0.1:$metrics_port/metrics   probes http://127.0.0.1:$probe_port/readyz
Render a CR without a cluster: $operator render -f crds/samples/karmada.yaml
Stop everything: hack/cluster.sh down
EOT
