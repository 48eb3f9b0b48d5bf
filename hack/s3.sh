#!/usr/bin/env bash
# Run versitygw (an S3-compatible server, built by build-bins.sh) beside a cluster of
# hack/cluster.sh, on a free loopback port, storing objects under the cluster's state
# directory, with a bucket "backups" and fresh credentials; writes them to <state>/s3.env
# (S3_ENDPOINT, S3_BUCKET, S3_ACCESS_KEY, S3_SECRET_KEY). Stops with `hack/cluster.sh down`
# (or `cluster.sh stop s3`).
#   hack/s3.sh [--name N | --state-dir DIR]
set -euo pipefail
LOG_TAG=s3
. "$(dirname "$0")/lib.sh"

beside_cluster "$@"
where=("${WHERE[@]}") state=$STATE
bin=$(cached_bin versitygw "$VERSITYGW_VERSION")
[ -x "$bin" ] || die "$bin missing: run hack/build-bins.sh"
port=$(free_port)
access=$(openssl rand -hex 10) secret=$(openssl rand -hex 20)
mkdir -p "$state/s3/data/backups" "$state/s3/meta"
chmod 0700 "$state/s3"
# the secret goes to the server through its environment, not its command line
ROOT_ACCESS_KEY=$access ROOT_SECRET_KEY=$secret "$HACK_DIR/cluster.sh" run s3 "${where[@]}" -- "$bin" \
        --port "127.0.0.1:$port" posix --sidecar "$state/s3/meta" "$state/s3/data"
umask 077
cat >"$state/s3.env" <<ENV
S3_ENDPOINT=http://127.0.0.1:$port
S3_BUCKET=backups
S3_ACCESS_KEY=$access
S3_SECRET_KEY=$secret
ENV
up() { curl -s -o /dev/null "http://127.0.0.1:$port/"; }
wait_until 30 "versitygw on 127.0.0.1:$port" up
log "versitygw on http://127.0.0.1:$port (bucket backups; credentials in $state/s3.env)"
