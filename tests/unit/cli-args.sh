#!/usr/bin/env bash
# The binary's own argument checks: what is wrong is said and the exit status says so;
# `render` resolves releases through the catalog entries it is given, prints one JSON List and
# refuses a bad -o or a --kubeconfig without --diff; `status` refuses bad arguments and exits 2
# when it cannot read a cluster; `releases` lists the
# built-in ones; `etcd-restore` on a member that has data does nothing and asks for nothing else,
# and refuses --sealed without a key of 32 bytes; `run` refuses a --watch-namespace that is not
# a list of namespace names, and a --key-pool-size out of 0..1024.
#   tests/unit/cli-args.sh BINARY
set -euo pipefail
bin=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# expect STATUS TEXT CMD...: CMD exits STATUS and its stderr contains TEXT (any, when empty)
expect() {
        local want=$1 text=$2 rc=0
        shift 2
        "$@" >"$dir/out" 2>"$dir/err" || rc=$?
        if [ "$rc" -ne "$want" ] || { [ -n "$text" ] && ! grep -qF -- "$text" "$dir/err"; }; then
                echo "FAIL: $* -> exit $rc (want $want), stderr:" >&2
                cat "$dir/err" >&2
                exit 1
        fi
}

expect 2 "--data-dir" "$bin" etcd-restore
expect 2 "--data-dir" "$bin" etcd-restore --data-dir "$dir/empty" --name m
expect 2 "--bump-revision=soon" "$bin" etcd-restore --bump-revision soon
expect 2 "no-such-flag" "$bin" etcd-restore --no-such-flag
# a sealed snapshot without its key, or with one that is not the base64 of 32 bytes
sealed=(etcd-restore --data-dir "$dir/empty" --name m --initial-cluster m=https://m:2380
        --initial-advertise-peer-urls https://m:2380 --endpoint http://127.0.0.1:1 --bucket b
        --key k --sha256 00 --sealed aad)
expect 2 "BACKUP_ENCRYPTION_KEY" env AWS_ACCESS_KEY_ID=a AWS_SECRET_ACCESS_KEY=s "$bin" "${sealed[@]}"
expect 2 "BACKUP_ENCRYPTION_KEY" env AWS_ACCESS_KEY_ID=a AWS_SECRET_ACCESS_KEY=s \
        BACKUP_ENCRYPTION_KEY=c2hvcnQ= "$bin" "${sealed[@]}"
expect 2 "--operator-image=" "$bin" run --operator-image ""
# --key-pool-size: 0 to 1024 keys
for bad in -1 1025 abc ""; do
        expect 2 "--key-pool-size=$bad: not a number in range" "$bin" run --key-pool-size "$bad"
done
expect 2 "--operator-image=a b" "$bin" run --operator-image "a b"
# --watch-namespace: namespace names, separated by commas, each once
for bad in "a,,b" "a,b,a" "Upper" "x-" ",a"; do
        expect 2 "--watch-namespace=$bad" "$bin" run --watch-namespace "$bad"
done
expect 1 "cannot load" "$bin" run --watch-namespace "team-a,team-b" --kubeconfig "$dir/none"
# or from $WATCH_NAMESPACE (OLM's olm.targetNamespaces), the flag winning; empty: all
expect 2 "WATCH_NAMESPACE=a,,b" env WATCH_NAMESPACE=a,,b "$bin" run
expect 1 "cannot load" env WATCH_NAMESPACE=a,,b "$bin" run --watch-namespace a --kubeconfig "$dir/none"
expect 1 "cannot load" env WATCH_NAMESPACE= "$bin" run --kubeconfig "$dir/none"
# render against the release catalog: an entry (-f's own or --release FILE) gives its images;
# a bad entry or a release nobody has is said, naming the field
cat >"$dir/cr.yaml" <<'EOF'
apiVersion: operator.karmada.io/v1alpha1
kind: Karmada
metadata: {name: r, namespace: ns}
spec: {karmadaVersion: v1.18.2-corp.1, components: {etcd: {local: {}}}}
EOF
cat >"$dir/release.yaml" <<'EOF'
apiVersion: operator.karmada.io/v1alpha1
kind: KarmadaRelease
metadata: {name: v1.18.2-corp.1}
spec: {version: v1.18.2, images: {karmadaScheduler: "mirror.corp:5000/karmada-scheduler:v1.18.2"}}
EOF
expect 0 "" "$bin" render -f "$dir/cr.yaml" --release "$dir/release.yaml" --key-algorithm ecdsa
grep -qF "image: mirror.corp:5000/karmada-scheduler:v1.18.2" "$dir/out" ||
        { echo "FAIL: render --release: the entry's image is not rendered" >&2; exit 1; }
cat "$dir/cr.yaml" <(echo ---) "$dir/release.yaml" >"$dir/both.yaml"
expect 0 "" "$bin" render -f "$dir/both.yaml" --key-algorithm ecdsa
grep -qF "image: mirror.corp:5000/karmada-scheduler:v1.18.2" "$dir/out" ||
        { echo "FAIL: render -f with an entry: its image is not rendered" >&2; exit 1; }
sed 's/version: v1.18.2,/version: v1.20.0,/' "$dir/release.yaml" >"$dir/bad.yaml"
expect 1 "KarmadaRelease v1.18.2-corp.1: spec.version: v1.20 is not a minor release" \
        "$bin" render -f "$dir/cr.yaml" --release "$dir/bad.yaml"
expect 1 "no KarmadaRelease is named v1.18.2-corp.1" "$bin" render -f "$dir/cr.yaml"
# render's output and --diff: a format it does not know, a kubeconfig without --diff, and a
# --diff whose cluster cannot be reached (exit 2, as kubectl diff's errors)
expect 2 "-o takes yaml or json, not 'xml'" "$bin" render -f "$dir/both.yaml" -o xml
expect 2 "--kubeconfig and --context are for --diff" "$bin" render -f "$dir/both.yaml" \
        --kubeconfig "$dir/none"
expect 2 "" "$bin" render -f "$dir/both.yaml" --diff --kubeconfig "$dir/none"
expect 0 "" "$bin" render -f "$dir/both.yaml" -o json --key-algorithm ecdsa
jq -e '.kind == "List" and (.items | length) > 10' "$dir/out" >/dev/null ||
        { echo "FAIL: render -o json is not one List" >&2; exit 1; }
# status: what it takes, and an error (2) when it cannot read the cluster
expect 2 "-o takes text or json" "$bin" status -o yaml
expect 2 "takes one NAME at most" "$bin" status a b
expect 2 "takes one NAME at most" "$bin" status -A -n x
expect 2 "$dir/none" "$bin" status --kubeconfig "$dir/none"
expect 2 "unexpected argument 'x'" "$bin" releases x
expect 0 "" "$bin" releases
grep -qF "v1.19.0 (built in; any v1.19.Z runs so" "$dir/out" ||
        { echo "FAIL: releases does not list v1.19" >&2; exit 1; }
mkdir -p "$dir/data/member"
expect 0 "nothing to restore" env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY \
        "$bin" etcd-restore --data-dir "$dir/data"
[ -z "$(ls -A "$dir/data/member")" ] || { echo "FAIL: the member directory was touched" >&2; exit 1; }
echo "ok"
