#!/usr/bin/env bash
# systemd-analyze verify on bundle/systemd/karmada-operator.service, with ExecStart pointed at
# the binary under test (verify checks it exists). verify exits 0 on unknown keys and bad
# values: any line it prints fails the test.  tests/packaging/systemd-verify.sh BINARY UNIT
set -euo pipefail
bin=$1 unit=$2
command -v systemd-analyze >/dev/null || { echo "systemd-analyze not found: run hack/setup.sh" >&2; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
sed "s|/usr/local/bin/karmada-operator|$bin|g" "$unit" >"$dir/karmada-operator.service"
grep -q "^ExecStart=$bin " "$dir/karmada-operator.service" || { echo "no ExecStart= of the binary" >&2; exit 1; }
out=$(systemd-analyze verify "$dir/karmada-operator.service" 2>&1) || { echo "$out" >&2; exit 1; }
if [ -n "$out" ]; then
        echo "$out" >&2
        exit 1
fi
echo "systemd-analyze verify: no complaint about $(basename "$unit")"
