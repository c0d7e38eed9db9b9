#!/usr/bin/env bash
# Bootstrap a Debian bookworm base image with Python 3.11 on a host with no registry access:
# mmdebstrap builds a rootfs from the apt mirrors, `docker import` turns the tarball into an image.
#
#   scripts/bootstrap_base_image.sh [IMAGE_TAG]          (default: sciswarm-base:bookworm)
#   MIRROR=http://deb.debian.org/debian VARIANT=essential scripts/bootstrap_base_image.sh
#
# Idempotent: does nothing when IMAGE_TAG already exists (FORCE=1 rebuilds). Needs root (or a working
# unshare mode for mmdebstrap) and a running Docker engine.
set -euo pipefail

TAG="${1:-sciswarm-base:bookworm}"
SUITE="${SUITE:-bookworm}"
# "essential" = Essential:yes packages (dash, coreutils, ...) with maintainer scripts run, plus --include.
# ("extract" is faster but does not configure packages; a half-configured python is not worth it.)
VARIANT="${VARIANT:-essential}"
# libstdc++6/libgomp1: manylinux wheels (numpy, torch, matplotlib) expect them from the system.
# Keep VARIANT/INCLUDE in sync with sciswarm/sandboxes/image.py (the recipe label must match to be reused).
INCLUDE="${INCLUDE:-python3,python3-venv,python3-pip,ca-certificates,libstdc++6,libgomp1}"
MIRROR="${MIRROR:-}"

RECIPE="mmdebstrap --variant=$VARIANT $SUITE --include=$INCLUDE"
if [ "${FORCE:-0}" != "1" ] && docker image inspect "$TAG" >/dev/null 2>&1; then
    have="$(docker image inspect --format '{{ index .Config.Labels "sciswarm.base.recipe" }}' "$TAG" 2>/dev/null || true)"
    if [ "$have" = "$RECIPE" ]; then
        echo "base image $TAG already present, same recipe (FORCE=1 to rebuild)"
        exit 0
    fi
    echo "base image $TAG was built from another recipe ('$have'); rebuilding"
fi
command -v mmdebstrap >/dev/null || { echo "mmdebstrap missing: apt-get install -y mmdebstrap" >&2; exit 1; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/sciswarm-rootfs.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
TARBALL="$WORK/rootfs.tar"

start=$(date +%s)
echo "[1/3] mmdebstrap --variant=$VARIANT $SUITE (+ $INCLUDE)"
# shellcheck disable=SC2086  # MIRROR is deliberately word-split (empty = host apt sources)
mmdebstrap --quiet --variant="$VARIANT" --include="$INCLUDE" \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-exclude=/usr/share/locale/*' \
    --customize-hook='rm -rf "$1"/var/cache/apt/archives/*.deb "$1"/var/lib/apt/lists/*' \
    "$SUITE" "$TARBALL" $MIRROR

echo "[2/3] docker import -> $TAG"
docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["/usr/bin/python3"]' \
    --change "LABEL sciswarm.base.recipe=\"$RECIPE\"" \
    --message "sciswarm base: mmdebstrap --variant=$VARIANT $SUITE +$INCLUDE" \
    "$TARBALL" "$TAG" >/dev/null

echo "[3/3] smoke test"
docker run --rm --network none --label sciswarm=1 "$TAG" python3 -c 'import sys, venv; print("python", sys.version.split()[0])'
echo "base image $TAG ready in $(( $(date +%s) - start ))s"
