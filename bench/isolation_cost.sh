#!/usr/bin/env bash
# The cost of decode isolation: the same sipi binary twice, side by side, with the shipped
# defaults — one with decode_isolation = "all" (the default: helpers decode), one with "none"
# (the server decodes) — walked by wrk over the same URL lists, alternating which goes first.
#
#   bench/isolation_cost.sh [--sipi build/sipi] [--duration 10] [--conc "2 8"]
#                           [--sources "photo-tifdeflate photo-tifjpeg photo-jp2lossless"]
#                           [--workloads "tile0 thumb down2000"] [--images bench/.images]
#                           [--no-cache] [--repeat 3] [--warmup 10] [--compare OLD_SIPI] [--tile-cache]
#
# --compare OLD_SIPI: instead of the two isolation modes, two binaries with the same shipped
# defaults ("new" = --sipi, "old" = OLD_SIPI): the before/after check of a refactoring, in one
# run and alternating, so that machine noise falls on both alike.
#
# --tile-cache: instead, the same binary with the shipped decoded-tile cache ("cache") and with
# decoded_tile_cache = 0 ("nocache"): what the cache of decoded JPEG 2000 tiles buys.
#
# --no-cache: cache_size = 0 on both, so that every request (but stored JPEG tiles) decodes:
# the cost of isolation itself. Without it, the shipped derivative cache answers repeated URLs.
#
# --repeat N: each cell N times, alternating which mode goes first; the table gives medians (on a
# shared 2-core VM one run of the same cell varies by ±10 %, more than the effect measured).
#
# Images come from bench/iiif_load.sh (made with --generate-only --no-huge when missing). CPU per
# request counts the server and its decode helpers. Prints a markdown table and writes it to
# bench/results/<UTC date>-<commit>-isolation.md.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
AUX=$HERE/iiif_load
PY=/usr/bin/python3
SIPI_BIN=$REPO/build/sipi
DURATION=10
CONCS="2 8"
SOURCES="photo-tifdeflate photo-tifjpeg photo-jp2lossless"
WORKLOADS="tile0 thumb down2000"
IMAGES=$REPO/bench/.images
NLINKS=200
CACHE_LINE=""
SUFFIX=isolation
REPEAT=1
WARMUP=10
OLD_BIN=""
TILE_AB=0

while (($#)); do
  case $1 in
    --sipi) SIPI_BIN=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --conc) CONCS=$2; shift 2 ;;
    --sources) SOURCES=$2; shift 2 ;;
    --workloads) WORKLOADS=$2; shift 2 ;;
    --images) IMAGES=$2; shift 2 ;;
    --repeat) REPEAT=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --no-cache) CACHE_LINE="cache_size = 0,"; SUFFIX=isolation-nocache; shift ;;
    --compare) OLD_BIN=$2; shift 2 ;;
    --tile-cache) TILE_AB=1; shift ;;
    -h | --help) sed -n '2,/^set -e/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "isolation_cost: unknown option $1" >&2; exit 2 ;;
  esac
done
log() { printf '[isolation_cost %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
[[ -x $SIPI_BIN ]] || die "no sipi binary at $SIPI_BIN"
IMGDIR=$IMAGES/v1  # bench/iiif_load.sh GEN_VERSION
if [[ ! -f $IMGDIR/photo-tifdeflate.tif ]]; then
  log "making the images (bench/iiif_load.sh --generate-only --no-huge)"
  "$REPO/bench/iiif_load.sh" --sipi "$SIPI_BIN" --images "$IMAGES" --generate-only --no-huge
fi
command -v wrk > /dev/null || die "wrk missing (apt-get install wrk)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sipi-isolation-bench.XXXXXX")
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2> /dev/null || true; done
  wait 2> /dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
# Two variants: the isolation modes of one binary, or (--compare) two binaries.
if [[ -n $OLD_BIN ]]; then
  [[ -x $OLD_BIN ]] || die "no sipi binary at $OLD_BIN"
  MODES=(new old)
  SUFFIX=compare${CACHE_LINE:+-nocache}
elif ((TILE_AB)); then
  MODES=(cache nocache)
  SUFFIX=tilecache${CACHE_LINE:+-nocache}
else
  MODES=(all none)
fi
declare -A BIN ISO_LINE
for mode in "${MODES[@]}"; do
  case $mode in
    old) BIN[$mode]=$OLD_BIN; ISO_LINE[$mode]="" ;;
    new) BIN[$mode]=$SIPI_BIN; ISO_LINE[$mode]="" ;;
    cache) BIN[$mode]=$SIPI_BIN; ISO_LINE[$mode]="" ;;
    nocache) BIN[$mode]=$SIPI_BIN; ISO_LINE[$mode]="decoded_tile_cache = 0," ;;
    *) BIN[$mode]=$SIPI_BIN; ISO_LINE[$mode]="decode_isolation = '$mode'," ;;
  esac
  cp "${BIN[$mode]}" "$WORK/sipi-$mode"
done

ext_of() { case $1 in *tif*) echo .tif ;; *jp2*) echo .jp2 ;; *jpg) echo .jpg ;; *png) echo .png ;; esac; }
mkdir -p "$WORK/lists"
for src in $SOURCES; do
  ext=$(ext_of "$src")
  [[ -f $IMGDIR/$src$ext ]] || die "missing $IMGDIR/$src$ext"
  for ((i = 0; i < NLINKS; i++)); do
    printf -v l '%s/%s-l%03d%s' "$IMGDIR" "$src" "$i" "$ext"
    [[ $l -ef $IMGDIR/$src$ext ]] || ln -f "$IMGDIR/$src$ext" "$l"
  done
  $PY "$AUX/helper.py" lists "$WORK/lists" "$src" "$ext" 10000 8000 "$NLINKS" 42
done

# Two servers with the shipped defaults: only the port, the image root (with the /iiif/ prefix
# naming no directory), the cache directory and decode_isolation differ.
declare -A PORT PID
for mode in "${MODES[@]}"; do
  PORT[$mode]=$($PY "$AUX/helper.py" port)
  mkdir -p "$WORK/$mode"
  cat > "$WORK/$mode/sipi.config.lua" << EOF
sipi = {
  port = ${PORT[$mode]},
  bind_address = '127.0.0.1',
  imgroot = '$IMGDIR',
  prefix_as_path = false,
  cache_dir = '$WORK/$mode/cache',
  ${ISO_LINE[$mode]}
  $CACHE_LINE
}
EOF
  (cd "$WORK/$mode" && exec "$WORK/sipi-$mode" server --config sipi.config.lua > sipi.log 2>&1) &
  PID[$mode]=$!
  PIDS+=("${PID[$mode]}")
done
for mode in "${MODES[@]}"; do
  for _ in $(seq 100); do
    curl -sf -o /dev/null "http://127.0.0.1:${PORT[$mode]}/health" && break
    sleep 0.1
  done
  curl -sf -o /dev/null "http://127.0.0.1:${PORT[$mode]}/health" || die "sipi ($mode) did not start: $(tail -3 "$WORK/$mode/sipi.log")"
done

# CPU seconds of a server and its children (the decode helpers).
cpu_of() {
  local total=0 p
  for p in $1 $(pgrep -P "$1" || true); do
    total=$(awk -v t="$total" -v hz="$(getconf CLK_TCK)" '{ print t + ($14 + $15) / hz }' "/proc/$p/stat" 2> /dev/null || echo "$total")
  done
  echo "$total"
}

RESULTS=$WORK/results.tsv
: > "$RESULTS"
# The decoded-tile cache's hit and miss counters of a server ("0 0" before the metrics had them).
tile_counts() {
  curl -sf "http://127.0.0.1:$1/metrics" | awk '/^sipi_decoded_tile_cache_hits_total/ { h = $2 }
    /^sipi_decoded_tile_cache_misses_total/ { m = $2 } END { print h + 0, m + 0 }'
}
run() {  # MODE SOURCE WORKLOAD CONC
  local mode=$1 src=$2 wl=$3 conc=$4 c0 c1 out t0 t1
  t0=$(tile_counts "${PORT[$mode]}")
  c0=$(cpu_of "${PID[$mode]}")
  out=$(wrk -t"$((conc < 2 ? conc : 2))" -c"$conc" -d"${DURATION}s" --timeout 60s -s "$AUX/walk.lua" "http://127.0.0.1:${PORT[$mode]}" \
    -- "$WORK/lists/$src.$wl.txt" /iiif/ 2>&1 | grep '^IIIFLOAD' || true)
  c1=$(cpu_of "${PID[$mode]}")
  kill -0 "${PID[$mode]}" || die "sipi ($mode) died"
  t1=$(tile_counts "${PORT[$mode]}")
  # requests non2xx socket_errors rps p50 p99 cpu_ms_per_ok_request tile_hit_rate (-1 = no lookups)
  awk -v m="$mode" -v s="$src" -v w="$wl" -v c="$conc" -v cpu="$(awk -v a="$c0" -v b="$c1" 'BEGIN { print b - a }')" -v d="$DURATION" \
    -v t0="$t0" -v t1="$t1" '
    { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
    END { ok = v["requests"] - v["non2xx"]; split(t0, a, " "); split(t1, b, " "); h = b[1] - a[1]; n = h + b[2] - a[2]
          printf "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%.1f\t%.1f\t%.1f\t%.2f\t%.3f\n",
          s, w, c, m, v["requests"], v["non2xx"], v["socket_errors"], ok / d, v["p50_ms"], v["p99_ms"],
          (ok > 0 ? cpu * 1000 / ok : 0), (n > 0 ? h / n : -1) }' <<< "$out" >> "$RESULTS"
}

# Warm-up: every file's header read (info.json), then thumbnails at the measured concurrency for
# WARMUP seconds, so that both modes start warm. Each decode helper keeps its own header cache
# (the pool sends a file's jobs to one helper while it is free); a cold header costs a JPEG 2000
# file's tile index scan, once per helper that meets the file.
log "warm-up (${WARMUP} s per source and mode)"
for src in $SOURCES; do for mode in "${MODES[@]}"; do
  wrk -t1 -c2 -d2s -s "$AUX/walk.lua" "http://127.0.0.1:${PORT[$mode]}" -- "$WORK/lists/$src.info.txt" /iiif/ > /dev/null 2>&1 || true
  wrk -t2 -c8 -d"${WARMUP}s" -s "$AUX/walk.lua" "http://127.0.0.1:${PORT[$mode]}" -- "$WORK/lists/$src.thumb.txt" /iiif/ > /dev/null 2>&1 || true
done; done
n=0
for src in $SOURCES; do
  for wl in $WORKLOADS; do
    for conc in $CONCS; do
      for ((rep = 1; rep <= REPEAT; rep++)); do
        if ((n++ % 2)); then order="${MODES[1]} ${MODES[0]}"; else order="${MODES[0]} ${MODES[1]}"; fi
        for mode in $order; do
          log "$src $wl c=$conc $mode (run $rep/$REPEAT)"
          run "$mode" "$src" "$wl" "$conc"
        done
      done
    done
  done
done

commit=$(git -C "$REPO" rev-parse --short HEAD 2> /dev/null || echo unknown)
out=$REPO/bench/results/$(date -u +%Y-%m-%d)-$commit-$SUFFIX.md
cp "$RESULTS" "${out%.md}.tsv"
{
  A=${MODES[0]} B=${MODES[1]}
  if [[ -n $OLD_BIN ]]; then
    echo "# Before/after: two sipi binaries, $(date -u +%Y-%m-%d) ($commit)"
    echo
    echo "new = $SIPI_BIN ($("$SIPI_BIN" --version 2>&1 | head -1)), old = $OLD_BIN ($("$OLD_BIN" --version 2>&1 | head -1))."
    what="two servers side by side, new vs old binary"
  elif ((TILE_AB)); then
    echo "# Decoded-tile cache: what it buys, $(date -u +%Y-%m-%d) ($commit)"
    what="two servers side by side, decoded_tile_cache shipped (\"128M\") vs 0"
  else
    echo "# Decode isolation: cost, $(date -u +%Y-%m-%d) ($commit)"
    what="two servers side by side, decode_isolation = \"all\" vs \"none\""
  fi
  echo
  echo "$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')); sipi's shipped"
  echo "defaults, $what; wrk ${DURATION} s per cell"
  echo "over distinct URLs (bench/iiif_load lists), alternating which goes first; $REPEAT run(s) per"
  echo "cell, medians shown (non-2xx: summed). rps counts 2xx"
  echo "answers only; CPU is the server's plus its helpers' per 2xx answer. Sources 10000×8000."
  [[ -n $CACHE_LINE ]] && echo "Derivative cache off (cache_size = 0): every request but stored JPEG tiles decodes."
  echo
  echo "| source | workload | c | rps $A | rps $B | $A/$B | p50 ms $A / $B | p99 ms $A / $B | CPU ms/req $A / $B | non-2xx $A / $B | tile-cache hits $A / $B |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|"
  $PY - "$RESULTS" "$A" "$B" << 'PYEOF'
import statistics, sys
A, B = sys.argv[2], sys.argv[3]
rows = {}
order = []
for line in open(sys.argv[1]):
    f = line.rstrip("\n").split("\t")
    key = tuple(f[:3])
    if key not in rows:
        rows[key] = {A: [], B: []}
        order.append(key)
    rows[key][f[3]].append(f)
med = lambda rs, i: statistics.median(float(r[i]) for r in rs)
for key in order:
    a, b = rows[key][A], rows[key][B]
    ra, rb = med(a, 7), med(b, 7)
    def hits(rs):  # the cells' median hit rate of the decoded-tile cache ("-": no lookups)
        v = [float(r[11]) for r in rs if len(r) > 11 and float(r[11]) >= 0]
        return "%.0f %%" % (100 * statistics.median(v)) if v else "-"
    print("| %s | %s | %s | %.1f | %.1f | %.3f | %.1f / %.1f | %.1f / %.1f | %.2f / %.2f | %d / %d | %s / %s |" % (
        key[0], key[1], key[2], ra, rb, ra / rb if rb > 0 else 0, med(a, 8), med(b, 8), med(a, 9), med(b, 9),
        med(a, 10), med(b, 10), sum(int(r[5]) for r in a), sum(int(r[5]) for r in b), hits(a), hits(b)))
PYEOF
} > "$out"
cat "$out"
log "written to $out"
