#!/usr/bin/env bash
# Print the path of a crds.tar.gz laid out as Karmada's releases are (crds/bases,
# crds/patches), packed from charts/karmada/_crds of the Go module
# github.com/karmada-io/karmada@VERSION (default: KARMADA_UPSTREAM_VERSION), built once into
# the cache. Tests serve it over HTTP as a Karmada object's spec.crdTarball.
set -euo pipefail
LOG_TAG=karmada-crds
. "$(dirname "$0")/lib.sh"
v=${1:-$KARMADA_UPSTREAM_VERSION}
out=$KO_CACHE/karmada-crds/$v/crds.tar.gz
if [ ! -s "$out" ]; then
        src=$("$HACK_DIR/karmada-src.sh" "$v")
        [ -d "$src/charts/karmada/_crds/bases" ] || die "$src has no charts/karmada/_crds/bases"
        tmp=$(mktemp -d)
        trap 'rm -rf "$tmp"' EXIT
        mkdir -p "$tmp/crds" "$(dirname "$out")"
        cp -r "$src/charts/karmada/_crds/bases" "$src/charts/karmada/_crds/patches" "$tmp/crds/"
        chmod -R u+w "$tmp"
        tar -C "$tmp" --owner=0 --group=0 --sort=name -czf "$out.part" crds
        mv "$out.part" "$out"
        log "packed $out from $src"
fi
echo "$out"
