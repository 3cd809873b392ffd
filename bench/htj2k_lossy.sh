#!/usr/bin/env bash
# What lossy HTJ2K gives for each quality: `sipi convert --htj2k -q Q` of the benchmark master
# (10000×8000 photograph, bench/iiif_load.sh's generator), file size and PSNR against the master
# (decoded by OpenJPEG's opj_decompress, not by sipi), next to lossless HTJ2K and classic lossless.
#
#   bench/htj2k_lossy.sh [--sipi build/sipi] [--images bench/.images] [--qualities "30 50 70 80 90 95"]
#
# Writes bench/results/<UTC date>-<commit>-htj2k-lossy.md.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
SIPI_BIN=$REPO/build/sipi
IMAGES=$REPO/bench/.images
QUALITIES="30 50 70 80 90 95"
while (($#)); do
  case $1 in
    --sipi) SIPI_BIN=$2; shift 2 ;;
    --images) IMAGES=$2; shift 2 ;;
    --qualities) QUALITIES=$2; shift 2 ;;
    -h | --help) sed -n '2,/^set -e/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "htj2k_lossy: unknown option $1" >&2; exit 2 ;;
  esac
done
MASTER=$IMAGES/v1/photo-tifdeflate.tif  # the master's pixels, losslessly (the master itself is not kept)
[[ -f $MASTER ]] || { echo "htj2k_lossy: no master at $MASTER (bench/iiif_load.sh --generate-only --no-huge makes it)" >&2; exit 1; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/sipi-htj2k-lossy.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
vips copy "$MASTER" "$WORK/master.ppm"
psnr() {  # FILE.jp2 → PSNR in dB against the master (inf when identical)
  opj_decompress -i "$1" -o "$WORK/d.ppm" > /dev/null
  /usr/bin/python3 - "$WORK/master.ppm" "$WORK/d.ppm" << 'PYEOF'
import sys, math
import numpy as np
from PIL import Image
Image.MAX_IMAGE_PIXELS = None
a = np.asarray(Image.open(sys.argv[1]), dtype=np.int32)
b = np.asarray(Image.open(sys.argv[2]), dtype=np.int32)
mse = float(((a - b) ** 2).mean())
print("∞ (exact)" if mse == 0 else "%.1f" % (10 * math.log10(255 * 255 / mse)))
PYEOF
}
rows=()
"$SIPI_BIN" convert "$MASTER" "$WORK/lossless.jp2" --htj2k > /dev/null
base=$(stat -c %s "$WORK/lossless.jp2")
rows+=("| lossless (default) | $(( base / 1048576 )) MiB | 1.00 | $(psnr "$WORK/lossless.jp2") |")
for q in $QUALITIES; do
  "$SIPI_BIN" convert "$MASTER" "$WORK/q$q.jp2" --htj2k -q "$q" > /dev/null
  s=$(stat -c %s "$WORK/q$q.jp2")
  rows+=("| \`-q $q\` | $(( s / 1048576 )) MiB | $(awk -v a="$s" -v b="$base" 'BEGIN { printf "%.2f", a / b }') | $(psnr "$WORK/q$q.jp2") |")
  rm -f "$WORK/q$q.jp2"
done
commit=$(git -C "$REPO" rev-parse --short HEAD 2> /dev/null || echo unknown)
out=$REPO/bench/results/$(date -u +%Y-%m-%d)-$commit-htj2k-lossy.md
{
  echo "# Lossy HTJ2K: size and PSNR per quality, $(date -u +%Y-%m-%d) ($commit)"
  echo
  echo "Master: the benchmark's 10000×8000 RGB photograph (photo-tifdeflate.tif, lossless, $(( 10000 * 8000 * 3 / 1048576 )) MiB of pixels)."
  echo "\`sipi convert MASTER OUT.jp2 --htj2k [-q Q]\`, 256² codestream tiles; PSNR of the whole image against the"
  echo "master, decoded with opj_decompress. Size ratio against lossless HTJ2K."
  echo
  echo "| setting | size | size / lossless | PSNR dB |"
  echo "|---|--:|--:|--:|"
  printf '%s\n' "${rows[@]}"
} > "$out"
cat "$out"
