#!/usr/bin/env bash
# Set up everything and run the main job locally, the way users run the operator: a host
# cluster (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok) with a registry
# beside it, the operator's image built from this tree (hack/build-image.sh) and pushed there,
# the operator installed from bundle/plain/ (its image reference pointed at the registry, as a
# kustomization would) and run by ko-plane as a pod from that image (uid 65532, read-only root,
# in-cluster configuration, only the bundle's RBAC; restarted when it exits), ko-plane also
# running the etcd, kube-apiserver and Karmada components the operator renders (kwok's pods are
# simulated), and the sample Karmada of crds/samples/, waited for until Ready. Karmada's CRD
# tarball comes from its Go module (hack/karmada-crds.sh) into the pod's cache volume, as if
# downloaded from GitHub (this machine reaches no GitHub).
# Run it again to rebuild and roll the operator; stop everything with hack/cluster.sh down.
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
"$HACK_DIR/plane.sh" --name local --bin "$ROOT_DIR/build/dev/hack/ko-plane" --operator-bin "$operator" --registry
registry=$(sed -n 's/^REGISTRY=//p' "$state/registry.env")
image=$("$HACK_DIR/build-image.sh" --push "$registry" | sed -n 1p)

# the CRD tarballs of the sample's release and of every built-in release (karmada-operator
# releases) that the Go module proxy serves, in the operator pod's cache volume (an emptyDir:
# ko-plane keeps it under the pod's directory), where the operator keeps what it downloads
# (sha256 of the URL)
version=$(sed -n 's/^ *karmadaVersion: *//p' crds/samples/karmada.yaml)
podcache=$state/plane/pods/karmada-operator-system_karmada-operator-0/volumes/cache
seed_crd_cache "$podcache" "$version" || die "no CRD tarball of $version (the sample's release)"
for v in $("$operator" releases | sed -n 's/^\(v[0-9][0-9.]*\) (built in.*/\1/p'); do
        if seed_crd_cache "$podcache" "$v"; then
                log "seeded the CRD tarball of $v"
        else
                log "$v: not on the Go module proxy; its instances need its CRD tarball (README: Karmada releases, air-gapped)"
        fi
done
chown -R 65532:65532 "$podcache" # as the pod's user (the image's) would have written it
apply_operator_crds kubectl
manifests=$state/karmada-operator.yaml
# the image by digest: a second run with a rebuilt image rolls the Deployment
sed "s|ghcr.io/karmada-operator/karmada-operator:v[0-9.]*|$image|g" bundle/plain/karmada-operator.yaml >"$manifests"
kubectl apply --server-side --force-conflicts -f "$manifests" >/dev/null
oplog=$state/plane/pods/karmada-operator-system_karmada-operator-0/log
leads() {
        kubectl -n karmada-operator-system get lease karmada-operator -o jsonpath='{.spec.holderIdentity}' 2>/dev/null |
                grep -q '^karmada-operator-0'
}
if ! wait_until 120 "the operator's pod to take its Lease" leads; then
        tail -n 30 "$oplog" "$state/logs/ko-plane.log" >&2 || true
        die "the operator did not start; its log: $oplog"
fi
pod_ip=$(awk '$2 == "karmada-operator-0" {print $1}' "$state/plane/hosts")
log "the operator runs from $image as a pod (karmada-operator-system/karmada-operator-0, $pod_ip)"

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
Operator: image $image (registry http://$registry), installed from $manifests;
  log $oplog, its requests in $state/logs/audit.log (user
  system:serviceaccount:karmada-operator-system:karmada-operator)
  metrics http://$pod_ip:8080/metrics   probes http://$pod_ip:8081/readyz
Render a CR without a cluster: $operator render -f crds/samples/karmada.yaml
Stop everything: hack/cluster.sh down
EOT
