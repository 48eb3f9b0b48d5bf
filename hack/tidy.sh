#!/usr/bin/env bash
# clang-tidy (the lint test's check; .clang-tidy) over the project's C files of a build's
# compilation database, a file per core, and remembered: a file that was clean with the same
# preprocessed text (its headers included), compile command, .clang-tidy and clang-tidy is
# not checked again, wherever the clone is. The record is a file named by the SHA-256 of those, in
# $KO_CACHE/tidy/ (~/.cache/karmada-operator/tidy); delete it to check everything again.
#   hack/tidy.sh BUILD_DIR     exit 1 when any file has a finding (printed)
set -euo pipefail
LOG_TAG=tidy
. "$(dirname "$0")/lib.sh"

build=$(cd "${1:?usage: hack/tidy.sh BUILD_DIR}" && pwd)
export TIDY_CACHE=$KO_CACHE/tidy TIDY_BUILD=$build TIDY_ROOT=$ROOT_DIR
mkdir -p "$TIDY_CACHE"
TIDY_SALT=$( (clang-tidy --version; cat "$ROOT_DIR/.clang-tidy") | sha256sum | cut -c1-64)
export TIDY_SALT

# one file: its digest, then clang-tidy unless that digest was clean before
check() {
        local dir=$1 file=$2 cmd=$3 pp sum out
        # the same command, preprocessing only, to stdout
        pp=$(sed -e 's/ -o [^ ]*//' -e 's/ -c / -E /' <<<"$cmd")
        # where the clone is does not count (CI clones anew): its path is masked
        sum=$( (echo "$TIDY_SALT $cmd"; cd "$dir" && eval "$pp -o -" 2>/dev/null) |
                sed "s#$TIDY_ROOT#@ROOT@#g" | sha256sum | cut -c1-64)
        [ -e "$TIDY_CACHE/$sum" ] && return 0
        if out=$(clang-tidy --quiet -p "$TIDY_BUILD" --extra-arg=-Wno-unknown-warning-option "$file" 2>&1); then
                touch "$TIDY_CACHE/$sum"
                return 0
        fi
        printf '%s\n%s\n' "== $file" "$out"
        return 1
}
export -f check

start=$SECONDS
rc=0
while IFS=$'\t' read -r dir file cmd; do
        printf '%s\0%s\0%s\0' "$dir" "$file" "$cmd"
done < <(jq -r --arg root "$ROOT_DIR" \
        'unique_by(.file)[] | select(.file | startswith($root + "/") and test("/(operator|reconcilers|hack/tools|tests)/.*\\.c$"))
         | [.directory, .file, .command] | @tsv' "$build/compile_commands.json") |
        xargs -0 -n 3 -P "$(nproc)" bash -c 'check "$@"' _ || rc=1
log "checked in $((SECONDS - start))s ($(find "$TIDY_CACHE" -type f | wc -l) clean records)"
exit $rc
