# Sourced by build.sh and smoke.sh: picks podman (else buildah) and the flags this machine needs.
# ENGINE_FLAGS go before the subcommand, RUN_FLAGS after `run`/`build`.
if command -v podman > /dev/null; then
  ENGINE=podman
elif command -v buildah > /dev/null; then
  ENGINE=buildah
else
  echo "container: needs podman or buildah (apt-get install podman)" >&2
  exit 2
fi
ENGINE_FLAGS=() RUN_FLAGS=()
# engine_probe IMAGE: runs `true` in IMAGE with the defaults, else with runc + cgroupfs and
# lowered ulimits (sandboxes with hybrid cgroups that forbid raising rlimits).
engine_probe() {
  [[ $ENGINE == podman ]] || { RUN_FLAGS=(--ulimit nofile=1024:1024 --ulimit nproc=1024:1024); return 0; }
  if podman run --rm --entrypoint true "$1" > /dev/null 2>&1; then return 0; fi
  ENGINE_FLAGS=(--runtime /usr/sbin/runc --cgroup-manager=cgroupfs)
  RUN_FLAGS=(--ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
  podman "${ENGINE_FLAGS[@]}" run --rm "${RUN_FLAGS[@]}" --entrypoint true "$1" > /dev/null 2>&1 && return 0
  echo "container: podman cannot run $1 here, with or without runc/cgroupfs" >&2
  exit 1
}
