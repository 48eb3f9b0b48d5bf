#!/usr/bin/env bash
# bundle/ checked by operator-framework's own validators (built by hack/build-bins.sh):
#   operator-verify manifests --operatorhub_validate --object_validate bundle/
#     (it exits 0 even when it reports errors: any level=error or level=fatal line fails)
#   opm render bundle/ into a file-based catalog with package and channel, then opm validate.
# Warnings are printed, not failed on.
set -euo pipefail
. "$(dirname "$0")/../../hack/lib.sh"
bundle=${1:-$ROOT_DIR/bundle}
verify=$(cached_bin operator-verify "$OLM_API_VERSION")
opm=$(cached_bin opm "$OPM_VERSION")
[ -x "$verify" ] && [ -x "$opm" ] || { echo "$verify or $opm missing: run hack/build-bins.sh" >&2; exit 1; }

out=$("$verify" manifests --operatorhub_validate --object_validate "$bundle" 2>&1) || true
echo "$out" | sed 's/^/operator-verify: /'
if echo "$out" | grep -q 'level=\(error\|fatal\)'; then
        echo "operator-verify reports errors" >&2
        exit 1
fi

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir "$dir/catalog"
"$opm" render "$bundle" -o yaml >"$dir/catalog/bundle.yaml"
name=$(sed -n 's/^name: \(karmada-operator\.v[0-9.]*\)$/\1/p' "$dir/catalog/bundle.yaml" | head -n1)
[ -n "$name" ] || { echo "opm render: no olm.bundle named karmada-operator.v*" >&2; exit 1; }
cat >"$dir/catalog/package.yaml" <<YAML
schema: olm.package
name: karmada-operator
defaultChannel: stable
---
schema: olm.channel
package: karmada-operator
name: stable
entries:
  - name: $name
YAML
"$opm" validate "$dir/catalog"
echo "operator-verify: no errors; opm render + opm validate of a catalog with $name: valid"
