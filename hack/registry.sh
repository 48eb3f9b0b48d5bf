#!/usr/bin/env bash
# Run an OCI registry (distribution's `registry`, built by build-bins.sh) beside a cluster of
# hack/cluster.sh, on a free loopback port, storing images under the cluster's state
# directory; writes its address to <state>/registry.env (REGISTRY=127.0.0.1:PORT). Plain HTTP:
# clients reach it on loopback only. Stops with `hack/cluster.sh down` (or
# `cluster.sh stop registry`). Running it again while it runs only prints the address.
#   hack/registry.sh [--name N | --state-dir DIR]
set -euo pipefail
LOG_TAG=registry
. "$(dirname "$0")/lib.sh"

beside_cluster "$@"
where=("${WHERE[@]}") state=$STATE
bin=$(cached_bin registry "$REGISTRY_VERSION")
[ -x "$bin" ] || die "$bin missing: run hack/build-bins.sh registry"
up() { curl -fs -o /dev/null "http://$1/v2/"; }
if [ -f "$state/registry.env" ]; then
        addr=$(sed -n 's/^REGISTRY=//p' "$state/registry.env")
        if up "$addr"; then
                log "registry on http://$addr"
                exit 0
        fi
fi
port=$(free_port)
mkdir -p "$state/registry/data"
cat >"$state/registry/config.yml" <<CFG
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $state/registry/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
CFG
OTEL_TRACES_EXPORTER=none "$HACK_DIR/cluster.sh" run registry "${where[@]}" -- "$bin" serve \
        "$state/registry/config.yml"
wait_until 30 "the registry on 127.0.0.1:$port" up "127.0.0.1:$port"
echo "REGISTRY=127.0.0.1:$port" >"$state/registry.env"
log "registry on http://127.0.0.1:$port"
