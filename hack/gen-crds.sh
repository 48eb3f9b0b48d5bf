#!/usr/bin/env bash
# Generate crds/*.yaml from crds/src/*.yaml, embedding Kubernetes types from the OpenAPI
# document of the pinned Kubernetes version (from the Go module k8s.io/kubernetes).
#   hack/gen-crds.sh           write crds/<group>_<plural>.yaml
#   hack/gen-crds.sh --check   fail when a committed CRD differs from a fresh generation
set -euo pipefail
LOG_TAG=gen-crds
. "$(dirname "$0")/lib.sh"
cd "$ROOT_DIR"

check=false
[ "${1:-}" = --check ] && check=true
ensure_go_path
dir=$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p')
openapi=$dir/api/openapi-spec/v3/api__v1_openapi.json
[ -f "$openapi" ] || die "no $openapi"
gen=${KO_CRDGEN:-$(build_tool ko-crdgen)}
rc=0
for src in crds/src/*.yaml; do
        name=$(sed -n 's/^  name: \([a-z0-9.-]*\)$/\1/p' "$src" | head -n1) # <plural>.<group>
        out="crds/${name#*.}_${name%%.*}.yaml"
        tmp=$(mktemp)
        "$gen" "$src" "$openapi" >"$tmp"
        if $check; then
                if ! cmp -s "$tmp" "$out"; then
                        log "$out is not what $src generates; run hack/gen-crds.sh"
                        diff -u "$out" "$tmp" | head -n 20 >&2 || true
                        rc=1
                fi
                rm -f "$tmp"
        else
                mv "$tmp" "$out"
                log "wrote $out"
        fi
done
exit $rc
