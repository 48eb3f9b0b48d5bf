#!/usr/bin/env bash
# Benchmark (not a test): the memory of the whole end-to-end environment of the feature tests
# while integration.test_features_e2e runs in it: the host cluster, ko-plane running every
# component of a v1.18.2 instance (controller-manager, scheduler, two scheduler-estimators
# included), the operator, and two member clusters — all brought up and down here. Over and over
# (a scan of /proc takes about a second) it sums, over the processes of that environment, the
# resident (RSS) and proportional (PSS: shared pages split among their users) memory; it prints
# the peaks and the test's time.
#   hack/bench-features.sh
set -euo pipefail
LOG_TAG=bench
. "$(dirname "$0")/lib.sh"
cd "$ROOT_DIR"

cmake --preset ci >/dev/null
cmake --build --preset ci -j "$(nproc)" --target karmada-operator ko-plane test_features_e2e >/dev/null
dir=$(mktemp -d "${TMPDIR:-/tmp}/ko-bench-features.XXXXXX")
cleanup() {
        [ -z "${sampler:-}" ] || kill "$sampler" 2>/dev/null || true
        "$HACK_DIR/members.sh" down --state-dir "$dir/members" >/dev/null 2>&1 || true
        "$HACK_DIR/cluster.sh" down --state-dir "$dir/host" >/dev/null 2>&1 || true
        rm -rf "$dir"
}
trap cleanup EXIT

# the processes of the environment: the cached binaries, ko-plane and its socat forwards, the
# operator and the test
sample() {
        local pid cmd rss pss trss tpss
        while :; do
                trss=0 tpss=0
                for pid in /proc/[0-9]*; do
                        cmd=$( (tr '\0' ' ' <"$pid/cmdline") 2>/dev/null) || continue
                        case $cmd in
                        *"$KO_BIN_CACHE"* | *ko-plane* | *socat* | *karmada-operator* | *test_features_e2e*) ;;
                        *) continue ;;
                        esac
                        read -r rss pss < <(awk '/^Rss:/ {r=$2} /^Pss:/ {p=$2} END {print r+0, p+0}' \
                                "$pid/smaps_rollup" 2>/dev/null || echo "0 0")
                        trss=$((trss + rss)) tpss=$((tpss + pss))
                done
                echo "$(date +%s) $trss $tpss"
                sleep 1
        done
}

"$HACK_DIR/cluster.sh" up --state-dir "$dir/host" >/dev/null
"$HACK_DIR/plane.sh" --state-dir "$dir/host" --bin build/ci/hack/ko-plane \
        --operator-bin build/ci/operator/karmada-operator
"$HACK_DIR/members.sh" up --state-dir "$dir/members"
sample >"$dir/samples" &
sampler=$!
start=$SECONDS
KO_TEST_CLUSTER=$dir/host KO_TEST_MEMBERS=$dir/members KO_HACK_DIR=$HACK_DIR \
        KO_OPERATOR_BIN=$ROOT_DIR/build/ci/operator/karmada-operator \
        KO_KARMADA_CRDS_DIR=$(dirname "$(dirname "$("$HACK_DIR/karmada-crds.sh" "$KARMADA_UPSTREAM_VERSION")")") \
        build/ci/tests/test_features_e2e 2>&1 | grep -v '^time=' || die "test_features_e2e failed"
took=$((SECONDS - start))
kill "$sampler" && wait "$sampler" 2>/dev/null || true
sampler=""
awk -v took="$took" '
        $2 > rss { rss = $2 } $3 > pss { pss = $3 } NR == 1 { r0 = $2; p0 = $3 }
        END {
                printf "test_features_e2e: %d s, %d samples\n", took, NR
                printf "environment memory at the start (host cluster, ko-plane, 2 members): RSS %.0f MiB, PSS %.0f MiB\n", r0 / 1024, p0 / 1024
                printf "peak while the test ran (an instance with every component, 2 estimators): RSS %.0f MiB, PSS %.0f MiB\n", rss / 1024, pss / 1024
        }' "$dir/samples"
