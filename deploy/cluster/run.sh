#!/usr/bin/env bash
# N sipi instances behind HAProxy, with Varnish in front, all on 127.0.0.1 (ports from a free
# range), serving the shipped samples from one image directory with one shared derivative cache.
#
#   deploy/cluster/run.sh [--instances 3] [--sipi build/sipi] [--images images/samples]
#                         [--workdir DIR] [--state FILE]
#
# Prints the URLs, writes FILE (shell variables: ports, pids, config paths) when --state is given,
# and runs until SIGINT/SIGTERM; then stops exactly the processes it started (sipi instances
# drain first) and removes its working directory unless --workdir was given.
# Needs haproxy and varnish (Debian 12: apt-get install haproxy varnish).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
N=3 SIPI=$REPO/build/sipi IMAGES=$REPO/images/samples WORK="" STATE=""
while (($#)); do
  case $1 in
    --instances) N=$2; shift 2 ;;
    --sipi) SIPI=$2; shift 2 ;;
    --images) IMAGES=$2; shift 2 ;;
    --workdir) WORK=$2; shift 2 ;;
    --state) STATE=$2; shift 2 ;;
    -h | --help) sed -n '2,/^set -e/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
for t in haproxy varnishd; do
  command -v "$t" > /dev/null || [[ -x /usr/sbin/$t ]] || { echo "run.sh: needs $t (apt-get install haproxy varnish)" >&2; exit 2; }
done
export PATH=$PATH:/usr/sbin
[[ -x $SIPI ]] || { echo "run.sh: no sipi binary at $SIPI" >&2; exit 2; }
KEEP=1
[[ -n $WORK ]] || { WORK=$(mktemp -d /tmp/sipi-cluster.XXXXXX); KEEP=0; }
mkdir -p "$WORK/cache"
IMAGES=$(cd "$IMAGES" && pwd)
SIPI=$(readlink -f "$SIPI")

free_port() { /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PIDS=()
stop_all() {
  trap - EXIT INT TERM
  local p
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2> /dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2> /dev/null || true; done
  ((KEEP)) || rm -rf "$WORK"
}
trap stop_all EXIT
trap 'exit 0' INT TERM

wait_for() {  # URL PID what
  local i
  for ((i = 0; i < 100; i++)); do
    kill -0 "$2" 2> /dev/null || { echo "run.sh: $3 exited; see $WORK" >&2; exit 1; }
    curl -sf -o /dev/null "$1" && return 0
    sleep 0.1
  done
  echo "run.sh: $3 did not answer $1" >&2
  exit 1
}

state=""
servers=""
for ((i = 1; i <= N; i++)); do
  port=$(free_port)
  cat > "$WORK/sipi-$i.config.lua" << CFG
sipi = {
  port = $port, bind_address = '127.0.0.1',
  imgroot = '$IMAGES', prefix_as_path = true,
  trusted_proxies = '127.0.0.1',   -- HAProxy's address: its X-Forwarded-* count, nobody else's
  initscript = '$HERE/cluster.init.lua',
  cache_dir = '$WORK/cache', cache_size = '200M',   -- one cache, shared by every instance
  drain_grace = 2,   -- > HAProxy's inter 500ms × fall 2
  drain_timeout = 20,
  loglevel = 'WARNING',
}
CFG
  "$SIPI" server --config "$WORK/sipi-$i.config.lua" > "$WORK/sipi-$i.log" 2>&1 &
  PIDS+=($!)
  wait_for "http://127.0.0.1:$port/health/ready" "$!" "sipi instance $i"
  servers+="    server s$i 127.0.0.1:$port"$'\n'
  state+="SIPI_PORT_$i=$port"$'\n'"SIPI_PID_$i=$!"$'\n'"SIPI_CONFIG_$i=$WORK/sipi-$i.config.lua"$'\n'
done

HAPROXY_PORT=$(free_port)
VARNISH_PORT=$(free_port)
awk -v s="$servers" '{ if ($0 == "@SERVERS@") printf "%s", s; else print }' "$HERE/haproxy.cfg.in" |
  sed "s/@HAPROXY_PORT@/$HAPROXY_PORT/" > "$WORK/haproxy.cfg"
haproxy -W -db -f "$WORK/haproxy.cfg" > "$WORK/haproxy.log" 2>&1 &
PIDS+=($!)
wait_for "http://127.0.0.1:$HAPROXY_PORT/health" "$!" "haproxy"
sed "s/@HAPROXY_PORT@/$HAPROXY_PORT/" "$HERE/varnish.vcl" > "$WORK/varnish.vcl"
# -j none: no privilege separation (runs as the calling user; fine on loopback for a demo/test).
varnishd -F -j none -n "$WORK/varnish" -a "127.0.0.1:$VARNISH_PORT" -f "$WORK/varnish.vcl" -s malloc,64m \
  -T 127.0.0.1:0 > "$WORK/varnish.log" 2>&1 &
PIDS+=($!)
wait_for "http://127.0.0.1:$VARNISH_PORT/health" "$!" "varnishd"

state+="HAPROXY_PORT=$HAPROXY_PORT"$'\n'"VARNISH_PORT=$VARNISH_PORT"$'\n'"WORK=$WORK"$'\n'"INSTANCES=$N"$'\n'
[[ -n $STATE ]] && printf '%s' "$state" > "$STATE"
echo "cluster: $N sipi instances behind HAProxy http://127.0.0.1:$HAPROXY_PORT, Varnish http://127.0.0.1:$VARNISH_PORT"
echo "cluster: try http://127.0.0.1:$VARNISH_PORT/iiif/chart.jp2/info.json (logs in $WORK); Ctrl-C stops it"
while :; do sleep 1; done
