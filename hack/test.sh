#!/usr/bin/env bash
# The one test command (CI runs exactly this): setup, build, and every test.
#   1. hack/setup.sh and the pinned cluster binaries (cached; a second run builds nothing)
#   2. the `ci` preset (warnings are errors): build, unit tests, lint (clang-format, clang-tidy),
#      packaging (the images built and the operator started in its image, the systemd unit)
#   3. the `asan` preset (AddressSanitizer + UndefinedBehaviorSanitizer): build, then every test
#      but lint and packaging (unit, compat, integration against a local cluster that CTest
#      brings up and down), two at a time: the integration tests mostly wait on rollouts, and
#      those that cannot share the cluster run alone (tests/CMakeLists.txt)
# Exits non-zero on any failure. Extra arguments go to the asan ctest run (e.g. -R plumbing).
set -euo pipefail
LOG_TAG=test
. "$(dirname "$0")/lib.sh"
cd "$ROOT_DIR"

start=$SECONDS
"$HACK_DIR/setup.sh"
ensure_go_path
"$HACK_DIR/build-bins.sh"
jobs=$(nproc)

log "ci preset: build and unit tests"
cmake --preset ci >/dev/null
cmake --build --preset ci -j "$jobs"
ctest --preset ci -L "unit|lint|packaging" -j "$jobs"

log "asan preset: build and every test"
cmake --preset asan >/dev/null
cmake --build --preset asan -j "$jobs"
ctest --preset asan -LE "lint|packaging" -j 2 "$@"

log "all tests passed in $((SECONDS - start))s"
