#!/usr/bin/env bash
# Build kube-apiserver, kube-controller-manager, Kubernetes' e2e test binary
# (e2e.test) and the hollow node (kubemark) from Debian's `kubernetes` source
# package and cache them outside the checkout, keyed by version.
#
# Usage: scripts/build-control-plane.sh            # build if missing, print bin dir
#        WATCHCACHE_CACHE_DIR=/some/dir scripts/build-control-plane.sh
#
# Idempotent: a second run with the binaries present does nothing but print
# the directory. Needs root (apt-get) on a machine without the packages.
set -euo pipefail

KUBE_VERSION="${WATCHCACHE_KUBE_VERSION:-1.20.2}"
CACHE_DIR="${WATCHCACHE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/watchcache}"
BIN_DIR="$CACHE_DIR/kube-v$KUBE_VERSION/bin"
# Program name -> make target in the source tree.
declare -A TARGET=(
    [kube-apiserver]=cmd/kube-apiserver
    [kube-controller-manager]=cmd/kube-controller-manager
    [e2e.test]=test/e2e/e2e.test
    [kubemark]=cmd/kubemark
)
WANT=(kube-apiserver kube-controller-manager e2e.test kubemark)

log() { printf '[build-control-plane] %s\n' "$*" >&2; }

missing_binaries() {
    local b
    for b in "${WANT[@]}"; do [[ -x "$BIN_DIR/$b" ]] || printf '%s\n' "$b"; done
}

apt_install() {
    # Install only what is missing; apt-get update once, first.
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    ((${#missing[@]})) || return 0
    log "apt-get install ${missing[*]}"
    apt_update_once
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
}

APT_UPDATED=0
apt_update_once() {
    ((APT_UPDATED)) && return 0
    apt-get update -q >&2
    APT_UPDATED=1
}

# A deb-src entry derived from the machine's own sources, naming no host.
ensure_deb_src() {
    local src=/etc/apt/sources.list.d/watchcache-deb-src.sources
    [[ -e $src ]] && return 0
    if grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ || grep -qs '^deb-src ' /etc/apt/sources.list; then
        return 0
    fi
    local f
    for f in /etc/apt/sources.list.d/*.sources; do
        [[ -e $f ]] || continue
        grep -q '^Types: *deb *$' "$f" || continue
        # Only Debian's own archives carry the kubernetes source package.
        grep -q 'debian-archive-keyring' "$f" || continue
        sed 's/^Types: *deb *$/Types: deb-src/' "$f" >>"$src"
        printf '\n' >>"$src"
    done
    if [[ ! -s $src && -e /etc/apt/sources.list ]]; then
        rm -f "$src"
        src=/etc/apt/sources.list.d/watchcache-deb-src.list
        sed -n 's/^deb \(.*\)$/deb-src \1/p' /etc/apt/sources.list >"$src"
    fi
    [[ -s $src ]] || { log "no Debian deb sources found to derive a deb-src entry from"; exit 1; }
    log "added $src"
    APT_UPDATED=0
}

build() {
    local todo=("$@")
    apt_install golang-go rsync jq dpkg-dev golang-github-modern-go-reflect2-dev
    ensure_deb_src
    apt_update_once
    BUILD_WORK="$(mktemp -d "${TMPDIR:-/tmp}/watchcache-kube-build.XXXXXX")"
    trap 'rm -rf "$BUILD_WORK"' EXIT
    local work="$BUILD_WORK"
    log "fetching the kubernetes source package into $work"
    (cd "$work" && apt-get source -q --download-only "kubernetes=$(apt_source_version)" >&2 \
        && dpkg-source --no-check -x ./*.dsc src >&2)
    local src="$work/src"
    log "source tree ready in $src"

    # The vendored reflect2 v1.0.1 crashes under Go >= 1.18 (SIGSEGV in
    # mapiterinit on the first JSON list); Debian's 1.0.2 does not.
    local r2=/usr/share/gocode/src/github.com/modern-go/reflect2
    [[ -d $r2 ]] || { log "missing $r2"; exit 1; }
    rsync -a --delete --exclude '*_test.go' "$r2/" "$src/vendor/github.com/modern-go/reflect2/"

    export GOFLAGS=-mod=vendor GO111MODULE=on GOPATH="$work/gopath"
    export KUBE_GIT_VERSION="v$KUBE_VERSION" KUBE_GIT_TREE_STATE=clean KUBE_GIT_MAJOR=1
    export KUBE_GIT_MINOR="$(cut -d. -f2 <<<"$KUBE_VERSION")"
    log "make generated_files (slow, a few minutes)"
    make -C "$src" generated_files >"$work/generated.log" 2>&1 || { tail -50 "$work/generated.log" >&2; exit 1; }
    local b
    mkdir -p "$BIN_DIR"
    for b in "${todo[@]}"; do
        log "make WHAT=${TARGET[$b]}"
        make -C "$src" WHAT="${TARGET[$b]}" >"$work/$b.log" 2>&1 || { tail -50 "$work/$b.log" >&2; exit 1; }
        # Each is cached as soon as it is built; copy then rename, so a
        # half-written binary is never taken as cached.
        install -m 0755 "$src/_output/bin/$b" "$BIN_DIR/.$b.tmp"
        mv "$BIN_DIR/.$b.tmp" "$BIN_DIR/$b"
        log "built $BIN_DIR/$b"
    done
}

apt_source_version() {
    # The Debian version whose upstream part is KUBE_VERSION (e.g. 1.20.5+really1.20.2-1.1).
    apt-cache showsrc kubernetes 2>/dev/null | sed -n 's/^Version: //p' \
        | grep -E "(^|really)${KUBE_VERSION//./\\.}-" | head -1
}

runtime_packages() {
    apt_install etcd-server openssl
}

# Debian's kubectl 1.20 (kubernetes-client) ships /usr/bin/kubectl, which
# would clash with the machine's newer kubectl; unpack it beside the cached
# binaries instead so both versions are available to the tests.
kubectl_120() {
    [[ -x "$BIN_DIR/kubectl" ]] && return 0
    apt_update_once
    local work
    work="$(mktemp -d "${TMPDIR:-/tmp}/watchcache-kubectl.XXXXXX")"
    (cd "$work" && apt-get download -q kubernetes-client >&2 && dpkg-deb -x ./kubernetes-client_*.deb root)
    mkdir -p "$BIN_DIR"
    install -m 0755 "$work/root/usr/bin/kubectl" "$BIN_DIR/kubectl"
    rm -rf "$work"
    log "unpacked Debian's kubectl into $BIN_DIR/kubectl"
}

main() {
    runtime_packages
    local missing
    mapfile -t missing < <(missing_binaries)
    if ((${#missing[@]})); then
        build "${missing[@]}"
    fi
    kubectl_120
    printf '%s\n' "$BIN_DIR"
}

main "$@"
