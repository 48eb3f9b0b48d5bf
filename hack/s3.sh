#!/usr/bin/env bash
# Run versitygw (an S3-compatible server, built by build-bins.sh) beside a cluster of
# hack/cluster.sh, on a free loopback port, storing objects under the cluster's state
# directory, with a bucket "backups" and fresh credentials; writes them to <state>/s3.env
# (S3_ENDPOINT, S3_BUCKET, S3_ACCESS_KEY, S3_SECRET_KEY). A second versitygw serves HTTPS
# (S3_TLS_ENDPOINT, its own data), with a certificate for 127.0.0.1 from a CA of its own
# (S3_CA_FILE), for the tests of caBundle. Stops with `hack/cluster.sh down` (or
# `cluster.sh stop s3`, `stop s3-tls`).
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
# the HTTPS one: a CA and a serving certificate of its own
tls=$state/s3-tls
mkdir -p "$tls/data/backups" "$tls/meta" && chmod 0700 "$tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
        -subj "/CN=karmada-operator-test-s3-ca" -keyout "$tls/ca.key" -out "$tls/ca.crt" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=127.0.0.1" \
        -keyout "$tls/tls.key" -out "$tls/tls.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$tls/ext.cnf"
openssl x509 -req -in "$tls/tls.csr" -CA "$tls/ca.crt" -CAkey "$tls/ca.key" \
        -set_serial "0x$(openssl rand -hex 16)" -days 30 -extfile "$tls/ext.cnf" -out "$tls/tls.crt" 2>/dev/null
rm -f "$tls/tls.csr" "$tls/ext.cnf" "$tls/ca.key"
tls_port=$(free_port)
ROOT_ACCESS_KEY=$access ROOT_SECRET_KEY=$secret "$HACK_DIR/cluster.sh" run s3-tls "${where[@]}" -- "$bin" \
        --port "127.0.0.1:$tls_port" --cert "$tls/tls.crt" --key "$tls/tls.key" \
        posix --sidecar "$tls/meta" "$tls/data"
umask 077
cat >"$state/s3.env" <<ENV
S3_ENDPOINT=http://127.0.0.1:$port
S3_TLS_ENDPOINT=https://127.0.0.1:$tls_port
S3_CA_FILE=$tls/ca.crt
S3_BUCKET=backups
S3_ACCESS_KEY=$access
S3_SECRET_KEY=$secret
ENV
up() {
        curl -s -o /dev/null "http://127.0.0.1:$port/" &&
                curl -s -o /dev/null --cacert "$tls/ca.crt" "https://127.0.0.1:$tls_port/"
}
wait_until 30 "versitygw on 127.0.0.1:$port and (https) :$tls_port" up
log "versitygw on http://127.0.0.1:$port and https://127.0.0.1:$tls_port (bucket backups; credentials in $state/s3.env)"
