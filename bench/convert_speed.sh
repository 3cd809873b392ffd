#!/usr/bin/env bash
# Conversion speed, side by side on the same machine: a 10000×8000 RGB TIFF (photographic-like:
# smooth structure plus grain) → lossless JPEG 2000 and back, with sipi, `vips copy` and
# OpenJPEG's own opj_compress / opj_decompress. Prints wall time and peak RSS per step.
# sipi writes Deflate TIFF (lossless, about half the size); `vips copy` is shown both
# uncompressed (its default, like opj_decompress) and with Deflate, to compare like with like.
# Usage: bench/convert_speed.sh [build/sipi]
set -euo pipefail
SIPI=$(readlink -f "${1:-build/sipi}")
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cd "$W"
vips perlin p.v 10000 8000 --cell-size 256
vips gaussnoise n.v 10000 8000 --sigma 0.08 --mean 0
vips add p.v n.v s.v
vips linear s.v r.v 110 128 --uchar
vips linear s.v g0.v 90 128 --uchar
vips invert g0.v g.v
vips linear s.v b.v 60 100 --uchar
vips bandjoin "r.v g.v b.v" rgb.v
vips copy rgb.v src.tif --interpretation srgb
rm -f *.v
THREADS=$(nproc)
run() {  # label, command…
  local label=$1; shift
  /usr/bin/time -f "%e %M" -o t.txt "$@" >/dev/null 2>&1
  read -r secs kb < t.txt
  printf '%-44s %8.1f s %8d MB\n' "$label" "$secs" $((kb / 1024))
}
echo "source: 10000x8000 RGB 8-bit TIFF, $(($(stat -c %s src.tif) / 1024 / 1024)) MiB; $(nproc) cores"
run "sipi convert      tif → jp2 (lossless)" "$SIPI" convert src.tif sipi.jp2
run "vips copy         tif → jp2 (lossless)" vips copy src.tif "vips.jp2[lossless]"
run "opj_compress      tif → jp2 (lossless)" opj_compress -i src.tif -o opj.jp2 -threads "$THREADS"
run "sipi convert      jp2 → tif (deflate)" "$SIPI" convert sipi.jp2 sipi_back.tif
run "vips copy         jp2 → tif (none)" vips copy sipi.jp2 vips_back.tif
run "vips copy         jp2 → tif (deflate)" vips copy sipi.jp2 "vips_back_z.tif[compression=deflate]"
run "opj_decompress    jp2 → tif (none)" opj_decompress -i sipi.jp2 -o opj_back.tif -threads "$THREADS"
printf 'sizes: sipi.jp2 %d MiB, vips.jp2 %d MiB, opj.jp2 %d MiB\n' $(($(stat -c %s sipi.jp2) / 1048576)) \
  $(($(stat -c %s vips.jp2) / 1048576)) $(($(stat -c %s opj.jp2) / 1048576))
"$SIPI" compare src.tif sipi_back.tif
