#!/usr/bin/env bash
# Builds the libFuzzer harnesses of fuzz/ (clang, ASan + UBSan) in build-fuzz/ and runs each for
# a fixed time on a copy of its seed corpus. New corpus entries go to a temporary directory that
# is removed afterwards (the repository is never written to); crash, leak, timeout and OOM
# reproducers are kept in build-fuzz/artifacts/<harness>/.
#
#   scripts/fuzz.sh [seconds-per-harness]      (default 30)
#   FUZZ_HARNESSES="fuzz_image" scripts/fuzz.sh 60   only some harnesses
#
# Known findings are kept in fuzz/crashes/<harness>-<name>; those named <harness>-lib-<name> are
# bugs in Debian's libraries that sipi contains (decode helpers) and cannot fix: they are
# expected to crash the harness, and tests/e2e/test_isolation.py proves the server survives them. The timed runs skip the inputs that
# reach them (SIPI_FUZZ_SKIP_KNOWN=1 in the harnesses, UBSan suppressions in
# fuzz/ubsan-known.supp) so that they look for new ones; each
# known reproducer is then replayed without skipping, and one that still crashes counts as a
# failure until the bug is fixed.
#
# Exit status: 0 when nothing crashed, 1 otherwise (the reproducer paths are printed; replay one
# with build-fuzz/fuzz/<harness> <file>), 2 on a build or usage error. Idempotent and
# incremental: the build directory is configured once and rebuilt by ninja.
set -euo pipefail
cd "$(dirname "$0")/.."

SECS="${1:-30}"
[[ "$SECS" =~ ^[0-9]+$ ]] || { echo "usage: $0 [seconds-per-harness]" >&2; exit 2; }
BUILD=build-fuzz
HARNESSES=(${FUZZ_HARNESSES:-fuzz_iiif_url fuzz_config fuzz_multipart fuzz_image})
JOBS="${JOBS:-2}"

command -v clang++ >/dev/null || { echo "fuzz: clang++ not found (scripts/setup.sh --test installs it)" >&2; exit 2; }

t0=$(date +%s)
if [ ! -f "$BUILD/build.ninja" ]; then
  CC=clang CXX=clang++ cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DSIPI_FUZZ=ON -DBUILD_TESTING=OFF >/dev/null
fi
if ! ninja -C "$BUILD" -j "$JOBS" fuzzers >"$BUILD/fuzz-build.log" 2>&1; then
  tail -40 "$BUILD/fuzz-build.log" >&2
  echo "fuzz: build failed (full log: $BUILD/fuzz-build.log)" >&2
  exit 2
fi
t1=$(date +%s)
echo "fuzz: build $((t1 - t0)) s"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sipi-fuzz.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:symbolize=1:detect_stack_use_after_return=1}"
UBSAN_REPLAY="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:symbolize=1}"
UBSAN_FUZZ="$UBSAN_REPLAY"
[ -f fuzz/ubsan-known.supp ] && UBSAN_FUZZ="$UBSAN_FUZZ:suppressions=$PWD/fuzz/ubsan-known.supp"
[ -f fuzz/lsan.supp ] && export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$PWD/fuzz/lsan.supp:print_suppressions=0}"

status=0
for h in "${HARNESSES[@]}"; do
  bin="$BUILD/fuzz/$h"
  [ -x "$bin" ] || { echo "fuzz: $bin missing" >&2; exit 2; }
  corpus="$WORK/corpus/$h"
  artifacts="$PWD/$BUILD/artifacts/$h"
  mkdir -p "$corpus" "$WORK/tmp/$h"
  rm -rf "$artifacts" && mkdir -p "$artifacts"
  cp -r "fuzz/corpus/$h/." "$corpus/"
  dict=()
  [ -f "fuzz/$h.dict" ] && dict=("-dict=fuzz/$h.dict")
  log="$artifacts/$h.log"
  rc=0
  # TMPDIR: the harness's scratch files live under $WORK, removed even if the harness dies.
  TMPDIR="$WORK/tmp/$h" SIPI_FUZZ_SKIP_KNOWN=1 UBSAN_OPTIONS="$UBSAN_FUZZ" "$bin" -max_total_time="$SECS" -rss_limit_mb=2048 -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" "${dict[@]}" "$corpus" >"$log" 2>&1 || rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  secs=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  init=$(grep -m1 -E '^#[0-9]+[[:space:]]+INITED' "$log" | sed -E 's/.*cov: ([0-9]+) ft: ([0-9]+) corp: ([0-9]+).*/\1 \2 \3/' || true)
  last=$(grep -E '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse|DONE|INITED)' "$log" | tail -1 |
         sed -E 's/.*cov: ([0-9]+) ft: ([0-9]+) corp: ([0-9]+).*/\1 \2 \3/' || true)
  read -r cov0 ft0 corp0 <<<"${init:-0 0 0}"
  read -r cov1 ft1 corp1 <<<"${last:-0 0 0}"
  found=$(find "$artifacts" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | sort)
  printf 'fuzz: %-15s runs %-9s exec/s %-6s cov %s->%s (+%s) features %s->%s corpus %s->%s  %s\n' \
    "$h" "${runs:-?}" "${secs:-?}" "$cov0" "$cov1" "$((cov1 - cov0))" "$ft0" "$ft1" "$corp0" "$corp1" \
    "$([ "$rc" -eq 0 ] && [ -z "$found" ] && echo ok || echo "FAILED (exit $rc)")"
  if [ "$rc" -ne 0 ] || [ -n "$found" ]; then
    status=1
    grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error:|FUZZ_CHECK failed|PANIC|ALARM|.*out-of-memory)' "$log" | head -5 | sed 's/^/  /'
    for f in $found; do echo "  reproducer: $f   (replay: $bin $f)"; done
    echo "  log: $log"
  fi
  for known in fuzz/crashes/"$h"-* fuzz/corpus/"$h"/regress-*; do
    [ -f "$known" ] || continue
    replay_rc=0
    TMPDIR="$WORK/tmp/$h" UBSAN_OPTIONS="$UBSAN_REPLAY" "$bin" -timeout=10 "$known" >"$WORK/replay.log" 2>&1 ||
      replay_rc=$?
    case "$known:$replay_rc" in
      fuzz/crashes/"$h"-lib-*:0) echo "fuzz: $h library finding no longer crashes (fixed upstream?): $known" ;;
      fuzz/crashes/"$h"-lib-*:*) echo "fuzz: $h library finding still crashes in process, contained by the server: $known"; replay_rc=0 ;;
      fuzz/crashes/*:0) echo "fuzz: $h open finding no longer crashes: $known (move it to fuzz/corpus/$h/regress-*)" ;;
      fuzz/crashes/*:*) status=1; echo "fuzz: $h open finding still crashes: $known   (replay: $bin $known)" ;;
      *:0) ;;
      *) status=1; echo "fuzz: $h REGRESSION: $known crashes again   (replay: $bin $known)" ;;
    esac
    if [ "$replay_rc" -ne 0 ]; then
      grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error:|FUZZ_CHECK failed|  level|PANIC|Bail out|ALARM)' \
        "$WORK/replay.log" | head -3 | sed 's/^/  /'
    fi
  done
done
echo "fuzz: runs $(( $(date +%s) - t1 )) s"
exit "$status"
