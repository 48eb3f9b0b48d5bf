#!/usr/bin/env bash
# Benchmark the API client (not a test): GETs per second on one connection and its memory,
# against a local cluster (brought up and down here unless KUBECONFIG_BENCH names one).
#   hack/bench-client.sh [N]
set -euo pipefail
LOG_TAG=bench
. "$(dirname "$0")/lib.sh"
cd "$ROOT_DIR"

n=${1:-2000}
cmake --preset ci >/dev/null
cmake --build --preset ci -j "$(nproc)" --target bench_kube_client >/dev/null
kubeconfig=${KUBECONFIG_BENCH:-}
if [ -z "$kubeconfig" ]; then
        kubeconfig=$("$HACK_DIR/cluster.sh" up --name bench)
        trap '"$HACK_DIR/cluster.sh" down --name bench >/dev/null 2>&1' EXIT
fi
build/ci/tests/bench_kube_client "$kubeconfig" "$n"
