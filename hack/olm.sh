#!/usr/bin/env bash
# OLM v0 (operator-framework/operator-lifecycle-manager, built by `build-bins.sh olm`) beside a
# cluster of hack/cluster.sh, with a catalog of this operator's bundles, as a publisher makes it:
#   - OLM's CRDs from its Go module; namespaces olm and operators, the global OperatorGroup
#     `global-operators` (AllNamespaces) and the OLMConfig `cluster`, as OLM's own chart makes them;
#   - the olm and catalog operators as processes, in a network namespace of their own (both bind
#     :8080 on every address, and so would every pod's metrics port on this shared loopback): they
#     reach the kube-apiserver at its usual address through a socat bridge;
#   - the images (build-image.sh) pushed to the cluster's registry (registry.sh); the bundle
#     image's CSV points at the operator image by digest;
#   - a file-based catalog rendered by `opm render` from those bundle images, served by
#     `opm serve` on loopback, and the CatalogSource `karmada-operator` (namespace olm, sourceType
#     grpc, its address) that OLM resolves Subscriptions from.
# The catalog carries the bundles' manifests (`olm.bundle.object`) and no bundle image path, so OLM
# installs from the catalog itself: no unpack Job, which this cluster could not run (ko-plane runs
# Deployments and StatefulSets, not Jobs).
#
#   hack/olm.sh up      [--name N | --state-dir DIR]                start OLM, publish this version
#   hack/olm.sh publish [--name N | --state-dir DIR] [--version V]  build and add bundle V (default:
#                       the project's) to channel `stable`, replacing the newest one published,
#                       and serve the new catalog (OLM picks it up: an upgrade for subscribers)
#   hack/olm.sh down    [--name N | --state-dir DIR]                stop OLM and the catalog; what
#                       OLM installed stays (as deleting OLM from a cluster leaves its operators)
# `hack/cluster.sh down` stops it too.
set -euo pipefail
LOG_TAG=olm
. "$(dirname "$0")/lib.sh"

OLM_NS=olm
CATALOG=karmada-operator
PACKAGE=karmada-operator
IN_NS_CATALOG_PORT=50051 # the opm server's address inside OLM's network namespace

cmd=${1:-}
[ $# -gt 0 ] && shift
version=''
args=()
while [ $# -gt 0 ]; do
        case $1 in
        --version) version=$2; shift 2 ;;
        --name | --state-dir) args+=("$1" "$2"); shift 2 ;;
        *) break ;;
        esac
done

# ---- inside OLM's network namespace (the `olm` process of the cluster) ----

# in_netns STATE API_PORT OLM CATALOG: loopback up, the kube-apiserver and the catalog bridged
# in over unix sockets, then olm and catalog; stops them all on SIGTERM or when one ends
in_netns() {
        local state=$1 port=$2 olm=$3 catalog=$4 dir=$1/olm
        ip link set lo up
        trap 'kill $(jobs -p) 2>/dev/null; wait; exit 0' TERM INT
        socat "TCP-LISTEN:$port,bind=127.0.0.1,fork,reuseaddr" "UNIX-CONNECT:$dir/api.sock" &
        socat "TCP-LISTEN:$IN_NS_CATALOG_PORT,bind=127.0.0.1,fork,reuseaddr" \
                "UNIX-CONNECT:$dir/catalog.sock" &
        KUBECONFIG=$state/kubeconfig/admin "$olm" --namespace "$OLM_NS" --writeStatusName '' \
                --writePackageServerStatusName '' >>"$state/logs/olm-operator.log" 2>&1 &
        "$catalog" --kubeconfig "$state/kubeconfig/admin" --namespace "$OLM_NS" \
                --writeStatusName '' >>"$state/logs/olm-catalog.log" 2>&1 &
        wait -n
        kill $(jobs -p) 2>/dev/null
        wait
        exit 1
}
if [ "$cmd" = _netns ]; then
        in_netns "$@"
fi

beside_cluster "${args[@]}"
where=("${WHERE[@]}") state=$STATE dir=$STATE/olm
kubectl() { "$HACK_DIR/cluster.sh" kubectl "${where[@]}" -- "$@"; }
opm=$(cached_bin opm "$OPM_VERSION")
olm_bin=$(cached_bin olm "$OLM_VERSION")
catalog_bin=$(cached_bin catalog "$OLM_VERSION")
for b in "$opm" "$olm_bin" "$catalog_bin"; do [ -x "$b" ] || die "$b missing: run hack/build-bins.sh olm"; done
for t in socat ip jq; do command -v $t >/dev/null || die "$t not found; run hack/setup.sh"; done

# crds_established: OLM's CRDs are served
crds_established() {
        local c
        for c in catalogsources clusterserviceversions installplans olmconfigs operatorconditions \
                operatorgroups operators subscriptions; do
                [ "$(kubectl get crd "$c.operators.coreos.com" \
                        -o 'jsonpath={.status.conditions[?(@.type=="Established")].status}')" = True ] || return 1
        done
}

# olm_prerequisites: what OLM's chart installs before its operators
olm_prerequisites() {
        local mod
        ensure_go_path
        mod=$(go mod download -json "github.com/operator-framework/operator-lifecycle-manager@$OLM_VERSION" |
                jq -r .Dir)
        kubectl apply --server-side -f "$mod/deploy/chart/crds/" >/dev/null
        wait_until 60 "OLM's CRDs to be established" crds_established || die "OLM's CRDs not established"
        kubectl apply --server-side -f - >/dev/null <<YAML
apiVersion: v1
kind: Namespace
metadata: {name: $OLM_NS}
---
apiVersion: v1
kind: Namespace
metadata: {name: operators}
---
apiVersion: operators.coreos.com/v1
kind: OperatorGroup
metadata: {name: global-operators, namespace: operators}
---
apiVersion: operators.coreos.com/v1
kind: OLMConfig
metadata: {name: cluster}
YAML
}

catalog_ready() {
        [ "$(kubectl -n "$OLM_NS" get catalogsource "$CATALOG" \
                -o 'jsonpath={.status.connectionState.lastObservedState}')" = READY ]
}

# serve: (re)start opm serve on the catalog directory; the bridge keeps its address
serve() {
        local port
        port=$(free_port)
        "$HACK_DIR/cluster.sh" run olm-opm "${where[@]}" -- "$opm" serve "$dir/catalog" \
                --port "$port" --pprof-addr 127.0.0.1:0 --termination-log /dev/null
        wait_until 60 "opm serve on 127.0.0.1:$port" bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" ||
                { tail -n 20 "$state/logs/olm-opm.log" >&2; die "opm serve did not start"; }
        "$HACK_DIR/cluster.sh" run olm-catalog-bridge "${where[@]}" -- socat \
                "UNIX-LISTEN:$dir/catalog.sock,fork,unlink-early,mode=0600" "TCP:127.0.0.1:$port"
}

# bundle_entry VERSION PREVIOUS: the channel entry of bundle VERSION (it replaces PREVIOUS, and
# skips every older version: an install of any older one upgrades straight to it)
bundle_entry() {
        if [ -n "$2" ]; then
                jq -cn --arg n "$PACKAGE.v$1" --arg r "$PACKAGE.v$2" --arg s "<$1" \
                        '{name: $n, replaces: $r, skipRange: $s}'
        else
                jq -cn --arg n "$PACKAGE.v$1" '{name: $n}'
        fi
}

# render_catalog: catalog/index.json from every published bundle (bundles.list: VERSION REF)
render_catalog() {
        local v ref prev='' entries=() tmp=$dir/catalog.new
        rm -rf "$tmp" && mkdir -p "$tmp"
        jq -cn --arg p "$PACKAGE" '{schema: "olm.package", name: $p, defaultChannel: "stable"}' \
                >"$tmp/index.json"
        while read -r v ref; do
                # the bundle as the image holds it; then no image path: OLM installs from the
                # catalog's copy of its manifests (no unpack Job)
                "$opm" render "$ref" --use-http -o json | jq -c 'if .schema == "olm.bundle" then .image = "" else . end' \
                        >>"$tmp/index.json" || die "opm render $ref failed"
                entries+=("$(bundle_entry "$v" "$prev")")
                prev=$v
        done <"$dir/bundles.list"
        printf '%s\n' "${entries[@]}" | jq -cs --arg p "$PACKAGE" \
                '{schema: "olm.channel", package: $p, name: "stable", entries: .}' >>"$tmp/index.json"
        "$opm" validate "$tmp" || die "opm validate: the catalog is not valid"
        rm -rf "$dir/catalog" && mv "$tmp" "$dir/catalog"
}

# publish VERSION: images built and pushed, the bundle added to the channel, the catalog served
publish() {
        local v=$1 registry out bundle
        "$HACK_DIR/registry.sh" "${where[@]}"
        registry=$(sed -n 's/^REGISTRY=//p' "$state/registry.env")
        out=$("$HACK_DIR/build-image.sh" --push "$registry" --version "$v")
        bundle=$(sed -n 2p <<<"$out") # by digest
        [[ $bundle == *@sha256:* ]] || die "build-image.sh printed no bundle reference by digest"
        touch "$dir/bundles.list"
        sed -i "/^$v /d" "$dir/bundles.list"
        echo "$v $bundle" >>"$dir/bundles.list"
        render_catalog
        serve
        log "published $PACKAGE.v$v (bundle $bundle, operator $(head -n1 <<<"$out"))"
}

wait_catalog() {
        wait_until 120 "CatalogSource $OLM_NS/$CATALOG to be READY" catalog_ready || {
                tail -n 20 "$state/logs/olm-catalog.log" >&2
                die "the catalog is not READY"
        }
}

cmd_up() {
        local start=$SECONDS api_port
        mkdir -p "$dir"
        chmod 0700 "$dir"
        olm_prerequisites
        api_port=$(sed -n 's/^API_PORT=//p' "$state/cluster.env")
        "$HACK_DIR/cluster.sh" run olm-api-bridge "${where[@]}" -- socat \
                "UNIX-LISTEN:$dir/api.sock,fork,unlink-early,mode=0600" "TCP:127.0.0.1:$api_port"
        "$HACK_DIR/cluster.sh" run olm "${where[@]}" -- unshare --net -- "$HACK_DIR/olm.sh" _netns \
                "$state" "$api_port" "$olm_bin" "$catalog_bin"
        publish "${version:-$(project_version)}"
        kubectl apply --server-side -f - >/dev/null <<YAML
apiVersion: operators.coreos.com/v1alpha1
kind: CatalogSource
metadata: {name: $CATALOG, namespace: $OLM_NS}
spec:
  sourceType: grpc
  address: 127.0.0.1:$IN_NS_CATALOG_PORT
  displayName: Karmada Operator (local)
  publisher: hack/olm.sh
YAML
        wait_catalog
        log "OLM $OLM_VERSION up in $((SECONDS - start))s: CatalogSource $OLM_NS/$CATALOG READY" \
                "(logs: $state/logs/olm-{operator,catalog,opm}.log)"
}

cmd_down() {
        kubectl -n "$OLM_NS" delete catalogsource "$CATALOG" --ignore-not-found --wait=false >/dev/null || true
        "$HACK_DIR/cluster.sh" stop olm "${where[@]}"
        "$HACK_DIR/cluster.sh" stop olm-opm "${where[@]}"
        "$HACK_DIR/cluster.sh" stop olm-api-bridge "${where[@]}"
        "$HACK_DIR/cluster.sh" stop olm-catalog-bridge "${where[@]}"
        rm -rf "$dir"
        log "OLM stopped"
}

case $cmd in
up) cmd_up ;;
down) cmd_down ;;
publish)
        [ -f "$dir/bundles.list" ] || die "no OLM here: run hack/olm.sh up first"
        publish "${version:-$(project_version)}"
        wait_catalog
        ;;
*) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
