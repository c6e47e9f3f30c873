#!/bin/sh
# Build the watchcache image with buildah, from a base made from Debian
# packages (deploy/image/debian-base.sh) when none is given: for machines
# with no image registry. Needs root (or a rootless buildah setup).
#
#   deploy/image/build.sh [TAG]        (default localhost/watchcache:dev)
#
# Environment: BASE, an existing base image to use instead;
# STORAGE_DRIVER and BUILDAH_ISOLATION (default vfs and chroot, which work
# inside containers and VMs without overlayfs or user namespaces);
# CA_BUNDLE, a CA bundle pip in the build trusts (default the host's, so a
# TLS-intercepting proxy the host trusts works in the build too).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tag=${1:-localhost/watchcache:dev}
export STORAGE_DRIVER="${STORAGE_DRIVER:-vfs}"
export BUILDAH_ISOLATION="${BUILDAH_ISOLATION:-chroot}"
base=${BASE:-localhost/debian-python:bookworm}
if [ -z "${BASE:-}" ] && ! buildah inspect --type image "$base" > /dev/null 2>&1; then
    "$here/debian-base.sh" "$base"
fi
ca=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
secret=""
[ -s "$ca" ] && secret="--secret id=ca-bundle,src=$ca"
# shellcheck disable=SC2086
buildah build $secret --build-arg "BASE=$base" -f "$root/deploy/Dockerfile" -t "$tag" "$root"
