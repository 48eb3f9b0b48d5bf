#!/usr/bin/env bash
# Install what building and testing karmada-operator needs on Debian 12. Idempotent: installs
# only what is missing, so a second run changes nothing and takes about a second.
#   - Debian packages: compiler, CMake, the C libraries, clang tools, curl/openssl/iproute2,
#     socat and unshare (util-linux) for the loopback Karmada planes of tests and OLM's network
#     namespace (hack/olm.sh); buildah and
#     mmdebstrap (the container images, hack/build-image.sh), skopeo and umoci (ko-plane
#     unpacks images to run them), systemd (systemd-analyze verifies the unit)
#   - Go >= GO_MIN_VERSION (hack/versions.env) for building the test cluster's binaries: the
#     machine's Go when new enough; otherwise Debian's golang-go, and, because Debian 12 ships Go
#     1.19, the Go toolchain module (golang.org/toolchain, what GOTOOLCHAIN downloads) from the Go
#     module proxy into the cache. Prints the Go it will use.
set -euo pipefail
LOG_TAG=setup
. "$(dirname "$0")/lib.sh"

PACKAGES=(
        build-essential cmake pkg-config git ca-certificates curl openssl iproute2 unzip
        socat util-linux jq
        libcurl4-openssl-dev libcjson-dev libssl-dev libsystemd-dev libcmocka-dev
        libyaml-dev libarchive-dev libmicrohttpd-dev libxml2-dev libwebsockets-dev zlib1g-dev
        clang clang-format clang-tidy libclang-rt-14-dev
        buildah mmdebstrap skopeo umoci systemd
        lua5.1 lua-cjson
)

as_root() {
        if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing_packages() {
        local p
        for p in "$@"; do
                dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"
        done
}

apt_install() {
        local missing
        mapfile -t missing < <(missing_packages "$@")
        [ ${#missing[@]} -gt 0 ] || return 0
        log "installing Debian packages: ${missing[*]}"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

install_go() {
        local g v proxy dir zip
        if g=$(find_go); then
                log "Go $(go_version_ok "$g") at $g"
                return 0
        fi
        if ! command -v go >/dev/null 2>&1; then
                apt_install golang-go
        fi
        v=$(go_version_ok "$(command -v go)" || true)
        log "Debian's Go ($v) is older than $GO_MIN_VERSION; fetching $GO_BOOTSTRAP_VERSION from the Go module proxy"
        proxy=$(go env GOPROXY 2>/dev/null | tr ',|' '\n\n' | grep -m1 '^http' || echo https://proxy.golang.org)
        dir=$KO_CACHE/go/$GO_BOOTSTRAP_VERSION
        zip=$(mktemp --suffix=.zip)
        curl -fsSL "$proxy/golang.org/toolchain/@v/v0.0.1-$GO_BOOTSTRAP_VERSION.linux-$(dpkg --print-architecture).zip" -o "$zip" ||
                die "cannot download the Go toolchain from $proxy"
        rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
        unzip -q "$zip" -d "$dir.tmp"
        rm -f "$zip"
        # the module zip holds golang.org/toolchain@<v>/...; executables lose their mode in zips
        mv "$dir.tmp"/golang.org/toolchain@*/ "$dir.new"
        rm -rf "$dir.tmp"
        chmod +x "$dir.new"/bin/* "$dir.new"/pkg/tool/*/*
        rm -rf "$dir" && mv "$dir.new" "$dir"
        log "Go $("$dir/bin/go" env GOVERSION) at $dir/bin/go"
}

main() {
        [ -r /etc/debian_version ] || log "warning: not Debian; install the equivalents of: ${PACKAGES[*]}"
        apt_install "${PACKAGES[@]}"
        install_go
}
main "$@"
