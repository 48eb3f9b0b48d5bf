#!/usr/bin/env bash
# Build the operator's image from bundle/image/Dockerfile (the file users build with docker)
# and the bundle image from bundle/bundle.Dockerfile, with buildah (no daemon, `--isolation
# chroot`), from nothing but Debian's mirror and the Go module proxy:
#   - the FROM lines' base images are made here when missing: debian:12 and debian:12-slim by
#     mmdebstrap from Debian's packages (slim: without documentation, as Docker's), golang:1.26
#     as debian:12 plus this machine's Go (no golang image is pulled);
#   - buildah's layer cache is the cache keyed by the inputs: a step runs again only when its
#     instruction, its base or the files it copies change (the build stage copies only what
#     the binary is built from);
#   - with --push, both images go to that registry (hack/registry.sh), over plain HTTP on
#     loopback, and the bundle is the one a publisher ships: its CSV names the pushed operator
#     image by digest (as `operator-sdk`'s digest pinning does);
#   - --version V makes the images of operator version V (default: the project's): tag vV, the
#     image labelled with it (so its digest is its own), and the bundle generated for V by
#     ko-bundlegen from bundle/src/ (the bundle of an upgrade, hack/olm.sh publish).
# Prints the operator image's reference on stdout: pushed, by digest (so that a rebuilt image is
# a new reference), or local; with --push, the bundle image's reference (by digest too) on a
# second line.
#   hack/build-image.sh [--push HOST:PORT] [--version V] [--tag TAG]    (TAG: vV)
set -euo pipefail
LOG_TAG=image
. "$(dirname "$0")/lib.sh"
cd "$ROOT_DIR"

push='' tag='' version=''
while [ $# -gt 0 ]; do
        case $1 in
        --push) push=$2; shift 2 ;;
        --tag) tag=$2; shift 2 ;;
        --version) version=$2; shift 2 ;;
        *) die "unknown argument '$1'" ;;
        esac
done
version=${version:-$(project_version)}
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "--version wants X.Y.Z, not '$version'"
tag=${tag:-v$version}
IMAGE=ghcr.io/karmada-operator/karmada-operator
BUNDLE_IMAGE=ghcr.io/karmada-operator/karmada-operator-bundle
for t in buildah mmdebstrap; do command -v $t >/dev/null || die "$t missing: run hack/setup.sh"; done
ensure_go_path

have_image() { buildah images --quiet "$1" >/dev/null 2>&1; }

# debian_image NAME [mmdebstrap options]: NAME from a minbase bookworm of Debian's mirror,
# with the apt sources and settings of Docker's debian:12 (downloaded packages and apt's
# caches removed after each install, no translations)
debian_image() {
        local name=$1 tmp ctr
        shift
        have_image "$name" && return 0
        log "making $name from Debian's packages (mmdebstrap, about 80 s)"
        tmp=$(mktemp -d)
        mmdebstrap --quiet --variant=minbase "$@" \
                --aptopt='DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; }' \
                --aptopt='APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; }' \
                --aptopt='Dir::Cache::pkgcache ""' --aptopt='Dir::Cache::srcpkgcache ""' \
                --aptopt='Acquire::Languages "none"' \
                --customize-hook='rm -rf "$1"/var/lib/apt/lists/*' \
                bookworm "$tmp/rootfs.tar" \
                "deb http://deb.debian.org/debian bookworm main" \
                "deb http://deb.debian.org/debian bookworm-updates main" \
                "deb http://deb.debian.org/debian-security bookworm-security main" ||
                { rm -rf "$tmp"; die "mmdebstrap failed"; }
        ctr=$(buildah from scratch)
        buildah add --quiet "$ctr" "$tmp/rootfs.tar" / >/dev/null
        buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
                --cmd bash "$ctr"
        buildah commit --quiet --rm "$ctr" "$name" >/dev/null
        rm -rf "$tmp"
}

# golang:1.26: debian:12 with this machine's Go (which must be 1.26), its module proxy and the
# certificate authorities this machine trusts (to reach that proxy as this machine does)
golang_image() {
        local name=docker.io/library/golang:1.26 ctr goroot
        have_image "$name" && return 0
        case $(go env GOVERSION) in go1.26 | go1.26.*) ;; *) die "golang:1.26 needs Go 1.26 here, not $(go env GOVERSION)" ;; esac
        log "making $name from debian:12 and $(go env GOROOT)"
        goroot=$(go env GOROOT)
        ctr=$(buildah from --pull=false docker.io/library/debian:12)
        buildah copy --quiet "$ctr" "$goroot" /usr/local/go >/dev/null
        buildah copy --quiet "$ctr" /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ >/dev/null
        buildah config --env PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
                --env GOPATH=/go --env GOTOOLCHAIN=local --env "GOPROXY=$(go env GOPROXY)" \
                --env "GOSUMDB=$(go env GOSUMDB)" --workingdir /go "$ctr"
        buildah commit --quiet --rm "$ctr" "$name" >/dev/null
}

debian_image docker.io/library/debian:12
debian_image docker.io/library/debian:12-slim \
        --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
        --dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-exclude=/usr/share/info/*' \
        --dpkgopt='path-exclude=/usr/share/locale/*'
golang_image

# bud CONTEXT DOCKERFILE TAG [ARGS]: build, its output in a log shown only on failure
bud() {
        local logf rc=0
        logf=$(mktemp)
        buildah bud --isolation chroot --layers --pull=false -f "$2" -t "$3" "${@:4}" "$1" \
                >"$logf" 2>&1 || rc=$?
        [ $rc -eq 0 ] || { tail -n 60 "$logf" >&2; rm -f "$logf"; die "building $3 failed"; }
        rm -f "$logf"
}

# bundle_for IMAGE: a bundle directory for $version whose CSV names IMAGE (the operator's image,
# wherever the committed bundle names ghcr.io's tag: the Deployment, its env, containerImage and
# relatedImages)
bundle_for() {
        local gen out
        gen=${KO_BUNDLEGEN:-$(build_tool ko-bundlegen)}
        out=$(mktemp -d)
        "$gen" bundle/src "$out" "$version" crds/samples/*.yaml -- crds/*.yaml
        sed -i "s|$IMAGE:v[0-9.]*|$1|g" "$out/manifests/karmada-operator.clusterserviceversion.yaml"
        echo "$out"
}

start=$SECONDS
log "building $IMAGE:$tag (bundle/image/Dockerfile)"
bud . bundle/image/Dockerfile "$IMAGE:$tag" --build-arg "ETCD_VERSION=$ETCD_VERSION" \
        --label "org.opencontainers.image.version=$version"
log "built in $((SECONDS - start))s; $IMAGE:$tag is $(buildah images --format '{{.Size}}' "$IMAGE:$tag")"

if [ -z "$push" ]; then
        bdir=bundle
        [ "$version" = "$(project_version)" ] || bdir=$(bundle_for "$IMAGE:$tag")
        bud "$bdir" "$bdir/bundle.Dockerfile" "$BUNDLE_IMAGE:$tag"
        [ "$bdir" = bundle ] || rm -rf "$bdir"
        echo "$IMAGE:$tag"
        exit 0
fi
# push_image LOCAL NAME: LOCAL to $push as NAME:$tag; its reference there by digest
push_image() {
        local digest ref
        digest=$(mktemp)
        buildah push --quiet --tls-verify=false --digestfile "$digest" "$1" \
                "docker://$push/$2:$tag" >/dev/null
        ref=$push/$2@$(cat "$digest")
        rm -f "$digest"
        echo "$ref"
}
ref=$(push_image "$IMAGE:$tag" "${IMAGE##*/}")
bdir=$(bundle_for "$ref")
bud "$bdir" "$bdir/bundle.Dockerfile" "$BUNDLE_IMAGE:$tag-pinned"
rm -rf "$bdir"
bref=$(push_image "$BUNDLE_IMAGE:$tag-pinned" "${BUNDLE_IMAGE##*/}")
log "pushed to $push: $ref, $bref (its CSV names $ref)"
echo "$ref"
echo "$bref"
