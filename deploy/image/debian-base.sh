#!/bin/sh
# A Python base image made from Debian packages alone, for machines with no
# image registry to pull python:3.11-slim from (the build machines of this
# repository). Needs root, debootstrap and buildah.
#
#   deploy/image/debian-base.sh [IMAGE]   (default localhost/debian-python:bookworm)
#
# Then build with: buildah build --build-arg BASE=IMAGE -f deploy/Dockerfile .
set -eu
image=${1:-localhost/debian-python:bookworm}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
rootfs=$(mktemp -d /tmp/watchcache-rootfs.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT
# minbase: essential packages and apt only. python3-venv brings ensurepip,
# which the build stage uses to make the virtual environment.
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
    bookworm "$rootfs" "$mirror"
chroot "$rootfs" apt-get clean
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin
container=$(buildah from scratch)
mount=$(buildah mount "$container")
cp -a "$rootfs"/. "$mount"/
buildah umount "$container"
buildah config --env LANG=C.UTF-8 --cmd /bin/sh "$container"
buildah commit --rm "$container" "$image"
echo "built $image"
