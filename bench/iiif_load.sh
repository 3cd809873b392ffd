#!/usr/bin/env bash
# IIIF load benchmark: sipi and IIPImage (iipsrv 1.1 under lighttpd's mod_fastcgi) side by side,
# on the same generated images, with wrk walking many distinct URLs per workload.
#
#   bench/iiif_load.sh [--sipi build/sipi] [--duration 10] [--conc "2 8 32"] [--quick] [--no-huge]
#                      [--huge-conc 32] [--only REGEX] [--images bench/.images] [--generate-only]
#                      [--no-install] [--shipped]
#
# --shipped: sipi entirely as shipped (derivative cache 200M in the run directory, INFO log, …);
#   by default the cache is off so that every request decodes.
# --quick: concurrency 8 only, 5 s per cell, no 40000² image (a smoke run of ~7 minutes).
# --only: time only the sources whose IMAGE:VARIANT matches (photo|huge : tifjpeg tifdeflate
#   jp2lossless jp2lossy jpg png), e.g. --only huge:tifjpeg. A full run takes about an hour,
#   plus about 25 the first time, to make the images (the 40000² ones take 6.5 GB).
# Prints one markdown table and writes it, with the machine and settings, to
# bench/results/<UTC date>-<commit>[-quick].md. Needs root for the apt-get install of its peers
# (iipimage-server lighttpd wrk libvips-tools libopenjp2-tools grokj2k-tools python3-gi gir1.2-vips-8.0) when
# they are missing. Helpers are in bench/iiif_load/.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
AUX=$HERE/iiif_load
PY=/usr/bin/python3
IIPSRV=/usr/lib/iipimage-server/iipsrv.fcgi

SIPI_BIN=$REPO/build/sipi
DURATION=10
CONCS="2 8 32"
HUGE=1
HUGE_CONC=32
IMAGES=$REPO/bench/.images
QUICK=0
GENERATE_ONLY=0
INSTALL=1
ONLY=""
SHIPPED=0
WRK_TIMEOUT=60   # seconds; a slower response counts as a socket error (timeout)
NLINKS=200       # hard links per source file, for the whole-image workloads
PEER_CACHE_MB=2  # iipsrv MAX_IMAGE_CACHE_SIZE
NPROC=$(nproc)

usage() { sed -n '2,/^set -e/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while (($#)); do
  case $1 in
    --sipi) SIPI_BIN=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --conc) CONCS=$2; shift 2 ;;
    --huge-conc) HUGE_CONC=$2; shift 2 ;;
    --quick) QUICK=1; shift ;;
    --no-huge) HUGE=0; shift ;;
    --images) IMAGES=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    --generate-only) GENERATE_ONLY=1; shift ;;
    --no-install) INSTALL=0; shift ;;
    --shipped) SHIPPED=1; shift ;;
    -h | --help) usage 0 ;;
    *) echo "iiif_load: unknown option $1" >&2; usage 2 ;;
  esac
done
if ((QUICK)); then CONCS=8; DURATION=5; HUGE=0; fi
[[ $DURATION =~ ^[0-9]+$ && $DURATION -gt 0 ]] || { echo "iiif_load: --duration wants whole seconds" >&2; exit 2; }

log() { printf '[iiif_load %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# --- peers ------------------------------------------------------------------------------------
PACKAGES="iipimage-server lighttpd wrk libvips-tools libopenjp2-tools grokj2k-tools python3-gi gir1.2-vips-8.0"
install_peers() {
  local missing=() p
  for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  ((INSTALL)) || die "missing packages: ${missing[*]} (run without --no-install, as root)"
  [[ $(id -u) == 0 ]] || die "missing packages: ${missing[*]}; run as root or: apt-get install ${missing[*]}"
  log "installing ${missing[*]}"
  # Keep the packages' own services (lighttpd on port 80, iipsrv on 9000) from being started.
  local policy=""
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    policy=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod 755 "$policy"
  fi
  local rc=0
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"; } \
    > /tmp/iiif_load-apt.log 2>&1 || rc=$?
  [[ -n $policy ]] && rm -f "$policy"
  ((rc == 0)) || die "apt-get failed; see /tmp/iiif_load-apt.log"
  # Should an init system have started them anyway, stop the system instances.
  local svc
  for svc in lighttpd iipsrv; do
    if command -v systemctl > /dev/null && systemctl is-active --quiet "$svc" 2> /dev/null; then
      systemctl stop "$svc" || true
      systemctl disable "$svc" 2> /dev/null || true
    elif [[ $svc == lighttpd && -s /run/lighttpd.pid ]] && kill -0 "$(cat /run/lighttpd.pid)" 2> /dev/null; then
      service lighttpd stop || true
    fi
  done
}
install_peers
[[ -x $IIPSRV ]] || die "$IIPSRV not found (iipimage-server changed its layout?)"
[[ -x $SIPI_BIN ]] || die "no sipi binary at $SIPI_BIN (use --sipi PATH)"

WORK=$(mktemp -d /tmp/iiif_load.XXXXXX)
SIPI_PID="" LT_PID="" PEER_CHILDREN=""
cleanup() {
  set +e
  [[ -n $SIPI_PID ]] && kill "$SIPI_PID" 2> /dev/null
  [[ -n $LT_PID ]] && kill "$LT_PID" 2> /dev/null
  [[ -n $SIPI_PID ]] && wait "$SIPI_PID" 2> /dev/null
  [[ -n $LT_PID ]] && wait "$LT_PID" 2> /dev/null
  local p
  for p in $PEER_CHILDREN; do kill "$p" 2> /dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# build/sipi may be rebuilt while this runs: use a copy.
cp "$SIPI_BIN" "$WORK/sipi"
SIPI=$WORK/sipi

# --- images -----------------------------------------------------------------------------------
GEN_VERSION=$($PY "$AUX/make_images.py" version)
IMGDIR=$IMAGES/v$GEN_VERSION
mkdir -p "$IMGDIR"
ext_of() { case $1 in tif*) echo .tif ;; jp2*) echo .jp2 ;; jpg) echo .jpg ;; png) echo .png ;; esac; }
VARIANTS_ALL="tifjpeg tifdeflate jp2lossless jp2lossy"

# gen_step OUT LABEL COMMAND...: runs COMMAND... TMP, then renames TMP to OUT. An OUT left by an
# interrupted generation of the same version is kept.
gen_step() {
  local out=$1 label=$2 t tmp
  shift 2
  if [[ -s $out ]]; then
    log "  $label: kept from an interrupted run"
    return 0
  fi
  t=$(now)
  tmp=$(dirname "$out")/.tmp-$(basename "$out")
  "$@" "$tmp"
  mv "$tmp" "$out"
  log "  $label: $(since "$t") s, $(du -h "$out" | cut -f1)"
}
sipi_convert() { "$SIPI" convert "$@" > /dev/null; }

# gen_image NAME W H SEED EXTRA_VARIANTS
gen_image() {
  local name=$1 w=$2 h=$3 seed=$4 extra=$5
  local stamp=$IMGDIR/.$name.done partial=$IMGDIR/.$name.partial want="$GEN_VERSION $w $h $seed $VARIANTS_ALL $extra"
  if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then
    log "images: $name (${w}x$h) cached in $IMGDIR"
    return 0
  fi
  local t0 master=$IMGDIR/.$name-master.tif m=$IMGDIR/$name v
  t0=$(now)
  if [[ ! -f $partial || $(cat "$partial") != "$want" ]]; then
    rm -f "$stamp" "$master" "$IMGDIR/$name"-* "$IMGDIR/.tmp-$name"-*
    echo "$want" > "$partial"
  fi
  log "images: generating $name ${w}x$h (seed $seed) into $IMGDIR"
  # The master is a classic (not Big) TIFF with Deflate tiles: sipi convert does not read BigTIFF.
  gen_step "$master" "master (tiled TIFF, Deflate)" $PY "$AUX/make_images.py" master "$w" "$h" "$seed"
  gen_step "$m-tifjpeg.tif" "pyramidal TIFF, JPEG tiles" $PY "$AUX/make_images.py" variant "$master" tif-jpeg
  gen_step "$m-tifdeflate.tif" "pyramidal TIFF, Deflate tiles" $PY "$AUX/make_images.py" variant "$master" tif-deflate
  gen_step "$m-jp2lossless.jp2" "JPEG 2000 lossless (sipi convert)" sipi_convert "$master"
  gen_step "$m-jp2lossy.jp2" "JPEG 2000 lossy, layers 20:1 10:1 5:1 (sipi convert --rates 20 10 5)" \
    sipi_convert --rates 20 10 5 "$master"
  for v in $extra; do
    gen_step "$m-$v$(ext_of "$v")" "$v" $PY "$AUX/make_images.py" variant "$master" "$v"
  done
  rm -f "$master"
  mv "$partial" "$stamp"
  log "images: $name done in $(since "$t0") s; $(du -ch "$IMGDIR/$name"-* | tail -1 | cut -f1) on disk"
}

# HTJ2K (Part 15) from the same pixels, written by Grok (OpenJPEG 2.5 only decodes it): what an
# archive would serve as fast access files. 256² tiles, so a tile request decodes one tile.
grk_ht() {  # Grok reads no tiled TIFF: go through a temporary PPM
  local ppm="$WORK/ht-master.ppm"
  vips copy "$1" "$ppm" && grk_compress -i "$ppm" -o "$2" -M 64 -t 256,256 -n 6 > /dev/null
  rm -f "$ppm"
}

T_GEN=$(now)
gen_image photo 10000 8000 1000 "jpg png"
if command -v grk_compress > /dev/null; then
  gen_step "$IMGDIR/photo-jp2ht.jp2" "HTJ2K lossless (grk_compress -M 64, 256² tiles)" grk_ht "$IMGDIR/photo-tifdeflate.tif"
fi
# HTJ2K written by sipi itself (OpenJPH), lossless, with 256², 512² and 1024² codestream tiles:
# what `sipi convert --htj2k` gives an archive, and the tile-size trade-off.
for t in 256 512 1024; do
  gen_step "$IMGDIR/photo-jp2hts$t.jp2" "HTJ2K lossless (sipi convert --htj2k, $t² tiles)" \
    sipi_convert --htj2k --Stiles "{$t,$t}" "$IMGDIR/photo-tifdeflate.tif"
done
((HUGE)) && gen_image huge 40000 40000 4000 ""
log "images ready in $(since "$T_GEN") s"
((GENERATE_ONLY)) && exit 0

# Hard links: NAME-VARIANT-lNNN.EXT, for the whole-image workloads.
make_links() {
  local src=$IMGDIR/$1$2 i l
  for ((i = 0; i < NLINKS; i++)); do
    printf -v l '%s/%s-l%03d%s' "$IMGDIR" "$1" "$i" "$2"
    [[ $l -ef $src ]] || ln -f "$src" "$l"
  done
}

# --- sources and URL lists --------------------------------------------------------------------
# source = image:variant; the peer (IIPImage 1.1) reads TIFF and JPEG 2000 only.
SOURCES=""
for v in tifjpeg tifdeflate jp2lossless jp2lossy jp2ht jp2hts256 jp2hts512 jp2hts1024 jpg png; do
  [[ $v != jp2ht* || -f $IMGDIR/photo-$v.jp2 ]] && SOURCES+=" photo:$v"
done
if ((HUGE)); then for v in $VARIANTS_ALL; do SOURCES+=" huge:$v"; done; fi
if [[ -n $ONLY ]]; then
  SOURCES=$(tr ' ' '\n' <<< "$SOURCES" | grep -E -- "$ONLY" | tr '\n' ' ' || true)
  [[ -n ${SOURCES// /} ]] || die "--only $ONLY matches no source"
fi
WORKLOADS=${IIIF_LOAD_WORKLOADS:-"tile0 tileN view region thumb down2000 info"}
mkdir -p "$WORK/lists" "$WORK/www"
declare -A LABEL=([photo]="10000×8000" [huge]="40000×40000" [tifjpeg]="TIFF JPEG" [tifdeflate]="TIFF Deflate"
  [jp2lossless]="JP2 lossless" [jp2lossy]="JP2 lossy" [jp2ht]="HTJ2K lossless" [jp2hts256]="HTJ2K sipi 256²" [jp2hts512]="HTJ2K sipi 512²" [jp2hts1024]="HTJ2K sipi 1024²" [jpg]="JPEG" [png]="PNG")
declare -A DIMS=([photo]="10000 8000" [huge]="40000 40000")
peer_reads() { [[ $1 == tif* || $1 == jp2* ]]; }
for s in $SOURCES; do
  img=${s%%:*} v=${s#*:}
  ext=$(ext_of "$v")
  [[ -f $IMGDIR/$img-$v$ext ]] || die "missing $IMGDIR/$img-$v$ext"
  make_links "$img-$v" "$ext"
  # shellcheck disable=SC2086
  $PY "$AUX/helper.py" lists "$WORK/lists" "$img-$v" "$ext" ${DIMS[$img]} "$NLINKS" 42
done

# --- servers ----------------------------------------------------------------------------------
SIPI_PORT=$($PY "$AUX/helper.py" port)
PEER_PORT=$($PY "$AUX/helper.py" port)
while [[ $PEER_PORT == "$SIPI_PORT" ]]; do PEER_PORT=$($PY "$AUX/helper.py" port); done
cat > "$WORK/sipi.config.lua" << EOF
sipi = {
  port = $SIPI_PORT,
  bind_address = '127.0.0.1',
  imgroot = '$IMGDIR',
  prefix_as_path = false,   -- /iiif/<id>/... reads <imgroot>/<id>
  drain_timeout = 5,
  $( ((SHIPPED)) && echo "cache_dir = '$WORK/cache',  -- everything else as shipped: cache 200M, JPEG Q 80, a worker per core, INFO log" ||
    echo "jpeg_quality = 80, nthreads = $NPROC, loglevel = 'WARNING', cache_size = '0',  -- no derivative cache: measure the work" )
}
EOF
SIPI_URL=http://127.0.0.1:$SIPI_PORT
SIPI_PREFIX=/iiif/
probe=$(awk '{ split($1, a, ":"); print a[1] "-" a[2] }' <<< "$SOURCES")
probe=$probe$(ext_of "${probe#*-}")/info.json
# A fresh sipi for every source, so that its peak RSS is that source's and not memory kept
# from an earlier one.
start_sipi() {
  if [[ -n $SIPI_PID ]]; then
    kill "$SIPI_PID" 2> /dev/null || true
    wait "$SIPI_PID" 2> /dev/null || true
  fi
  # in its own directory, with core dumps on, so that a crash leaves something to look at
  mkdir -p "$WORK/sipi-run"
  (ulimit -c unlimited 2> /dev/null || true; cd "$WORK/sipi-run" && exec "$SIPI" server --config "$WORK/sipi.config.lua") \
    >> "$WORK/sipi.log" 2>&1 &
  SIPI_PID=$!
  local i
  for ((i = 0; i < 100; i++)); do
    kill -0 "$SIPI_PID" 2> /dev/null || die "sipi exited: $(tail -5 "$WORK/sipi.log")"
    curl -sf -o /dev/null "$SIPI_URL$SIPI_PREFIX$probe" && return 0
    sleep 0.1
  done
  die "sipi did not answer $SIPI_URL$SIPI_PREFIX$probe"
}
start_sipi
sed -e "s|@PORT@|$PEER_PORT|g" -e "s|@WORK@|$WORK|g" -e "s|@IIPSRV@|$IIPSRV|g" -e "s|@PROCS@|$NPROC|g" \
  -e "s|@IMGDIR@|$IMGDIR|g" -e "s|@MAX_CVT@|10000|g" -e "s|@CACHE_MB@|$PEER_CACHE_MB|g" \
  "$AUX/lighttpd.conf.in" > "$WORK/lighttpd.conf"
lighttpd -D -f "$WORK/lighttpd.conf" > "$WORK/lighttpd.log" 2>&1 &
LT_PID=$!
PEER_URL=http://127.0.0.1:$PEER_PORT
PEER_PREFIX='/fcgi-bin/iipsrv.fcgi?IIIF='
for ((i = 0; i < 100; i++)); do
  kill -0 "$LT_PID" 2> /dev/null || die "lighttpd exited: $(tail -5 "$WORK/lighttpd.log" "$WORK/lighttpd-error.log" 2> /dev/null)"
  curl -sf -o /dev/null "$PEER_URL$PEER_PREFIX$probe" && break
  sleep 0.2
done
((i < 100)) || die "lighttpd/iipsrv did not answer $PEER_URL$PEER_PREFIX$probe"
PEER_CHILDREN=$(pgrep -P "$LT_PID" | tr '\n' ' ' || true)
[[ -n $PEER_CHILDREN ]] || die "lighttpd started no iipsrv.fcgi"
log "sipi pid $SIPI_PID on $SIPI_URL; lighttpd pid $LT_PID on $PEER_URL with iipsrv.fcgi pids $PEER_CHILDREN"

# --- sanity: one request of each workload on both servers -------------------------------------
log "sanity check: status, type and pixel size of one URL per workload and source"
for s in $SOURCES; do
  img=${s%%:*} v=${s#*:}
  peer=$PEER_URL$PEER_PREFIX
  peer_reads "$v" || peer=-
  lists=()
  for wl in $WORKLOADS; do lists+=("$WORK/lists/$img-$v.$wl.txt"); done
  $PY "$AUX/helper.py" check "$SIPI_URL$SIPI_PREFIX" "$peer" "${lists[@]}" > "$WORK/check.out" ||
    die "sanity check failed for $img-$v (see above); not timing anything"
  sed "s/^/  $img-$v: /" "$WORK/check.out" >&2
done
log "sanity check passed"

# --- measuring --------------------------------------------------------------------------------
CLK_TCK=$(getconf CLK_TCK)
# CPU ticks (utime+stime+cutime+cstime) of the given processes.
ticks() {
  local t=0 p v
  for p in "$@"; do
    v=$(sed 's/^.*) //' "/proc/$p/stat" 2> /dev/null | awk '{ print $12 + $13 + $14 + $15 }') || v=0
    t=$((t + ${v:-0}))
  done
  echo "$t"
}
# Busy ticks of the whole machine (user nice system irq softirq steal), to see other load.
machine_busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }
peer_pids() { echo "$LT_PID" $(pgrep -P "$LT_PID"); }
# sipi and its decode helpers (their CPU and memory are the server's too).
sipi_pids() { echo "$SIPI_PID" $(pgrep -P "$SIPI_PID"); }
# Sum of a /proc/PID/status field (kB) over processes.
status_kb() {
  local field=$1 p t=0 v
  shift
  for p in "$@"; do
    v=$(awk -v f="$field:" '$1 == f { print $2 }' "/proc/$p/status" 2> /dev/null) || v=0
    t=$((t + ${v:-0}))
  done
  echo "$t"
}
# Waits until neither server uses CPU (work left over from the previous cell's open requests).
wait_idle() {
  local a b i
  for ((i = 0; i < 300; i++)); do
    # shellcheck disable=SC2046 # one word per pid
    a=$(ticks $(sipi_pids) $(peer_pids))
    sleep 0.3
    # shellcheck disable=SC2046
    b=$(ticks $(sipi_pids) $(peer_pids))
    ((b - a <= 1)) && return 0
  done
  log "warning: servers still busy after 90 s"
}
# After a cell: did a server die? Sets CRASH (empty if not); restarts sipi if it died.
CRASH=""
check_crash() {
  local server=$1 before=$2 cell=$3 st=0 p core
  CRASH=""
  kill -0 "$LT_PID" 2> /dev/null || die "lighttpd died; log tail: $(tail -20 "$WORK/lighttpd-error.log")"
  if [[ $server == sipi ]] && ! kill -0 "$SIPI_PID" 2> /dev/null; then
    wait "$SIPI_PID" || st=$?
    CRASH="sipi exited, status $st"
    if ((st > 128)); then CRASH+=" (signal $((st - 128)))"; fi
    for core in "$WORK"/sipi-run/core*; do
      [[ -e $core ]] || continue
      mv "$core" "/tmp/iiif_load-sipi-core.$SIPI_PID"
      CRASH+=", core dump kept in /tmp/iiif_load-sipi-core.$SIPI_PID"
    done
    {
      echo "sipi $cell: $CRASH; sipi log tail:"
      tail -15 "$WORK/sipi.log" | sed 's/^/    /'
    } >> "$WORK/errors.txt"
    log "$cell: $CRASH; restarting sipi"
    SIPI_PID=""
    start_sipi
  elif [[ $server == peer ]]; then
    for p in $before; do
      [[ $p == "$LT_PID" ]] && continue
      kill -0 "$p" 2> /dev/null || CRASH+="${CRASH:+, }iipsrv.fcgi $p exited"
    done
    if [[ -n $CRASH ]]; then
      echo "peer $cell: $CRASH (lighttpd starts a new one)" >> "$WORK/errors.txt"
      log "$cell: $CRASH"
    fi
  fi
  return 0
}

RESULTS=$WORK/results.tsv
printf 'source\tworkload\tconc\tserver\trequests\tnon2xx\tsocket_errors\trps\tp50_ms\tp99_ms\tcpu_s\trss_kb\trss_start_kb\tother_pct\tcrash\n' > "$RESULTS"
# run_cell SERVER SOURCE_LABEL WORKLOAD CONC LIST
run_cell() {
  local server=$1 label=$2 wl=$3 conc=$4 list=$5 url prefix pids t0 t1 m0 m1 line rss=- rss0=- threads=2
  if [[ $server == sipi ]]; then url=$SIPI_URL prefix=$SIPI_PREFIX; else url=$PEER_URL prefix=$PEER_PREFIX; fi
  ((conc < threads)) && threads=$conc
  kill -0 "$SIPI_PID" 2> /dev/null || check_crash sipi "" "between cells, before $server $label $wl c=$conc"
  wait_idle
  if [[ $server == sipi ]]; then
    pids=$(sipi_pids)
    for p in $pids; do echo 5 > "/proc/$p/clear_refs"; done
    # shellcheck disable=SC2086
    rss0=$(status_kb VmRSS $pids)
  else
    pids=$(peer_pids)
  fi
  # shellcheck disable=SC2086
  t0=$(ticks $pids)
  m0=$(machine_busy)
  /usr/bin/time -f '%U %S' -o "$WORK/wrk.time" wrk -t"$threads" -c"$conc" -d"${DURATION}s" --timeout "${WRK_TIMEOUT}s" --latency -s "$AUX/walk.lua" "$url" \
    -- "$list" "$prefix" > "$WORK/wrk.out" 2>&1 || true
  local before=$pids
  if [[ $server == sipi ]]; then pids=$(sipi_pids); else pids=$(peer_pids); fi
  # shellcheck disable=SC2086
  t1=$(ticks $pids)
  m1=$(machine_busy)
  # shellcheck disable=SC2086
  [[ $server == sipi ]] && rss=$(status_kb VmHWM $pids)
  check_crash "$server" "$before" "$label $wl c=$conc"
  line=$(grep '^IIIFLOAD ' "$WORK/wrk.out") || die "wrk failed: $(cat "$WORK/wrk.out")"
  local requests non2xx socket_errors timeouts rps p50_ms p99_ms kv
  for kv in ${line#IIIFLOAD }; do printf -v "${kv%%=*}" '%s' "${kv#*=}"; done
  local cpu other
  cpu=$(awk -v a="$t0" -v b="$t1" -v hz="$CLK_TCK" 'BEGIN { printf "%.3f", (b - a) / hz }')
  # Machine CPU not spent by this server or wrk, in % of all cores over the cell.
  other=$(awk -v m="$((m1 - m0))" -v s="$((t1 - t0))" -v hz="$CLK_TCK" -v n="$NPROC" -v d="$DURATION" \
    '{ o = (m - s) / hz - $1 - $2; if (o < 0) o = 0; printf "%.0f", 100 * o / (n * d) }' "$WORK/wrk.time")
  [[ -n $CRASH && $server == sipi ]] && cpu=- other=- # its CPU counters went with it
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$wl" "$conc" "$server" "$requests" \
    "$non2xx" "$socket_errors" "$rps" "$p50_ms" "$p99_ms" "$cpu" "$rss" "$rss0" "$other" "$CRASH" >> "$RESULTS"
  printf '  %-26s %-9s c=%-3s %-5s %9s rps  p50 %8s ms  p99 %8s ms  cpu %7s s  rss %6s kB  other %3s%%  errors %s\n' \
    "$label" "$wl" "$conc" "$server" "$rps" "$p50_ms" "$p99_ms" "$cpu" "$rss" "$other" "$((non2xx + socket_errors))" >&2
  if ((non2xx + socket_errors > 0)); then
    echo "$server $label $wl c=$conc: $non2xx non-2xx, $socket_errors socket errors ($timeouts timeouts)" >> "$WORK/errors.txt"
  fi
}

ncells=0
for s in $SOURCES; do
  img=${s%%:*} v=${s#*:}
  n=1
  peer_reads "$v" && n=2
  if [[ $img == huge ]]; then c=1; else c=$(wc -w <<< "$CONCS"); fi
  ncells=$((ncells + n * c * $(wc -w <<< "$WORKLOADS")))
done
load1=$(cut -d' ' -f1 /proc/loadavg)
awk -v l="$load1" 'BEGIN { exit !(l > 0.5) }' &&
  log "warning: load average $load1 before the run; other work on the machine will skew the figures"
log "timing $ncells cells of ${DURATION} s (about $(((ncells * (DURATION + 2) + 59) / 60)) min)"
T_RUN=$(now)
for s in $SOURCES; do
  img=${s%%:*} v=${s#*:}
  label="${LABEL[$img]} ${LABEL[$v]}"
  cat "$IMGDIR/$img-$v$(ext_of "$v")" > /dev/null # into the page cache for both servers alike
  start_sipi
  concs=$CONCS
  [[ $img == huge ]] && concs=$HUGE_CONC
  for wl in $WORKLOADS; do
    for c in $concs; do
      run_cell sipi "$label" "$wl" "$c" "$WORK/lists/$img-$v.$wl.txt"
      peer_reads "$v" && run_cell peer "$label" "$wl" "$c" "$WORK/lists/$img-$v.$wl.txt"
    done
  done
done
# --- queueing: `2000,` walks with a tile walk alongside (sipi only, shipped admission) ---------
# With the shipped defaults, c=8 must get no 503, and at c=32 every 503 must be a request that
# waited the full queue_timeout (none refused at once: queue_full stays 0); the tiles walked by two
# other clients meanwhile keep their own worker.
ALONG=$WORK/alongside.tsv
printf 'conc\tbig_requests\tbig_non2xx\tbig_rps\tbig_p50_ms\tbig_p99_ms\tshed_full\tshed_timeout\ttile_requests\ttile_errors\ttile_p50_ms\ttile_p99_ms\n' > "$ALONG"
shed_count() {  # REASON → sipi_admission_shed_total summed over lanes
  curl -s "$SIPI_URL/metrics" | awk -v r="reason=\"$1\"" '/^sipi_admission_shed_total/ && index($0, r) { s += $2 } END { print s + 0 }'
}
wrk_line() { grep '^IIIFLOAD ' "$1" | sed 's/^IIIFLOAD //'; }
if [[ " $SOURCES " == *" photo:tifjpeg "* ]]; then
  log "queueing: photo-tifjpeg 2000, at c=8 and c=32 with a 256² tile walk (c=2) alongside"
  start_sipi
  for c in 8 32; do
    wait_idle
    full0=$(shed_count queue_full) tout0=$(shed_count queue_timeout)
    wrk -t2 -c"$c" -d"${DURATION}s" --timeout "${WRK_TIMEOUT}s" --latency -s "$AUX/walk.lua" "$SIPI_URL" \
      -- "$WORK/lists/photo-tifjpeg.down2000.txt" "$SIPI_PREFIX" > "$WORK/big.out" 2>&1 &
    big=$!
    sleep 1  # the queue fills first
    wrk -t1 -c2 -d"$((DURATION - 2))s" --latency -s "$AUX/walk.lua" "$SIPI_URL" \
      -- "$WORK/lists/photo-tifjpeg.tile0.txt" "$SIPI_PREFIX" > "$WORK/tiles.out" 2>&1 || true
    wait "$big" || true
    sleep 6  # requests still queued when wrk stopped are answered or shed before counting
    declare -A B=() T=()
    for kv in $(wrk_line "$WORK/big.out"); do B[${kv%%=*}]=${kv#*=}; done
    for kv in $(wrk_line "$WORK/tiles.out"); do T[${kv%%=*}]=${kv#*=}; done
    full=$(($(shed_count queue_full) - full0)) tout=$(($(shed_count queue_timeout) - tout0))
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$c" "${B[requests]:-0}" "${B[non2xx]:-0}" "${B[rps]:-0}" \
      "${B[p50_ms]:-0}" "${B[p99_ms]:-0}" "$full" "$tout" "${T[requests]:-0}" "$((${T[non2xx]:-0} + ${T[socket_errors]:-0}))" \
      "${T[p50_ms]:-0}" "${T[p99_ms]:-0}" >> "$ALONG"
    log "  2000, c=$c: ${B[rps]:-?} rps, non-2xx ${B[non2xx]:-?}, shed queue_full $full / queue_timeout $tout; tiles alongside p99 ${T[p99_ms]:-?} ms"
  done
fi
RUN_SECS=$(since "$T_RUN")
log "timed in $RUN_SECS s"

# --- report -----------------------------------------------------------------------------------
commit=$(git -C "$REPO" rev-parse --short HEAD 2> /dev/null || echo unknown)
[[ -n $(git -C "$REPO" status --porcelain --untracked-files=no 2> /dev/null) ]] && commit+=-dirty
date_utc=$(date -u +%Y-%m-%d)
mkdir -p "$REPO/bench/results"
suffix=""
((QUICK)) && suffix=-quick
[[ -n $ONLY ]] && suffix+=-partial
((SHIPPED)) && suffix+=-shipped
OUT=$REPO/bench/results/$date_utc-$commit$suffix.md
pkgver() { dpkg-query -W -f='${Version}' "$1" 2> /dev/null || echo '?'; }
sizes=""
for s in $SOURCES; do
  img=${s%%:*} v=${s#*:}
  f=$IMGDIR/$img-$v$(ext_of "$v")
  sizes+="$(basename "$f") $(($(stat -c %s "$f") / 1048576)) MiB; "
done
huge_rss=""
if ((HUGE)); then
  huge_rss=$(awk -F'\t' '$1 ~ /40000×40000 TIFF JPEG/ && $4 == "sipi" && ($2 == "tile0" || $2 == "down2000") {
    printf "%s%s c=%s %.0f MB", sep, ($2 == "tile0" ? "tiles" : "2000,"), $3, $12 / 1024; sep = ", " }' "$RESULTS")
fi
{
  echo "# IIIF load: sipi vs IIPImage — $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "- machine: $NPROC cores, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)," \
    "$(awk '/^MemTotal/ { printf "%.1f GiB RAM", $2 / 1048576 }' /proc/meminfo); kernel $(uname -r)"
  echo "- commit: $commit; sipi binary: $SIPI_BIN ($("$SIPI" --version 2>&1 | head -1)," \
    "sha256 $(sha256sum "$SIPI" | cut -c1-12), built $(date -u -r "$SIPI_BIN" '+%Y-%m-%d %H:%M UTC'))"
  echo "- peer: IIPImage iipimage-server $(pkgver iipimage-server) (IIIF 2 handler) under lighttpd $(pkgver lighttpd)" \
    "mod_fastcgi, max-procs $NPROC; env MAX_LAYERS=-1 JPEG_QUALITY=80 VERBOSITY=0 MAX_CVT=10000" \
    "MAX_IMAGE_CACHE_SIZE=$PEER_CACHE_MB (MB) FILESYSTEM_PREFIX=<images>/"
  if ((SHIPPED)); then
    echo "- sipi: shipped defaults throughout (derivative cache 200M, jpeg_quality 80, a worker per core, loglevel INFO, admission); URLs /iiif/<id>/…"
  else
    echo "- sipi: nthreads $NPROC, jpeg_quality 80, cache_size '0', loglevel WARNING, admission and all else as shipped, URLs /iiif/<id>/…"
  fi
  conc_note=$CONCS
  ((HUGE)) && conc_note+=" (40000×40000: $HUGE_CONC)"
  ((QUICK)) && conc_note+=" (--quick)"
  echo "- load: wrk $(pkgver wrk), ${DURATION} s per cell, -t2, concurrency $conc_note, timeout ${WRK_TIMEOUT} s;" \
    "wrk runs on the same cores as the servers"
  echo "- images (generator v$GEN_VERSION): $sizes$NLINKS hard links each for thumb, 2000, and info.json"
  echo "- URLs per cell: full-res tiles = every complete 256² tile, shuffled; reduced = 256·s regions" \
    "(s = 2, 4, …) at size 256,; regions = 1000 seeded regions, output 64–512 px at scale 1–4;" \
    "thumb/2000,/info.json = one per hard link"
  echo "- columns: ratio = sipi rps / peer rps; CPU ms/req = the server's utime+stime over the cell /" \
    "completed requests (sipi = server + decode helpers, peer = lighttpd + iipsrv.fcgi); peak RSS = the sum of sipi's and its helpers' VmHWM, reset per cell;" \
    "errors = non-2xx + socket errors (timeouts included)"
  echo "- sipi is restarted for every source; \"peak (start)\" = VmHWM over the cell (reset by clear_refs) and VmRSS at its start"
  [[ -n $huge_rss ]] && echo "- sipi peak RSS on the 40000×40000 JPEG-TIFF: $huge_rss (target < 300 MB)"
  [[ -n $ONLY ]] && echo "- only the sources matching --only '$ONLY'"
  echo "- timing took $RUN_SECS s"
  echo
  $PY "$AUX/helper.py" table "$RESULTS"
  noisy=$(awk -F'\t' 'NR > 1 && $14 != "-" { n++; if ($14 > 10) { k++; if ($14 > max) max = $14 } }
    END { if (k) printf "%d of %d cells (up to %d%% of all cores)", k, n, max }' "$RESULTS")
  if [[ -n $noisy ]]; then
    echo
    echo "Other processes used more than 10% of the machine's CPU in $noisy; those cells' figures are low" \
      "(other_pct in the .tsv). Re-run on an idle machine to compare."
  fi
  if (($(wc -l < "$ALONG") > 1)); then
    echo
    echo "Queueing with shipped admission defaults (10000×8000 TIFF JPEG, \`2000,\` walk at c, 256² tile walk at c=2 alongside;"
    echo "sheds counted from sipi's metrics: queue_full = refused at once, queue_timeout = waited the full queue_timeout of 5 s):"
    echo
    echo "| c | \`2000,\` rps | non-2xx | p50 / p99 ms | shed queue_full | shed queue_timeout | tiles alongside | tile errors | tile p50 / p99 ms |"
    echo "|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
    awk -F'\t' 'NR > 1 { printf "| %s | %.1f | %s | %.0f / %.0f | %s | %s | %s | %s | %.1f / %.1f |\n", $1, $4, $3, $5, $6, $7, $8, $9, $10, $11, $12 }' "$ALONG"
  fi
  if [[ -s $WORK/errors.txt ]]; then
    echo
    echo "Cells with errors:"
    echo
    sed 's/^/- /' "$WORK/errors.txt"
  fi
} > "$OUT"
cp "$RESULTS" "${OUT%.md}.tsv"
cat "$OUT"
TSV=${OUT%.md}.tsv
log "written to ${OUT#"$REPO"/} and ${TSV#"$REPO"/}"
