#!/usr/bin/env bash
# Set up everything and bring up a local host cluster (etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, kwok) for development.
# Stop it with: hack/cluster.sh down
set -euo pipefail
LOG_TAG=local-up
. "$(dirname "$0")/lib.sh"
cd "$ROOT_DIR"

"$HACK_DIR/setup.sh"
ensure_go_path
"$HACK_DIR/build-bins.sh"
cmake --preset dev >/dev/null
cmake --build --preset dev -j "$(nproc)"
kubeconfig=$("$HACK_DIR/cluster.sh" up --name local)
kubectl=$(cached_bin kubectl "$KUBE_VERSION")

cat <<EOT

Local cluster is up (Kubernetes $KUBE_VERSION, one kwok node).
  export KUBECONFIG=$kubeconfig
  alias kubectl=$kubectl
  kubectl get nodes
Operator binary: $ROOT_DIR/build/dev/operator/karmada-operator
Status: hack/cluster.sh status     Stop: hack/cluster.sh down
EOT
