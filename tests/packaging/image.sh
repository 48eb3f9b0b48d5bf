#!/usr/bin/env bash
# The operator's image, built as users build it (bundle/image/Dockerfile, by
# hack/build-image.sh): it runs as uid 65532 with its entrypoint, and its binaries start with
# only what the image holds (the shared libraries of its runtime packages, no host file):
# `karmada-operator --version` and `etcdutl version`, run in the image's root filesystem as its
# user. Also checks the bundle image's labels and files.  tests/packaging/image.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
image=$("$root/hack/build-image.sh")
bundle=${image/karmada-operator:/karmada-operator-bundle:}
fail() { echo "FAIL: $*" >&2; exit 1; }

# cfg IMAGE JQ: from the image's OCI configuration
cfg() { buildah inspect --type image "$1" | jq -c ".OCIv1.config$2"; }
[ "$(cfg "$image" .User)" = '"65532:65532"' ] || fail "user is $(cfg "$image" .User)"
[ "$(cfg "$image" .Entrypoint)" = '["/usr/local/bin/karmada-operator"]' ] ||
        fail "entrypoint is $(cfg "$image" .Entrypoint)"
[ "$(cfg "$image" .Cmd)" = '["run"]' ] || fail "cmd is $(cfg "$image" .Cmd)"

ctr=$(buildah from --pull=false "$image")
trap 'buildah umount "$ctr" >/dev/null 2>&1; buildah rm "$ctr" >/dev/null 2>&1' EXIT
mnt=$(buildah mount "$ctr")
# as the image's user, in its root: a missing library or a host path would fail here
run() { unshare --mount --pid --fork chroot --userspec=65532:65532 "$mnt" "$@"; }
v=$(run /usr/local/bin/karmada-operator --version) || fail "karmada-operator does not start in the image"
echo "in the image: $v"
e=$(run /usr/local/bin/etcdutl version) || fail "etcdutl does not start in the image"
echo "in the image: $(head -n1 <<<"$e")"
grep -q "etcdutl version: ${ETCD_VERSION:-$(sed -n 's/^ETCD_VERSION=v//p' "$root/hack/versions.env")}" <<<"$e" ||
        fail "etcdutl is not the pinned release: $e"
[ ! -e "$mnt/usr/bin/gcc" ] || fail "the runtime image holds a compiler"

[ "$(cfg "$bundle" '.Labels["operators.operatorframework.io.bundle.package.v1"]')" = '"karmada-operator"' ] ||
        fail "the bundle image lacks its package label"
bctr=$(buildah from --pull=false "$bundle")
bmnt=$(buildah mount "$bctr")
ok=true
diff -r "$root/bundle/manifests" "$bmnt/manifests" >/dev/null && diff -r "$root/bundle/metadata" "$bmnt/metadata" >/dev/null || ok=false
buildah umount "$bctr" >/dev/null
buildah rm "$bctr" >/dev/null
$ok || fail "the bundle image's manifests/metadata differ from bundle/"
echo "image $image: $(buildah images --format '{{.Size}}' "$image"); bundle image $bundle"
