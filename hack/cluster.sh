#!/usr/bin/env bash
# A real, local Kubernetes cluster for development and tests: etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler and kwok (fake nodes, so Deployments and StatefulSets
# roll out without a container runtime), all on 127.0.0.1 with free ports. kwok's pod stages
# (hack/kwok-stages.yaml) make the pods of an operator's workload wait for ko-plane
# (hack/plane.sh) to see their process serve; other pods are Ready at once.
#
#   hack/cluster.sh up     [--name N | --state-dir DIR] [--nodes K] [--node-ports A-B]
#                                  start; print the kubeconfig path. Node ports come from A-B
#                                  (default 30000-31999): two clusters whose ranges differ can
#                                  both forward them on 127.0.0.1 (ko-plane)
#   hack/cluster.sh down   [--name N | --state-dir DIR]               stop what `up` started; remove state
#   hack/cluster.sh status [--name N | --state-dir DIR]               show components and health
#   hack/cluster.sh stop   COMPONENT [--name N | --state-dir DIR]     stop one component (tests)
#   hack/cluster.sh kill   COMPONENT [--name N | --state-dir DIR]     SIGKILL it (a crash, for tests)
#   hack/cluster.sh start  COMPONENT [--name N | --state-dir DIR]     start it again with the same flags
#   hack/cluster.sh env    [--name N | --state-dir DIR]               print the cluster's variables
#   hack/cluster.sh kubectl [--name N | --state-dir DIR] -- ARG...    the pinned kubectl, as admin
#   hack/cluster.sh user   NAME [--restricted] [--name N | --state-dir DIR]
#                                  an operator's user of its own (kubeconfig/NAME, made once);
#                                  print the kubeconfig path. --restricted: not in
#                                  system:masters, so it may do only what RBAC grants it
#   hack/cluster.sh run    NAME [--name N | --state-dir DIR] -- CMD [ARG...]
#                                  (re)start CMD as an extra process of the cluster (log in
#                                  logs/NAME.log); `down` and `stop NAME` stop it
#
# COMPONENT is one of: etcd kube-apiserver kube-controller-manager kube-scheduler kwok, or
# the NAME of an extra process (stop, kill).
# kubeconfig/karmada-operator is a user of its own (system:masters) for the operator: the
# kube-apiserver's audit log (logs/audit.log, JSON lines) records its requests and nobody else's.
# `user NAME` makes another such user (group karmada-operators, logged too), so that tests
# running at once each count their own operator's requests.
# Each cluster keeps its state (PKI, kubeconfigs, logs, pids) in one directory, so several can
# run at once. Processes are stopped by the pid `up` recorded (checked against their start
# time), never by name.
set -euo pipefail
LOG_TAG=cluster
. "$(dirname "$0")/lib.sh"

COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)
START_TIMEOUT=${KO_CLUSTER_START_TIMEOUT:-180}
STOP_TIMEOUT=15

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }

# ---- state ----

load_env() {
        [ -f "$STATE/cluster.env" ] || die "no cluster at $STATE (run: hack/cluster.sh up)"
        # shellcheck source=/dev/null
        . "$STATE/cluster.env"
}

bin_of() {
        case $1 in
        etcd) cached_bin etcd "$ETCD_VERSION" ;;
        kwok) cached_bin kwok "$KWOK_VERSION" ;;
        *) cached_bin "$1" "$KUBE_VERSION" ;;
        esac
}

# start time of a pid (field 22 of /proc/pid/stat), empty when gone
proc_start() {
        local stat
        stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
        stat=${stat##*) }
        echo "$stat" | awk '{print $20}'
}

# alive NAME: the pid recorded for NAME still runs the process we started
pid_of() {
        local f="$STATE/pids/$1" pid start
        [ -f "$f" ] || return 1
        read -r pid start <"$f"
        [ -n "$pid" ] && [ "$(proc_start "$pid")" = "$start" ] || return 1
        echo "$pid"
}

# ---- ports and PKI ----

pick_ports() {
        local used chosen=" " n p
        used=" $(used_ports | tr '\n' ' ') "
        for n in ETCD_PORT ETCD_PEER_PORT API_PORT KCM_PORT SCHED_PORT KWOK_PORT; do
                while :; do
                        p=$((20000 + RANDOM % 10000)) # below the NodePort range (30000-32767)
                        case "$used$chosen" in *" $p "*) continue ;; esac
                        break
                done
                chosen+="$p "
                printf '%s=%s\n' "$n" "$p"
        done
}

issue_cert() { # name subject ext-section
        local d=$STATE/pki
        openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "$2" \
                -keyout "$d/$1.key" -out "$d/$1.csr" 2>/dev/null
        openssl x509 -req -in "$d/$1.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -set_serial "0x$(openssl rand -hex 16)" \
                -days 3650 -extfile "$d/openssl.cnf" -extensions "$3" -out "$d/$1.crt" 2>/dev/null
        rm -f "$d/$1.csr"
}

make_pki() {
        local d=$STATE/pki
        mkdir -p "$d" && chmod 700 "$d"
        cat >"$d/openssl.cnf" <<EOF
[server]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, IP:10.0.0.1, DNS:localhost, DNS:kubernetes, DNS:kubernetes.default, DNS:kubernetes.default.svc, DNS:kubernetes.default.svc.cluster.local
[client]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
EOF
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
                -subj "/CN=karmada-operator-test-ca" -keyout "$d/ca.key" -out "$d/ca.crt" \
                -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
        issue_cert apiserver "/CN=kube-apiserver" server
        issue_cert admin "/O=system:masters/CN=kubernetes-admin" client
        issue_cert kube-controller-manager "/CN=system:kube-controller-manager" client
        issue_cert kube-scheduler "/CN=system:kube-scheduler" client
        issue_cert kwok "/O=system:masters/CN=kwok" client
        issue_cert kwok-serving "/CN=kwok-node" server # the nodes' "kubelet" (logs, port-forward)
        # the operator's own user, so the audit log tells its requests from everyone else's
        issue_cert karmada-operator "/O=system:masters/O=karmada-operators/CN=karmada-operator" client
        openssl genrsa -out "$d/sa.key" 2048 2>/dev/null
        openssl rsa -in "$d/sa.key" -pubout -out "$d/sa.pub" 2>/dev/null
}

b64() { base64 -w0 <"$1"; }

# The audit policy: every request of the operators' users (group karmada-operators:
# kubeconfig/karmada-operator and those of `user NAME`), and of
# the ServiceAccount the operator runs as in-cluster (bundle/plain), at
# Metadata level (verb, resource, name, code, time), once it completed; nothing of anyone else.
# Tests count the operator's requests from logs/audit.log (JSON lines).
write_audit_policy() {
        cat >"$STATE/audit-policy.yaml" <<EOF
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived, ResponseStarted]
rules:
- level: Metadata
  userGroups: [karmada-operators]
- level: Metadata
  users: ["system:serviceaccount:karmada-operator-system:karmada-operator"]
- level: None
EOF
}

write_kubeconfig() { # file user
        local d=$STATE/pki
        cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: $CLUSTER_NAME
  cluster:
    server: https://127.0.0.1:$API_PORT
    certificate-authority-data: $(b64 "$d/ca.crt")
users:
- name: $2
  user:
    client-certificate-data: $(b64 "$d/$2.crt")
    client-key-data: $(b64 "$d/$2.key")
contexts:
- name: $CLUSTER_NAME
  context:
    cluster: $CLUSTER_NAME
    user: $2
current-context: $CLUSTER_NAME
EOF
        chmod 600 "$1"
}

# An operator's user of its own (group karmada-operators, so the audit log records it); made
# once, so tests running at once may ask for theirs.
operator_user() { # name
        [[ $1 =~ ^karmada-operator(-[a-z0-9_-]+)?$ ]] || die "user '$1': not karmada-operator[-SUFFIX]"
        local k=$STATE/kubeconfig/$1 admin=/O=system:masters
        $RESTRICTED && admin=""
        if [ ! -s "$k" ]; then
                issue_cert "$1" "$admin/O=karmada-operators/CN=$1" client
                write_kubeconfig "$k.tmp" "$1" && mv "$k.tmp" "$k"
        fi
        echo "$k"
}

# ---- components ----

args_of() {
        local p=$STATE/pki k=$STATE/kubeconfig
        case $1 in
        etcd)
                ARGS=(--name=default --data-dir="$STATE/etcd"
                        --listen-client-urls="http://127.0.0.1:$ETCD_PORT" --advertise-client-urls="http://127.0.0.1:$ETCD_PORT"
                        --listen-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT"
                        --initial-cluster="default=http://127.0.0.1:$ETCD_PEER_PORT"
                        --unsafe-no-fsync=true --log-level=warn) ;;
        kube-apiserver)
                ARGS=(--etcd-servers="http://127.0.0.1:$ETCD_PORT" --bind-address=127.0.0.1 --advertise-address=127.0.0.1
                        --secure-port="$API_PORT" --tls-cert-file="$p/apiserver.crt" --tls-private-key-file="$p/apiserver.key"
                        --client-ca-file="$p/ca.crt" --authorization-mode=Node,RBAC --allow-privileged=true
                        --service-account-issuer=https://kubernetes.default.svc.cluster.local
                        --service-account-key-file="$p/sa.pub" --service-account-signing-key-file="$p/sa.key"
                        --service-cluster-ip-range=10.0.0.0/16 --service-node-port-range="${NODE_PORTS:-30000-32767}"
                        --endpoint-reconciler-type=none --profiling=false --v=1
                        --kubelet-certificate-authority="$p/ca.crt"
                        --audit-policy-file="$STATE/audit-policy.yaml" --audit-log-path="$STATE/logs/audit.log"
                        --audit-log-format=json) ;;
        kube-controller-manager)
                # The fault tests stop an API server for up to 60 s. Nodes whose lease looks that
                # old when it comes back would be marked NotReady, and every pod with them; kwok,
                # unlike a kubelet, reports them Ready again only after its own watch backoff (up
                # to 30 s more). The grace period is longer than such an outage: a stopped API
                # server is what those tests are about, not lost nodes.
                ARGS=(--kubeconfig="$k/kube-controller-manager" --authentication-kubeconfig="$k/kube-controller-manager"
                        --authorization-kubeconfig="$k/kube-controller-manager" --bind-address=127.0.0.1 --secure-port="$KCM_PORT"
                        --leader-elect=false --use-service-account-credentials=true --root-ca-file="$p/ca.crt"
                        --service-account-private-key-file="$p/sa.key" --cluster-signing-cert-file="$p/ca.crt"
                        --cluster-signing-key-file="$p/ca.key" --node-monitor-grace-period=180s
                        --profiling=false --v=1) ;;
        kube-scheduler)
                ARGS=(--kubeconfig="$k/kube-scheduler" --authentication-kubeconfig="$k/kube-scheduler"
                        --authorization-kubeconfig="$k/kube-scheduler" --bind-address=127.0.0.1 --secure-port="$SCHED_PORT"
                        --leader-elect=false --profiling=false --v=1) ;;
        kwok)
                # node leases keep the nodes Ready (without them the node lifecycle controller
                # marks them NotReady between status heartbeats)
                # kwok is the nodes' kubelet too (their port is its port): pods/portforward
                # reaches a pod through the PortForward ko-plane makes for it
                ARGS=(--kubeconfig="$k/kwok" --manage-all-nodes=true --server-address="127.0.0.1:$KWOK_PORT"
                        --node-port="$KWOK_PORT" --tls-cert-file="$p/kwok-serving.crt"
                        --tls-private-key-file="$p/kwok-serving.key" --enable-crds=PortForward
                        --node-lease-duration-seconds=40
                        --node-ip=127.0.0.1 --cidr=10.16.0.1/16
                        --config="$HACK_DIR/kwok-stages.yaml") ;;
        *) die "unknown component '$1' (one of: ${COMPONENTS[*]})" ;;
        esac
}

healthy() {
        local p=$STATE/pki
        case $1 in
        etcd) curl -fsS --max-time 2 "http://127.0.0.1:$ETCD_PORT/health" | grep -q '"health":"true"' ;;
        kube-apiserver) curl -fsS --max-time 2 --cacert "$p/ca.crt" --cert "$p/admin.crt" --key "$p/admin.key" \
                "https://127.0.0.1:$API_PORT/readyz" | grep -qx ok ;;
        kube-controller-manager) curl -ksfS --max-time 2 "https://127.0.0.1:$KCM_PORT/healthz" | grep -qx ok ;;
        kube-scheduler) curl -ksfS --max-time 2 "https://127.0.0.1:$SCHED_PORT/healthz" | grep -qx ok ;;
        kwok) curl -fsS --max-time 2 "http://127.0.0.1:$KWOK_PORT/healthz" | grep -q ok ;;
        esac
}

show_log_tail() {
        log "last lines of $STATE/logs/$1.log:"
        tail -n 30 "$STATE/logs/$1.log" 2>/dev/null | sed 's/^/    /' >&2 || true
}

start_component() {
        local name=$1 bin pid
        if pid=$(pid_of "$name"); then
                log "$name already running (pid $pid)"
                return 0
        fi
        bin=$(bin_of "$name")
        [ -x "$bin" ] || die "$bin missing (run hack/build-bins.sh)"
        args_of "$name"
        mkdir -p "$STATE/logs" "$STATE/pids"
        # setsid: its own session, so a terminal's signals do not reach it; no fd of ours leaks
        # into it (CTest waits for its pipes to close).
        setsid "$bin" "${ARGS[@]}" >>"$STATE/logs/$name.log" 2>&1 </dev/null 9>&- &
        pid=$!
        echo "$pid $(proc_start "$pid")" >"$STATE/pids/$name"
        if ! wait_until "$START_TIMEOUT" "$name to become healthy" healthy "$name"; then
                if ! pid_of "$name" >/dev/null; then log "$name exited"; fi
                show_log_tail "$name"
                return 1
        fi
        log "$name up (pid $pid)"
}

# stop NAME...: SIGTERM (or $STOP_SIGNAL) to all of them at once, wait, SIGKILL what is left
# after STOP_TIMEOUT
stop_components() {
        local name pid i left
        declare -A pids=()
        for name in "$@"; do
                if pid=$(pid_of "$name"); then
                        pids[$name]=$pid
                        kill "-${STOP_SIGNAL:-TERM}" "$pid" 2>/dev/null || true
                else
                        rm -f "$STATE/pids/$name"
                fi
        done
        for ((i = 0; i < STOP_TIMEOUT * 5; i++)); do
                left=0
                for name in "${!pids[@]}"; do pid_of "$name" >/dev/null && left=1; done
                [ $left = 1 ] || break
                sleep 0.2
        done
        for name in "${!pids[@]}"; do
                if pid_of "$name" >/dev/null; then
                        log "$name (pid ${pids[$name]}) ignored SIGTERM for ${STOP_TIMEOUT}s; killing it"
                        kill -KILL "${pids[$name]}" 2>/dev/null || true
                        sleep 0.2
                fi
                rm -f "$STATE/pids/$name"
                log "$name stopped (pid ${pids[$name]})"
        done
}

# by $KUBECONFIG, not --kubeconfig: kubectl finds a plugin only when no flag comes before it
kubectl_() { KUBECONFIG="$STATE/kubeconfig/admin" "$(bin_of kubectl)" "$@"; }

node_ready() {
        [ "$(kubectl_ get node "$1" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}')" = True ]
}

# kwok's PortForward CRD (built with kwok by build-bins.sh), served before kwok starts
install_kwok_crds() {
        kubectl_ apply -f "$(cached_bin kwok "$KWOK_VERSION")-portforwards.yaml" >/dev/null &&
                kubectl_ wait --for=condition=established --timeout=60s \
                        crd/portforwards.kwok.x-k8s.io >/dev/null
}

create_nodes() {
        local i name
        for ((i = 0; i < NODES; i++)); do
                name=kwok-node-$i
                kubectl_ apply -f - >/dev/null <<EOF || return 1
apiVersion: v1
kind: Node
metadata:
  name: $name
  annotations:
    node.alpha.kubernetes.io/ttl: "0"
    kwok.x-k8s.io/node: fake
  labels:
    kubernetes.io/arch: amd64
    kubernetes.io/os: linux
    kubernetes.io/hostname: $name
    node-role.kubernetes.io/control-plane: ""
    type: kwok
status:
  allocatable: {cpu: "64", memory: 256Gi, pods: "250"}
  capacity: {cpu: "64", memory: 256Gi, pods: "250"}
EOF
        done
        for ((i = 0; i < NODES; i++)); do
                wait_until "$START_TIMEOUT" "node kwok-node-$i to become Ready" node_ready "kwok-node-$i" ||
                        { show_log_tail kwok; return 1; }
        done
}

cmd_up() {
        if [ -f "$STATE/cluster.env" ]; then
                load_env
                local c alive=0
                for c in "${COMPONENTS[@]}"; do pid_of "$c" >/dev/null && alive=$((alive + 1)); done
                if [ "$alive" -eq ${#COMPONENTS[@]} ] && healthy kube-apiserver; then
                        log "cluster '$CLUSTER_NAME' already up"
                        echo "$STATE/kubeconfig/admin"
                        return 0
                fi
                log "found a stale cluster at $STATE; removing it"
                cmd_down
        fi
        command -v ss >/dev/null || die "ss not found (iproute2); run hack/setup.sh"
        "$HACK_DIR/build-bins.sh"
        mkdir -p "$STATE" && chmod 700 "$STATE"
        {
                echo "CLUSTER_NAME=$NAME"
                echo "STATE=$STATE"
                pick_ports
                echo "KUBE_VERSION=$KUBE_VERSION"
                echo "NODE_PORTS=$NODE_PORTS"
        } >"$STATE/cluster.env"
        load_env
        make_pki
        mkdir -p "$STATE/kubeconfig"
        local u
        for u in admin kube-controller-manager kube-scheduler kwok karmada-operator; do write_kubeconfig "$STATE/kubeconfig/$u" "$u"; done
        write_audit_policy
        local start=$SECONDS c ok=1
        for c in "${COMPONENTS[@]}"; do
                if [ "$c" = kwok ]; then install_kwok_crds || { ok=0; break; }; fi
                start_component "$c" || { ok=0; break; }
        done
        if [ $ok = 1 ]; then create_nodes || ok=0; fi
        if [ $ok = 0 ]; then
                log "bringing the cluster up failed; stopping what was started (logs kept in $STATE/logs)"
                stop_all
                exit 1
        fi
        log "cluster '$CLUSTER_NAME' up in $((SECONDS - start))s: kube-apiserver https://127.0.0.1:$API_PORT ($KUBE_VERSION), $NODES kwok node(s)"
        echo "$STATE/kubeconfig/admin"
}

# run_extra NAME CMD...: an extra process that lives with the cluster (the operator in
# local-up.sh); a previous one of that NAME is stopped first
run_extra() {
        local name=$1 pid
        shift
        case " ${COMPONENTS[*]} " in *" $name "*) die "$name is a cluster component" ;; esac
        stop_components "$name"
        mkdir -p "$STATE/logs" "$STATE/pids"
        setsid "$@" >>"$STATE/logs/$name.log" 2>&1 </dev/null 9>&- &
        pid=$!
        echo "$pid $(proc_start "$pid")" >"$STATE/pids/$name"
        log "$name started (pid $pid, log $STATE/logs/$name.log)"
}

# extras (what `run` started) first, then clients (all at once), then the API server, then
# its storage
stop_all() {
        local f extras=()
        for f in "$STATE"/pids/*; do
                [ -e "$f" ] || continue
                case " ${COMPONENTS[*]} " in *" $(basename "$f") "*) ;; *) extras+=("$(basename "$f")") ;; esac
        done
        [ ${#extras[@]} -eq 0 ] || stop_components "${extras[@]}"
        stop_components kwok kube-scheduler kube-controller-manager
        stop_components kube-apiserver
        stop_components etcd
}

cmd_down() {
        [ -d "$STATE" ] || { log "nothing at $STATE"; return 0; }
        if [ -f "$STATE/cluster.env" ]; then
                load_env
                stop_all
        fi
        local left=()
        for f in "$STATE"/pids/*; do [ -e "$f" ] && left+=("$(basename "$f")"); done
        [ ${#left[@]} -eq 0 ] || die "still running: ${left[*]}; state kept at $STATE"
        rm -rf "$STATE"
        log "removed $STATE"
}

cmd_status() {
        load_env
        local c pid rc=0
        echo "cluster $CLUSTER_NAME ($STATE)"
        echo "kubeconfig $STATE/kubeconfig/admin"
        for c in "${COMPONENTS[@]}"; do
                if pid=$(pid_of "$c"); then
                        if healthy "$c"; then echo "$c running pid=$pid healthy"; else echo "$c running pid=$pid unhealthy"; rc=1; fi
                else
                        echo "$c stopped"; rc=1
                fi
        done
        return $rc
}

main() {
        local cmd=${1:-} component=""
        [ -n "$cmd" ] || { usage >&2; exit 2; }
        shift
        case $cmd in
        -h | --help | help) usage; exit 0 ;;
        start | stop | kill | run | user) component=${1:-}; [ -n "$component" ] || die "$cmd needs a name"; shift ;;
        esac
        NAME=local STATE="" NODES=1 RESTRICTED=false NODE_PORTS=30000-31999
        while [ $# -gt 0 ]; do
                case $1 in
                --restricted) RESTRICTED=true; shift ;;
                --name) NAME=$2; shift 2 ;;
                --state-dir) STATE=$2; shift 2 ;;
                --nodes) NODES=$2; shift 2 ;;
                --node-ports) NODE_PORTS=$2; shift 2 ;;
                --) shift; break ;;
                *) die "unknown argument '$1'" ;;
                esac
        done
        if [ -z "$STATE" ]; then STATE=$KO_CACHE/clusters/$NAME; else NAME=$(basename "$STATE"); fi
        mkdir -p "$(dirname "$STATE")"
        STATE=$(cd "$(dirname "$STATE")" && pwd)/$(basename "$STATE")
        case $cmd in
        up) cmd_up ;;
        down) cmd_down ;;
        status) cmd_status ;;
        env) load_env; cat "$STATE/cluster.env" ;;
        start) load_env; args_of "$component"; start_component "$component" ;;
        stop) load_env; stop_components "$component" ;;
        kill) load_env; STOP_SIGNAL=KILL stop_components "$component" ;;
        run) load_env; [ $# -gt 0 ] || die "run needs -- CMD"; run_extra "$component" "$@" ;;
        kubectl) load_env; kubectl_ "$@" ;;
        user) load_env; operator_user "$component" ;;
        *) usage >&2; exit 2 ;;
        esac
}
main "$@"
