#!/usr/bin/env bash
# Installs everything sipi needs to build, run and test on Debian 12, then the front-end
# assets. Idempotent: packages already present are not reinstalled, and apt-get runs only
# when something is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  libvips-dev libvips-tools libboost1.81-dev liblua5.4-dev nlohmann-json3-dev libcli11-dev
  libtiff-dev libopenjp2-7-dev libopenjph-dev libjpeg-dev libgtest-dev libexiv2-dev liblcms2-dev
  protobuf-compiler libprotobuf-dev libssl-dev libcurl4-openssl-dev libsqlite3-dev libmagic-dev libseccomp-dev libcairo2-dev
  python3 python3-pytest python3-pil python3-numpy
  curl
)
command -v npm >/dev/null 2>&1 || PACKAGES+=(npm)
# --test: what only the test suite needs (a real browser for the viewer test, ICC profiles).
if [ "${1:-}" = "--test" ]; then
  PACKAGES+=(chromium icc-profiles-free libgs-common libimage-exiftool-perl libopenjp2-tools grokj2k-tools openjph-tools clang libclang-rt-14-dev debootstrap python3-pytest-xdist haproxy varnish)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  # Keep the packages' own services (haproxy, varnish on :6081) from being started: the
  # cluster test runs its own, on free loopback ports.
  policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    policy=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null && $SUDO chmod 755 "$policy"
  fi
  rc=0
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" || rc=$?
  [ -z "$policy" ] || $SUDO rm -f "$policy"
  [ "$rc" -eq 0 ] || exit "$rc"
fi

# OpenSeadragon for the demo page, from the npm registry, pinned by package-lock.json.
if [ ! -f server/vendor/openseadragon/openseadragon.min.js ] || [ package-lock.json -nt server/vendor/openseadragon/openseadragon.min.js ]; then
  npm ci --no-audit --no-fund --loglevel=error
  rm -rf server/vendor/openseadragon
  mkdir -p server/vendor
  cp -r node_modules/openseadragon/build/openseadragon server/vendor/openseadragon
  touch server/vendor/openseadragon/openseadragon.min.js
fi
