#!/usr/bin/env bash
# The binary's own argument checks: what is wrong is said and the exit status says so, and
# `etcd-restore` on a member that has data does nothing and asks for nothing else.
#   tests/unit/cli-args.sh BINARY
set -euo pipefail
bin=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# expect STATUS TEXT CMD...: CMD exits STATUS and its stderr contains TEXT
expect() {
        local want=$1 text=$2 rc=0
        shift 2
        "$@" >"$dir/out" 2>"$dir/err" || rc=$?
        if [ "$rc" -ne "$want" ] || ! grep -qF -- "$text" "$dir/err"; then
                echo "FAIL: $* -> exit $rc (want $want), stderr:" >&2
                cat "$dir/err" >&2
                exit 1
        fi
}

expect 2 "--data-dir" "$bin" etcd-restore
expect 2 "--data-dir" "$bin" etcd-restore --data-dir "$dir/empty" --name m
expect 2 "--bump-revision=soon" "$bin" etcd-restore --bump-revision soon
expect 2 "" "$bin" etcd-restore --no-such-flag
expect 2 "--operator-image=" "$bin" run --operator-image ""
expect 2 "--operator-image=a b" "$bin" run --operator-image "a b"
mkdir -p "$dir/data/member"
expect 0 "nothing to restore" env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY \
        "$bin" etcd-restore --data-dir "$dir/data"
[ -z "$(ls -A "$dir/data/member")" ] || { echo "FAIL: the member directory was touched" >&2; exit 1; }
echo "ok"
