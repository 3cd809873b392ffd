#!/usr/bin/env bash
# How much of a large pyramidal TIFF does one tile request read? Builds a 20000×20000 tiled
# pyramidal TIFF (JPEG tiles, 256²), starts sipi, and for a few requests reports the bytes sipi
# read (/proc/PID/io rchar, which includes the small HTTP request) and its peak RSS.
# Usage: bench/decode_locality.sh [build/sipi]
set -euo pipefail
SIPI=${1:-build/sipi}
WORK=$(mktemp -d)
trap 'kill $PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
mkdir -p "$WORK/img"
# Smooth structure plus grain, so that JPEG tiles are photo-sized rather than tiny.
vips perlin "$WORK/p.v" 20000 20000 --cell-size 512
vips gaussnoise "$WORK/n.v" 20000 20000 --sigma 0.15 --mean 0
vips add "$WORK/p.v" "$WORK/n.v" "$WORK/s.v"
vips linear "$WORK/s.v" "$WORK/l.v" 120 128 --uchar
vips bandjoin "$WORK/l.v $WORK/l.v $WORK/l.v" "$WORK/j.v"
vips copy "$WORK/j.v" "$WORK/c.v" --interpretation srgb
vips tiffsave "$WORK/c.v" "$WORK/img/big.tif" --tile --tile-width 256 --tile-height 256 --pyramid \
  --compression jpeg --Q 85
rm -f "$WORK"/*.v
PORT=$((20000 + RANDOM % 20000))
printf 'sipi = { port = %d, bind_address = "127.0.0.1", imgroot = "%s", loglevel = "WARNING" }\n' "$PORT" "$WORK/img" > "$WORK/c.lua"
"$SIPI" server --config "$WORK/c.lua" & PID=$!
sleep 1
size=$(stat -c %s "$WORK/img/big.tif")
echo "source: 20000x20000 pyramidal TIFF, $((size / 1024 / 1024)) MiB"
printf '%-52s %12s %10s %10s\n' request bytes_read ms peak_rss
for url in \
  "big.tif/info.json" \
  "big.tif/10240,10240,256,256/256,256/0/default.jpg" \
  "big.tif/4096,4096,1024,1024/256,256/0/default.jpg" \
  "big.tif/0,0,20000,20000/!200,200/0/default.jpg" \
  "big.tif/full/2000,/0/default.jpg"; do
  before=$(awk '/^rchar/ {print $2}' /proc/$PID/io)
  ms=$(curl -s -o /dev/null -w '%{time_total}' "http://127.0.0.1:$PORT/$url" | awk '{printf "%.1f", $1*1000}')
  after=$(awk '/^rchar/ {print $2}' /proc/$PID/io)
  rss=$(awk '/VmHWM/ {print $2" "$3}' /proc/$PID/status)
  printf '%-52s %12d %10s %10s\n' "$url" $((after - before)) "$ms" "$rss"
done
