#!/usr/bin/env bash
# Soak: 64 connections of mixed traffic (tiles at every level, info.json, thumbnails, regions,
# full-size downloads that queue behind the tiles, shed only after queue_timeout) for 60 s against the real binary on
# 127.0.0.1. Pass: no 5xx other than deliberate 503s, no crash, RSS flat after warm-up.
#   bench/soak.sh [SIPI_BIN] [SECONDS] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
SIPI=${1:-build/sipi}
DURATION=${2:-60}
CONNS=${3:-64}
command -v wrk >/dev/null || { echo "soak: needs wrk (apt-get install wrk)"; exit 2; }
work=$(mktemp -d /tmp/sipi-soak.XXXXXX)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

mkdir -p "$work/images"
vips xyz "$work/xy.v" 6000 4000
vips gaussnoise "$work/n.v" 6000 4000 --seed 11
vips bandjoin "$work/xy.v $work/n.v" "$work/j.v"
vips cast "$work/j.v" "$work/rgb.v" uchar
vips tiffsave "$work/rgb.v" "$work/images/pyr.tif" --tile --tile-width 256 --tile-height 256 --pyramid --compression jpeg --Q 85
vips tiffsave "$work/rgb.v" "$work/images/deflate.tif" --tile --tile-width 256 --tile-height 256 --pyramid --compression deflate
"$SIPI" convert "$work/images/deflate.tif" "$work/images/photo.jp2" >/dev/null
vips jpegsave "$work/rgb.v" "$work/images/photo.jpg" --Q 85
rm -f "$work"/*.v

port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$work/sipi.config.lua" <<CFG
sipi = { port = $port, bind_address = '127.0.0.1', imgroot = '$work/images', prefix_as_path = false,
         cache_dir = '$work/cache', cache_size = '50M', cache_nfiles = 500, loglevel = 'ERROR',
         max_decode_memory = '512M' }  -- admission: shipped defaults (queue, shed after queue_timeout)
CFG
/usr/bin/python3 - "$work/list.txt" <<'PY'
import random, sys
random.seed(5)
W, H = 6000, 4000
lines = []
for name in ("pyr.tif", "deflate.tif", "photo.jp2"):
    for s in (1, 2, 4, 8, 16):
        for y in range(0, H, 256 * s):
            for x in range(0, W, 256 * s):
                w, h = min(256 * s, W - x), min(256 * s, H - y)
                lines.append(f"/iiif/{name}/{x},{y},{w},{h}/{-(-w // s)},/0/default.jpg")
    lines += [f"/iiif/{name}/info.json"] * 40
    lines += [f"/iiif/{name}/full/!200,200/0/default.jpg"] * 20
    for _ in range(100):
        x, y = random.randrange(0, W - 600), random.randrange(0, H - 600)
        lines.append(f"/iiif/{name}/{x},{y},{random.randrange(64, 600)},{random.randrange(64, 600)}/max/{random.choice([0, 90])}/default.jpg")
for name in ("photo.jpg", "pyr.tif", "photo.jp2"):
    lines += [f"/iiif/{name}/full/max/0/default.jpg", f"/iiif/{name}/full/2000,/0/default.png"] * 5
lines += ["/iiif/missing.tif/info.json", "/iiif/../etc/passwd/info.json"] * 5
random.shuffle(lines)
open(sys.argv[1], "w").write("\n".join(lines) + "\n")
PY
"$SIPI" server --config "$work/sipi.config.lua" 2>"$work/sipi.log" &
pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
rss() { awk '/VmRSS/ {print $2}' "/proc/$pid/status"; }

echo "soak: $(wc -l < "$work/list.txt") distinct URLs, $CONNS connections, ${DURATION}s, sipi pid $pid"
warm=$((DURATION / 6))
wrk -t2 -c"$CONNS" -d"${warm}s" --timeout 30s -s bench/soak/mixed.lua "http://127.0.0.1:$port" -- "$work/list.txt" >/dev/null
sleep 3  # let the warm-up's queued work finish
rss_start=$(rss)
samples="$rss_start"
( while kill -0 "$pid" 2>/dev/null; do sleep 5; echo "$(rss)" >> "$work/rss.txt"; done ) &
sampler=$!
out=$(wrk -t2 -c"$CONNS" -d"${DURATION}s" --timeout 30s -s bench/soak/mixed.lua "http://127.0.0.1:$port" -- "$work/list.txt" | grep '^SOAK')
kill "$sampler" 2>/dev/null || true
alive=yes; kill -0 "$pid" 2>/dev/null || alive=no
rss_end=$(rss 2>/dev/null || echo 0)
rss_max=$(sort -n "$work/rss.txt" 2>/dev/null | tail -1)
echo "$out"
statuses=$(echo "$out" | sed 's/.*statuses=//')
bad=$(echo "$statuses" | tr ',' '\n' | awk -F: '$1 >= 500 && $1 != 503 {n += $2} END {print n + 0}')
echo "soak: RSS after warm-up ${rss_start} kB, at end ${rss_end} kB, peak sampled ${rss_max:-?} kB; server alive: $alive; 5xx other than 503: $bad"
echo "soak: error lines in the log: $(grep -c '"level":"ERROR"' "$work/sipi.log" || true)"
curl -s "http://127.0.0.1:$port/metrics" | grep -E "^sipi_admission_shed_total|^sipi_decode_memory_rejected" | grep -v " 0$" || true
[ "$alive" = yes ] && [ "$bad" -eq 0 ] || { echo "soak: FAIL"; tail -5 "$work/sipi.log"; exit 1; }
# Flat: the end within 25 % (and 64 MB) of the post-warm-up level.
awk -v a="$rss_start" -v b="$rss_end" 'BEGIN { if (b > a * 1.25 && b - a > 65536) { print "soak: FAIL (RSS grew)"; exit 1 } }'
echo "soak: PASS"
