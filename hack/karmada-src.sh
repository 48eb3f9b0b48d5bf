#!/usr/bin/env bash
# Print the directory of the upstream Karmada source (the Go module
# github.com/karmada-io/karmada@KARMADA_UPSTREAM_VERSION, or $1), downloading it on first use.
set -euo pipefail
LOG_TAG=karmada-src
. "$(dirname "$0")/lib.sh"
ensure_go_path
v=${1:-$KARMADA_UPSTREAM_VERSION}
dir=$(go mod download -json "github.com/karmada-io/karmada@$v" | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p')
[ -d "$dir" ] || die "cannot download github.com/karmada-io/karmada@$v"
echo "$dir"
