#!/usr/bin/env bash
# Benchmark (not a test): idle memory of a process with two informers over N ConfigMaps
# (default 1,000), against a local cluster brought up and down here.
#   hack/bench-informer.sh [N] [IDLE_SECONDS]
set -euo pipefail
LOG_TAG=bench
. "$(dirname "$0")/lib.sh"
cd "$ROOT_DIR"

cmake --preset ci >/dev/null
cmake --build --preset ci -j "$(nproc)" --target bench_informer >/dev/null
kubeconfig=$("$HACK_DIR/cluster.sh" up --name bench)
trap '"$HACK_DIR/cluster.sh" down --name bench >/dev/null 2>&1' EXIT
build/ci/tests/bench_informer "$kubeconfig" create "${1:-1000}"
build/ci/tests/bench_informer "$kubeconfig" watch "${2:-30}"
