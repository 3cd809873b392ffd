#!/usr/bin/env bash
# Builds the Debian package from an existing build directory (./dev build first):
#   scripts/package.sh [build-dir]      -> <build-dir>/package/sipi_<version>_amd64.deb
# What goes into it: deploy/debian/package.cmake. Prints the path of the .deb.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD="${1:-${BUILD_DIR:-build}}"
[ -f "$BUILD/CPackConfig.cmake" ] || { echo "package: $BUILD is not a configured build directory (run ./dev build)" >&2; exit 2; }
cmake --build "$BUILD" -j "${JOBS:-2}" --target sipi >/dev/null
rm -f "$BUILD"/package/sipi_*.deb
(cd "$BUILD" && cpack -G DEB -B package >package.log 2>&1) || { cat "$BUILD/package.log" >&2; exit 1; }
ls "$(cd "$BUILD" && pwd)"/package/sipi_*.deb
