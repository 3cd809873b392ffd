#!/usr/bin/env bash
# Runs the image built by build.sh, waits until it is healthy, fetches info.json, a tile, a page
# of the demo viewer and a Lua route through the published port, checks the answers, and stops
# it (SIGTERM, drain). Prints the start time and the image size.
#
#   deploy/container/smoke.sh [--tag sipi:local]
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
TAG=sipi:local
[[ ${1:-} == --tag ]] && TAG=$2
. "$HERE/engine.sh"
[[ $ENGINE == podman ]] || { echo "smoke.sh: needs podman to run the image" >&2; exit 2; }
engine_probe "$TAG"
WORK=$(mktemp -d /tmp/sipi-smoke.XXXXXX)
NAME=sipi-smoke-$$
cleanup() { podman "${ENGINE_FLAGS[@]}" rm -f "$NAME" > /dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT
mkdir -p "$WORK/config" "$WORK/scripts"
# The shipped container configuration plus one Lua route.
cp "$REPO/deploy/docker.config.lua" "$WORK/config/sipi.config.lua"
cat >> "$WORK/config/sipi.config.lua" << 'LUA'
routes = { { method = 'GET', route = '/smoke', script = 'smoke.lua' } }
LUA
cat > "$WORK/scripts/smoke.lua" << 'LUA'
server.sendHeader('Content-Type', 'text/plain')
server.print('smoke ok ' .. _VERSION)
LUA
chmod -R a+rX "$WORK"
PORT=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
t0=$(date +%s.%N)
podman "${ENGINE_FLAGS[@]}" run -d --name "$NAME" "${RUN_FLAGS[@]}" -p "127.0.0.1:$PORT:1024" \
  -v "$WORK/config:/sipi/config:ro" -v "$WORK/scripts:/sipi/scripts:ro" "$TAG" > /dev/null
base=http://127.0.0.1:$PORT
for ((i = 0; i < 300; i++)); do
  curl -sf -o /dev/null "$base/health/ready" && break
  [[ $(podman "${ENGINE_FLAGS[@]}" inspect -f '{{.State.Running}}' "$NAME") == true ]] ||
    { podman "${ENGINE_FLAGS[@]}" logs "$NAME" | tail -20; echo "smoke: the container exited" >&2; exit 1; }
  sleep 0.1
done
started=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
fail() { echo "smoke: FAIL: $*" >&2; podman "${ENGINE_FLAGS[@]}" logs "$NAME" | tail -20 >&2; exit 1; }
# The image's own HEALTHCHECK command, run now instead of waiting for its interval.
podman "${ENGINE_FLAGS[@]}" healthcheck run "$NAME" > /dev/null 2>&1 || fail "HEALTHCHECK (sipi health) did not pass"
info=$(curl -sf "$base/samples/chart.jp2/info.json") || fail "info.json"
grep -q "\"id\":\"$base/samples/chart.jp2\"" <<< "$info" || fail "info.json id: $info"
curl -sf -o "$WORK/tile.jpg" -w '%{content_type}' "$base/samples/chart.jp2/0,0,256,256/256,/0/default.jpg" | grep -q image/jpeg || fail "tile"
[[ $(head -c 2 "$WORK/tile.jpg" | od -An -tx1 | tr -d ' ') == ffd8 ]] || fail "the tile is not a JPEG"
[[ $(curl -sf "$base/smoke") == "smoke ok Lua 5.4" ]] || fail "Lua route"
curl -sf -o /dev/null "$base/server/" || fail "demo viewer page"
t1=$(date +%s.%N)
podman "${ENGINE_FLAGS[@]}" stop -t 30 "$NAME" > /dev/null
stopped=$(awk -v a="$t1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
code=$(podman "${ENGINE_FLAGS[@]}" inspect -f '{{.State.ExitCode}}' "$NAME")
[[ $code == 0 ]] || fail "exit code $code after SIGTERM"
size=$(podman "${ENGINE_FLAGS[@]}" image inspect "$TAG" --format '{{.Size}}')
echo "smoke: PASS: $TAG ($((size / 1048576)) MiB) healthy ${started} s after run; info.json, tile, Lua route and viewer answered; stopped in ${stopped} s, exit 0"
