#!/usr/bin/env bash
# One IIIF walk against sipi (shipped defaults, no derivative cache) with wrk -t2 -c8, printing
# requests/s and the CPU per request of sipi and its decode helpers; with PERF=1 also a
# `perf record -a -g` of it in /tmp/profile_walk.perf (then: perf report -i ... --sort dso).
#   bench/profile_walk.sh SIPI_BIN LIST [SECONDS] [EXTRA_CONFIG]
# LIST: a URL list of bench/iiif_load/helper.py (e.g. photo-tifjpeg.thumb.txt) over the images
# of bench/.images/v1 (bench/iiif_load.sh --generate-only --no-huge makes them).
set -euo pipefail
BIN=$1 LIST=$2 SECS=${3:-8} EXTRA=${4:-}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORK=$(mktemp -d)
PORT=$(/usr/bin/python3 "$HERE/iiif_load/helper.py" port)
cat > "$WORK/c.lua" << CFG
sipi = { port = $PORT, bind_address = '127.0.0.1', imgroot = '$HERE/.images/v1', prefix_as_path = false,
  jpeg_quality = 80, loglevel = 'WARNING', cache_size = '0', $EXTRA }
CFG
"$BIN" server --config "$WORK/c.lua" > "$WORK/sipi.log" 2>&1 &
PID=$!
trap 'kill $PID 2> /dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/health" && break; sleep 0.1; done
ticks() {
  local t=0 p v
  for p in $PID $(pgrep -P $PID); do
    v=$(sed 's/^.*) //' "/proc/$p/stat" | awk '{ print $12 + $13 + $14 + $15 }'); t=$((t + v))
  done
  echo $t
}
wrk -t2 -c8 -d2s -s "$HERE/iiif_load/walk.lua" "http://127.0.0.1:$PORT" -- "$LIST" /iiif/ > /dev/null  # warm-up
t0=$(ticks)
PERFPID=""
if [[ -n ${PERF:-} ]]; then
  perf record -o /tmp/profile_walk.perf -a -g -- sleep $((SECS - 2)) > /dev/null 2>&1 &
  PERFPID=$!
fi
wrk -t2 -c8 -d"${SECS}s" --latency -s "$HERE/iiif_load/walk.lua" "http://127.0.0.1:$PORT" -- "$LIST" /iiif/ |
  grep IIIFLOAD > "$WORK/w.out"
t1=$(ticks)
[[ -n $PERFPID ]] && wait "$PERFPID"
n=$(sed 's/.*requests=\([0-9]*\).*/\1/' "$WORK/w.out")
echo "$(sed 's/^IIIFLOAD //' "$WORK/w.out") cpu_ms_per_req=$(awk -v a="$t0" -v b="$t1" -v n="$n" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", (b - a) * 1000 / hz / n }')"
