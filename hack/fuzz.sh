#!/usr/bin/env bash
# Run the libFuzzer targets (clang + AddressSanitizer/UBSan) for a while each.
#   hack/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     (default 60 s; targets: kubeconfig yaml watch)
# New inputs go to build/fuzz/corpus-<target>; crashes to build/fuzz/. Copy an interesting
# input into tests/fuzz/corpus/<target>/ so CTest replays it from then on.
set -euo pipefail
LOG_TAG=fuzz
. "$(dirname "$0")/lib.sh"
cd "$ROOT_DIR"

secs=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(kubeconfig yaml watch)
"$HACK_DIR/setup.sh"
CC=clang cmake -S . -B build/fuzz -DCMAKE_BUILD_TYPE=Debug -DKO_FUZZ=ON -DKO_SANITIZE=ON \
        -DKO_INTEGRATION_TESTS=OFF >/dev/null
cmake --build build/fuzz -j "$(nproc)" --target "${targets[@]/#/fuzz_}"
for t in "${targets[@]}"; do
        mkdir -p "build/fuzz/corpus-$t"
        log "fuzzing $t for ${secs}s"
        (cd build/fuzz && "./tests/fuzz_$t" -max_total_time="$secs" -max_len=65536 -print_final_stats=1 \
                "corpus-$t" "$ROOT_DIR/tests/fuzz/corpus/$t")
done
