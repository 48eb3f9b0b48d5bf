#!/usr/bin/env bash
# Generate the OLM bundle (bundle/manifests, bundle/metadata, bundle/bundle.Dockerfile) and the
# plain manifests (bundle/plain/, bundle/namespaced/) from their single sources: bundle/src/ (CSV text, RBAC rules,
# Deployment), crds/ and crds/samples/.
#   hack/gen-bundle.sh           write them
#   hack/gen-bundle.sh --check   fail when what is committed differs from a fresh generation
set -euo pipefail
LOG_TAG=gen-bundle
. "$(dirname "$0")/lib.sh"
cd "$ROOT_DIR"

check=false
[ "${1:-}" = --check ] && check=true
gen=${KO_BUNDLEGEN:-$(build_tool ko-bundlegen)}
version=$(project_version)
[ -n "$version" ] || die "no project version in CMakeLists.txt"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$gen" bundle/src "$tmp" "$version" crds/samples/*.yaml -- crds/*.yaml
generated=(manifests metadata plain namespaced bundle.Dockerfile)
if $check; then
        rc=0
        for g in "${generated[@]}"; do
                if ! diff -ru "bundle/$g" "$tmp/$g" >"$tmp/diff" 2>&1; then
                        log "bundle/$g is not what bundle/src generates; run hack/gen-bundle.sh"
                        head -n 20 "$tmp/diff" >&2
                        rc=1
                fi
        done
        exit $rc
fi
for g in "${generated[@]}"; do
        rm -rf "bundle/$g"
        cp -r "$tmp/$g" "bundle/$g"
done
log "wrote bundle/{manifests,metadata,plain,namespaced,bundle.Dockerfile} (version $version)"
