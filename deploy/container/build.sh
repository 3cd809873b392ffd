#!/usr/bin/env bash
# Builds the sipi container image from the repository's Dockerfile with podman (or buildah),
# also on a machine without any container registry:
#
#   deploy/container/build.sh [--tag sipi:local] [--base IMAGE] [--jobs N]
#
# The base image is --base, else localhost/debian:bookworm-slim if present, else
# docker.io/library/debian:bookworm-slim if it can be pulled, else one made here with
# debootstrap (minbase, from the host's Debian mirror) and imported as
# localhost/debian:bookworm-slim. Where the engine cannot run containers with its defaults
# (cgroups in hybrid mode, no permission to raise rlimits: ../shared notes), it falls back to
# runc with cgroupfs and lowered ulimits. Docker image format, so that HEALTHCHECK is kept (OCI has
# no field for it). Prints the image's size at the end.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
TAG=sipi:local BASE="" JOBS=$(nproc)
while (($#)); do
  case $1 in
    --tag) TAG=$2; shift 2 ;;
    --base) BASE=$2; shift 2 ;;
    --jobs) JOBS=$2; shift 2 ;;
    -h | --help) sed -n '2,/^set -e/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
. "$HERE/engine.sh"
log() { printf '[build %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

if [[ -z $BASE ]]; then
  if "$ENGINE" image exists localhost/debian:bookworm-slim 2> /dev/null; then
    BASE=localhost/debian:bookworm-slim
  elif timeout 60 "$ENGINE" pull -q docker.io/library/debian:bookworm-slim > /dev/null 2>&1; then
    BASE=docker.io/library/debian:bookworm-slim
  else
    command -v debootstrap > /dev/null || { echo "build.sh: no registry and no debootstrap (apt-get install debootstrap)" >&2; exit 1; }
    mirror=$(awk '/^URIs:/ { print $2; exit } /^deb / { print $2; exit }' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2> /dev/null || true)
    root=$(mktemp -d /tmp/sipi-rootfs.XXXXXX)
    log "no registry: making a Debian 12 base with debootstrap from ${mirror:-http://deb.debian.org/debian}"
    debootstrap --variant=minbase bookworm "$root" "${mirror:-http://deb.debian.org/debian}" > /tmp/sipi-debootstrap.log 2>&1 ||
      { echo "build.sh: debootstrap failed, see /tmp/sipi-debootstrap.log" >&2; rm -rf "$root"; exit 1; }
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
    tar -C "$root" -c . | "$ENGINE" import - localhost/debian:bookworm-slim > /dev/null
    rm -rf "$root"
    BASE=localhost/debian:bookworm-slim
  fi
fi
engine_probe "$BASE"
# The host's extra CA certificates (a TLS-intercepting proxy) for the npm stage, during the build.
CA_COPIED=()
for crt in /usr/local/share/ca-certificates/*.crt; do
  [[ -f $crt ]] || continue
  cp "$crt" "$HERE/ca/host-$(basename "$crt")"
  CA_COPIED+=("$HERE/ca/host-$(basename "$crt")")
done
trap 'rm -f "${CA_COPIED[@]}"' EXIT
log "building $TAG from $BASE with $ENGINE ${ENGINE_FLAGS[*]} ${RUN_FLAGS[*]}"
t0=$(date +%s)
if [[ $ENGINE == podman ]]; then
  podman "${ENGINE_FLAGS[@]}" build --format docker "${RUN_FLAGS[@]}" --network host --build-arg "DEBIAN_IMAGE=$BASE" \
    --build-arg "JOBS=$JOBS" -t "$TAG" -f "$REPO/Dockerfile" "$REPO"
else
  buildah bud --format docker --isolation chroot "${RUN_FLAGS[@]}" --network host --build-arg "DEBIAN_IMAGE=$BASE" \
    --build-arg "JOBS=$JOBS" -t "$TAG" -f "$REPO/Dockerfile" "$REPO"
fi
size=$("$ENGINE" image inspect "$TAG" --format '{{.Size}}')
log "built $TAG in $(($(date +%s) - t0)) s; image size $((size / 1048576)) MiB"
