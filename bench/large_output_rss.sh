#!/usr/bin/env bash
# Peak memory of C concurrent large outputs: a fresh sipi (shipped defaults, no derivative
# cache), C GETs of full/SIZE/0/default.FMT started at once over C different links of the
# JPEG-tiled 10000×8000 TIFF, then the wall time, the statuses and the summed peak RSS (VmHWM)
# of the server and its decode helpers. SPOOL_ABOVE overrides the spool threshold (bytes of raw
# output; a huge value = the old in-memory path) to compare the two (results/2026-12-06-spool.md).
#   bench/large_output_rss.sh SIPI_BIN FMT SIZE C [SPOOL_ABOVE]
# Needs bench/.images/v1 with its links (bench/iiif_load.sh --generate-only --no-huge).
set -euo pipefail
BIN=$1 FMT=$2 SIZE=$3 C=$4
[ -n "${5:-}" ] && export SIPI_SPOOL_ABOVE=$5
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORK=$(mktemp -d)
PORT=$(/usr/bin/python3 "$HERE/iiif_load/helper.py" port)
cat > "$WORK/c.lua" << CFG
sipi = { port = $PORT, bind_address = '127.0.0.1', imgroot = '$HERE/.images/v1', prefix_as_path = false,
  jpeg_quality = 80, loglevel = 'WARNING', cache_size = '0' }
CFG
"$BIN" server --config "$WORK/c.lua" > "$WORK/sipi.log" 2>&1 &
PID=$!
trap 'kill $PID 2> /dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/health" && break; sleep 0.1; done
t0=$(date +%s.%N)
pids=()
for i in $(seq -f %03g 1 "$C"); do
  curl -s -o /dev/null -w "%{http_code}\n" \
    "http://127.0.0.1:$PORT/iiif/photo-tifjpeg-l$i.tif/full/$SIZE/0/default.$FMT" > "$WORK/status.$i" &
  pids+=($!)
done
wait "${pids[@]}"
t1=$(date +%s.%N)
hwm=0
for p in $PID $(pgrep -P $PID); do hwm=$((hwm + $(awk '/VmHWM/ { print $2 }' "/proc/$p/status"))); done
spooled=$(curl -s "http://127.0.0.1:$PORT/metrics" | awk '/^sipi_images_spooled_total/ { print $2 }')
printf '%s x full/%s/0/default.%s: wall %.2f s, statuses %s, summed peak RSS %d MB, spooled %s\n' \
  "$C" "$SIZE" "$FMT" "$(echo "$t1 - $t0" | bc)" "$(sort "$WORK"/status.* | uniq -c | awk '{ printf "%s×%s ", $1, $2 }')" \
  $((hwm / 1024)) "$spooled"
