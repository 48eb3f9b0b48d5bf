#!/usr/bin/env bash
# Build, once, the pinned binaries of the local test cluster and cache them outside the repo:
#   $KO_BIN_CACHE/<name>-<version>  (kube-apiserver, kube-controller-manager, kube-scheduler,
#   kubectl, etcd, etcdutl, kwok, and Karmada's karmada-webhook, karmada-aggregated-apiserver,
#   karmada-metrics-adapter, karmada-controller-manager, karmada-scheduler and
#   karmada-scheduler-estimator; operator-verify and opm, the OLM
#   validators; versitygw, an S3 server for backup tests; registry, an OCI registry for the
#   images; promtool, which tests the alerting rules; on request only, upstream's
#   karmada-operator, which hack/bench-scale.sh compares with). A binary already in the cache is
#   never rebuilt.
# Usage: hack/build-bins.sh [GROUP...]   GROUP: etcd kwok kube karmada olm versitygw registry
#   prometheus upstream-operator (default: all but upstream-operator)
set -euo pipefail
LOG_TAG=build
. "$(dirname "$0")/lib.sh"

KUBE_BINS=(kube-apiserver kube-controller-manager kube-scheduler kubectl)

have() { [ -x "$(cached_bin "$1" "$2")" ]; }

# quiet CMD...: run CMD with its chatter in a log; show the log (without download lines) on failure
quiet() {
        local logf rc=0
        logf=$(mktemp)
        "$@" >"$logf" 2>&1 || rc=$?
        if [ $rc -ne 0 ]; then grep -v '^go: \(downloading\|added\|upgraded\|finding\) ' "$logf" >&2 || true; fi
        rm -f "$logf"
        return $rc
}

# A throw-away module that requires k8s.io/kubernetes and pins each staging module
# (k8s.io/api, k8s.io/apiserver, ...) to the matching v0.X.Y release; the replace lines of a
# dependency's go.mod do not apply to us.
build_kube() {
        local missing=() b
        for b in "${KUBE_BINS[@]}"; do have "$b" "$KUBE_VERSION" || missing+=("$b"); done
        [ ${#missing[@]} -gt 0 ] || return 0
        local v=$KUBE_VERSION staging="v0.${KUBE_VERSION#v1.}" dir="$KO_CACHE/src/kubernetes-$KUBE_VERSION"
        local major=1 minor
        minor=$(echo "$v" | cut -d. -f2)
        log "building ${missing[*]} $v (cold: many minutes on 2 cores)"
        rm -rf "$dir" && mkdir -p "$dir"
        local upstream_mod
        upstream_mod=$(curl -fsSL "$(go env GOPROXY | cut -d, -f1)/k8s.io/kubernetes/@v/$v.mod") ||
                die "cannot fetch k8s.io/kubernetes@$v go.mod from the module proxy"
        {
                echo "module ko.local/kube-build"
                echo "$upstream_mod" | grep -E '^go [0-9]'
                echo "$upstream_mod" | grep -E '^godebug ' || true
                echo "require k8s.io/kubernetes $v"
                echo "$upstream_mod" | awk -v s="$staging" '/=> \.\/staging\/src\// { print "replace " $1 " => " $1 " " s }'
        } >"$dir/go.mod"
        [ "$(grep -c '^replace' "$dir/go.mod")" -gt 20 ] || die "found no staging modules in k8s.io/kubernetes@$v go.mod"
        local pkgs=() ldflags
        for b in "${missing[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$b"); done
        ldflags="-s -w"
        local p
        for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
                ldflags+=" -X $p.gitVersion=$v -X $p.gitMajor=$major -X $p.gitMinor=$minor"
                ldflags+=" -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
        done
        (
                cd "$dir"
                quiet go get "${pkgs[@]/%/@$v}" k8s.io/kubernetes@"$v"
                mkdir -p out
                CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o out/ "${pkgs[@]}"
        ) || die "building kubernetes $v failed (see output above)"
        for b in "${missing[@]}"; do install -m 0755 "$dir/out/$b" "$(cached_bin "$b" "$v")"; done
        rm -rf "$dir"
}

# etcd's server module has replace lines too: same trick, then build its main package.
build_etcd() {
        local missing=() b
        for b in etcd etcdutl; do have "$b" "$ETCD_VERSION" || missing+=("$b"); done
        [ ${#missing[@]} -gt 0 ] || return 0
        local v=$ETCD_VERSION dir="$KO_CACHE/src/etcd-$ETCD_VERSION"
        log "building ${missing[*]} $v"
        rm -rf "$dir" && mkdir -p "$dir/out"
        printf 'module ko.local/etcd-build\n\ngo 1.24\n' >"$dir/go.mod"
        (
                cd "$dir"
                quiet go get go.etcd.io/etcd/server/v3@"$v" go.etcd.io/etcd/etcdutl/v3@"$v"
                local vpkg=go.etcd.io/etcd/api/v3/version
                CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X $vpkg.GitSHA=$v" -o out/etcd go.etcd.io/etcd/server/v3
                CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X $vpkg.GitSHA=$v" -o out/etcdutl go.etcd.io/etcd/etcdutl/v3
        ) || die "building etcd $v failed (see output above)"
        for b in "${missing[@]}"; do install -m 0755 "$dir/out/$b" "$(cached_bin "$b" "$v")"; done
        rm -rf "$dir"
}

# kwok, and its PortForward CRD (the test clusters' pods/portforward, hack/cluster.sh) from the
# same module
build_kwok() {
        local crd dir="$KO_CACHE/src/kwok-$KWOK_VERSION"
        crd=$(cached_bin kwok "$KWOK_VERSION")-portforwards.yaml
        if ! have kwok "$KWOK_VERSION"; then
                log "building kwok $KWOK_VERSION"
                rm -rf "$dir" && mkdir -p "$dir"
                CGO_ENABLED=0 GOBIN="$dir" quiet go install -trimpath -ldflags "-s -w" sigs.k8s.io/kwok/cmd/kwok@"$KWOK_VERSION" ||
                        die "building kwok $KWOK_VERSION failed (see output above)"
                install -m 0755 "$dir/kwok" "$(cached_bin kwok "$KWOK_VERSION")"
                rm -rf "$dir"
        fi
        [ -s "$crd" ] && return 0
        dir=$(go mod download -json sigs.k8s.io/kwok@"$KWOK_VERSION" | jq -r .Dir) ||
                die "no module sigs.k8s.io/kwok@$KWOK_VERSION"
        install -m 0644 "$dir/kustomize/crd/bases/kwok.x-k8s.io_portforwards.yaml" "$crd"
}

# Karmada's components (github.com/karmada-io/karmada has no replace lines, but `go install
# mod@version` asks the proxy for a version list it refuses for this module; a wrapper module
# builds them). Installed as <image name>-<version>, which is what hack/tools/plane.c runs for
# an image docker.io/karmada/<image name>:<version>.
KARMADA_BINS=(webhook:karmada-webhook aggregated-apiserver:karmada-aggregated-apiserver
        metrics-adapter:karmada-metrics-adapter controller-manager:karmada-controller-manager
        scheduler:karmada-scheduler scheduler-estimator:karmada-scheduler-estimator)

build_karmada() {
        local v=$KARMADA_UPSTREAM_VERSION missing=() pkgs=() e
        for e in "${KARMADA_BINS[@]}"; do have "${e#*:}" "$v" || missing+=("$e"); done
        [ ${#missing[@]} -gt 0 ] || return 0
        local dir="$KO_CACHE/src/karmada-$v" gov
        log "building ${missing[*]#*:} $v (cold: several minutes on 2 cores)"
        rm -rf "$dir" && mkdir -p "$dir/out"
        gov=$(go mod download -json "github.com/karmada-io/karmada@$v" | sed -n 's/^\s*"GoMod": "\(.*\)",$/\1/p')
        printf 'module ko.local/karmada-build\n\n%s\n' "$(grep -E '^go [0-9]' "$gov")" >"$dir/go.mod"
        for e in "${missing[@]}"; do pkgs+=("github.com/karmada-io/karmada/cmd/${e%%:*}"); done
        (
                cd "$dir"
                quiet go get "${pkgs[@]/%/@$v}"
                # the tag: Karmada's scheduler-side code and Kubernetes 1.35 types together
                for e in "${missing[@]}"; do
                        CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" \
                                -tags kubernetes_protomessage_one_more_release \
                                -o "out/${e#*:}" "github.com/karmada-io/karmada/cmd/${e%%:*}"
                done
        ) || die "building karmada $v failed (see output above)"
        for e in "${missing[@]}"; do install -m 0755 "$dir/out/${e#*:}" "$(cached_bin "${e#*:}" "$v")"; done
        rm -rf "$dir"
}

# Upstream's operator (hack/bench-scale.sh only; not built by default), from the same module as
# Karmada's components, with the version its defaults (images, CRD tarball URL) follow
build_upstream-operator() {
        local v=$KARMADA_UPSTREAM_VERSION dir
        have karmada-operator-upstream "$v" && return 0
        dir="$KO_CACHE/src/karmada-operator-$v"
        log "building upstream's karmada-operator $v"
        rm -rf "$dir" && mkdir -p "$dir"
        printf 'module ko.local/karmada-operator-build\n\n%s\n' \
                "$(grep -E '^go [0-9]' "$(go mod download -json "github.com/karmada-io/karmada@$v" | jq -r .GoMod)")" >"$dir/go.mod"
        (
                cd "$dir"
                quiet go get "github.com/karmada-io/karmada/operator/cmd/operator@$v"
                CGO_ENABLED=0 go build -trimpath -tags kubernetes_protomessage_one_more_release \
                        -ldflags "-s -w -X github.com/karmada-io/karmada/pkg/version.gitVersion=$v" \
                        -o operator github.com/karmada-io/karmada/operator/cmd/operator
        ) || die "building upstream's karmada-operator $v failed (see output above)"
        install -m 0755 "$dir/operator" "$(cached_bin karmada-operator-upstream "$v")"
        rm -rf "$dir"
}

# operator-framework's validators (tests of bundle/) and OLM v0's olm and catalog operators
# (hack/olm.sh): each module from a wrapper module, because `go install mod@version` refuses
# modules with replace lines; opm without cgo needs the containers_image_openpgp tag. The two
# OLM commands are built by one `go build` (their packages compiled once).
build_olm() {
        local v
        for v in "operator-verify:$OLM_API_VERSION:github.com/operator-framework/api:cmd/operator-verify" \
                "opm:$OPM_VERSION:github.com/operator-framework/operator-registry:cmd/opm" \
                "olm catalog:$OLM_VERSION:github.com/operator-framework/operator-lifecycle-manager:cmd/olm cmd/catalog"; do
                local names=${v%%:*} rest=${v#*:} ver mod cmds missing=() pkgs=() dir n c
                ver=${rest%%:*} rest=${rest#*:}
                mod=${rest%%:*} cmds=${rest#*:}
                for n in $names; do have "$n" "$ver" || missing+=("$n"); done
                [ ${#missing[@]} -gt 0 ] || continue
                for c in $cmds; do pkgs+=("$mod/$c"); done
                dir="$KO_CACHE/src/${names// /-}-$ver"
                log "building $names $ver (cold: a few minutes)"
                rm -rf "$dir" && mkdir -p "$dir/out"
                printf 'module ko.local/%s-build\n\ngo 1.26.3\n' "${names// /-}" >"$dir/go.mod"
                (
                        cd "$dir"
                        quiet go get "${pkgs[@]/%/@$ver}" "$mod@$ver"
                        CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -tags containers_image_openpgp \
                                -o out/ "${pkgs[@]}"
                ) || die "building $names $ver failed (see output above)"
                for n in $names; do install -m 0755 "$dir/out/$n" "$(cached_bin "$n" "$ver")"; done
                rm -rf "$dir"
        done
}

# go_install NAME VERSION PACKAGE [TAGS]: a module without replace lines, by `go install
# pkg@version`
go_install() {
        have "$1" "$2" && return 0
        local dir="$KO_CACHE/src/$1-$2"
        log "building $1 $2"
        rm -rf "$dir" && mkdir -p "$dir"
        CGO_ENABLED=0 GOBIN="$dir" quiet go install -trimpath -ldflags "-s -w" -tags "${4:-}" "$3@$2" ||
                die "building $1 $2 failed (see output above)"
        install -m 0755 "$dir/${3##*/}" "$(cached_bin "$1" "$2")"
        rm -rf "$dir"
}

build_versitygw() { go_install versitygw "$VERSITYGW_VERSION" github.com/versity/versitygw/cmd/versitygw; }

# An OCI registry (distribution's, no replace lines) that hack/registry.sh runs beside a
# cluster: images built by hack/build-image.sh are pushed there, and pods run from there.
build_registry() { go_install registry "$REGISTRY_VERSION" github.com/distribution/distribution/v3/cmd/registry; }

# promtool (tests/monitoring): without the service discovery plugins, which it does not need
# here (remove_all_sd: Prometheus's own build tag)
build_prometheus() {
        go_install promtool "$PROMETHEUS_VERSION" github.com/prometheus/prometheus/cmd/promtool remove_all_sd
}

main() {
        ensure_go_path
        mkdir -p "$KO_BIN_CACHE"
        exec 9>"$KO_CACHE/build.lock"
        flock 9
        local start=$SECONDS g groups=("$@")
        [ ${#groups[@]} -gt 0 ] || groups=(etcd kwok kube karmada olm versitygw registry prometheus)
        for g in "${groups[@]}"; do
                case $g in
                etcd | kwok | kube | karmada | olm | versitygw | registry | prometheus | upstream-operator) "build_$g" ;;
                *) die "unknown group '$g' (etcd kwok kube karmada olm versitygw registry prometheus upstream-operator)" ;;
                esac
        done
        log "binaries ready in $KO_BIN_CACHE ($((SECONDS - start))s)"
}
main "$@"
