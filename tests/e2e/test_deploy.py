"""Deployment files: the systemd unit, the Dockerfile and the configurations they install.

These tests need no systemd and no docker daemon: the unit is checked with
`systemd-analyze verify`, the Dockerfile is read as text and compared with what the built
binary links against (ldd, dpkg) and with what CMakeLists.txt compiles, and both shipped
configurations are loaded by the real binary on a loopback port.
"""
import json
import os
import re
import shlex
import shutil
import subprocess
import time
import urllib.request

import pytest

from conftest import SIPI_BIN, free_port

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
UNIT = os.path.join(REPO, "deploy", "sipi.service")
DOCKERFILE = os.path.join(REPO, "Dockerfile")
DOCKERIGNORE = os.path.join(REPO, ".dockerignore")
HOST_CONFIG = os.path.join(REPO, "deploy", "sipi.config.lua")
DOCKER_CONFIG = os.path.join(REPO, "deploy", "docker.config.lua")

# Always present in debian:bookworm-slim (essential), so not listed in the Dockerfile.
BASE_IMAGE_PACKAGES = {"libc6"}


# --- parsing helpers -------------------------------------------------------------------------

def read(path):
    with open(path) as f:
        return f.read()


def unit_settings():
    """[(section, key, value)] of the unit, in order (keys may repeat)."""
    out, section = [], None
    for line in read(UNIT).splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        out.append((section, key.strip(), value.strip()))
    return out


def unit_value(key, section="Service"):
    values = [v for s, k, v in unit_settings() if s == section and k == key]
    assert values, f"{key}= missing from [{section}]"
    return values[-1]


def dockerfile_instructions():
    """[(stage name, INSTRUCTION, arguments)] with continuations joined and comments dropped."""
    logical, cur = [], ""
    for raw in read(DOCKERFILE).splitlines():
        line = raw.strip()
        if line.startswith("#") or (not line and not cur):
            continue
        if line.endswith("\\"):
            cur += line[:-1] + " "
            continue
        cur += line
        if cur.strip():
            logical.append(cur.strip())
        cur = ""
    out, stage = [], None
    for line in logical:
        instr, _, args = line.partition(" ")
        instr = instr.upper()
        if instr == "FROM":
            m = re.search(r"\bAS\s+(\S+)", args, re.I)
            stage = m.group(1) if m else None
        out.append((stage, instr, args.strip()))
    return out


def stage(name):
    items = [(i, a) for s, i, a in dockerfile_instructions() if s == name]
    assert items, f"Dockerfile has no stage '{name}'"
    return items


def apt_packages(stage_name):
    """Packages of the `apt-get install` in a stage's RUN instructions."""
    pkgs = set()
    for instr, args in stage(stage_name):
        if instr != "RUN":
            continue
        for command in re.split(r"&&|;", args):
            words = shlex.split(command)
            if "apt-get" in words and "install" in words:
                rest = words[words.index("install") + 1:]
                pkgs.update(w for w in rest if not w.startswith("-"))
    return pkgs


def exec_form(args):
    return json.loads(args) if args.startswith("[") else shlex.split(args)


def lua_value(path, key):
    m = re.search(r"^\s*" + re.escape(key) + r"\s*=\s*'?([^',\s]+)'?\s*,", read(path), re.M)
    assert m, f"{key} not set in {path}"
    return m.group(1)


def owning_packages(paths):
    """{path: package} for the files dpkg knows (tries the /usr-merged spellings too)."""
    candidates = {}
    for p in paths:
        forms = {p, os.path.realpath(p)}
        for f in list(forms):
            forms.add(f[4:] if f.startswith("/usr/") else "/usr" + f)
        candidates[p] = forms
    every = sorted({f for forms in candidates.values() for f in forms})
    r = subprocess.run(["dpkg", "-S", *every], capture_output=True, text=True)
    owner = {}
    for line in r.stdout.splitlines():
        if line.startswith("diversion"):
            continue
        pkgs, _, file = line.partition(": ")
        owner[file.strip()] = pkgs.split(",")[0].split(":")[0].strip()
    result = {}
    for p, forms in candidates.items():
        for f in forms:
            if f in owner:
                result[p] = owner[f]
                break
    return result


def linked_libraries():
    """(direct sonames, {soname: path} of the whole closure) of the sipi binary."""
    r = subprocess.run(["ldd", SIPI_BIN], capture_output=True, text=True, check=True)
    assert "not found" not in r.stdout, r.stdout
    paths = {}
    for line in r.stdout.splitlines():
        m = re.match(r"\s*(\S+)\s+=>\s+(/\S+)", line)
        if m:
            paths[m.group(1)] = m.group(2)
    d = subprocess.run(["readelf", "-d", SIPI_BIN], capture_output=True, text=True, check=True)
    direct = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", d.stdout)
    assert direct, d.stdout
    return direct, paths


def start(config, args, imgroot):
    port = free_port()
    log = open(os.path.join(os.path.dirname(imgroot), f"sipi-{port}.log"), "w+")
    proc = subprocess.Popen([SIPI_BIN, "server", *config, "--serverport", str(port), "--bind", "127.0.0.1",
                             "--imgroot", imgroot, *args], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 10
    while time.time() < deadline:
        if proc.poll() is not None:
            log.seek(0)
            pytest.fail(f"sipi exited with {proc.returncode}:\n{log.read()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as r:
                return proc, port, json.loads(r.read())
        except OSError:
            time.sleep(0.05)
    proc.kill()
    pytest.fail("sipi did not answer /health")


def stop(proc):
    proc.terminate()
    try:
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


def has_health_command():
    r = subprocess.run([SIPI_BIN, "--help"], capture_output=True, text=True)
    return re.search(r"^\s+health\b", r.stdout, re.M) is not None


# --- systemd unit ----------------------------------------------------------------------------

def test_unit_passes_systemd_analyze_verify(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (Debian package systemd)")
    # verify insists that ExecStart's binary exists: point it at the binary under test.
    exe = unit_value("ExecStart").split()[0]
    text = read(UNIT).replace(exe, os.path.abspath(SIPI_BIN))
    unit = tmp_path / "sipi.service"
    unit.write_text(text)
    r = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    # It exits 0 on unknown keys and bad values too, with a warning: any output is a failure.
    assert r.returncode == 0 and r.stdout.strip() == "" and r.stderr.strip() == "", r.stdout + r.stderr


def test_unit_runs_sipi_unprivileged_with_a_drain_window():
    exec_start = unit_value("ExecStart").split()
    assert exec_start[:2] == ["/usr/local/bin/sipi", "server"]
    assert unit_value("User") == "sipi"
    assert unit_value("KillSignal") == "SIGTERM"
    assert unit_value("Restart") == "on-failure"
    assert unit_value("ProtectSystem") == "strict"
    assert unit_value("CapabilityBoundingSet") == ""
    assert unit_value("NoNewPrivileges") == "yes"
    # The stop timeout leaves room for sipi's drain (drain_timeout in the installed config).
    stop_s = int(re.fullmatch(r"(\d+)s?", unit_value("TimeoutStopSec")).group(1))
    assert stop_s > int(lua_value(HOST_CONFIG, "drain_timeout"))
    # The derivative cache is the directory systemd creates and lets the service write.
    cache = "/var/cache/" + unit_value("CacheDirectory")
    env = [v for s, k, v in unit_settings() if k == "Environment"]
    assert f"SIPI_CACHE_DIR={cache}" in env
    assert lua_value(HOST_CONFIG, "cache_dir") == cache
    assert int(unit_value("LimitNOFILE")) >= 16384


def test_unit_config_path_is_a_shipped_file():
    args = unit_value("ExecStart").split()
    config = args[args.index("--config") + 1]
    assert config == "/etc/sipi/sipi.config.lua"
    # The unit's install notes copy deploy/sipi.config.lua there.
    m = re.search(r"install\s.*?(deploy/\S+)\s+" + re.escape(config), read(UNIT))
    assert m, "the unit's header does not say which file becomes " + config
    assert os.path.join(REPO, m.group(1)) == HOST_CONFIG and os.path.isfile(HOST_CONFIG)


# --- Dockerfile ------------------------------------------------------------------------------

def test_runtime_packages_cover_every_linked_library():
    for tool in ("ldd", "readelf", "dpkg"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    runtime = apt_packages("runtime")
    direct, paths = linked_libraries()
    owner = owning_packages(paths.values())
    # Each library sipi links against directly comes from a package the runtime stage names.
    for soname in direct:
        pkg = owner.get(paths[soname])
        assert pkg, f"no Debian package owns {paths[soname]} ({soname})"
        assert pkg in runtime or pkg in BASE_IMAGE_PACKAGES, \
            f"{soname} is in package {pkg}, missing from the Dockerfile's runtime apt-get install"
    # The libraries those pull in come with them as dependencies.
    if shutil.which("apt-cache") is None:
        return
    q = subprocess.run(["dpkg-query", "-W", "-f=${Package} ${Status}\n", *sorted(runtime)],
                       capture_output=True, text=True)
    installed = [line.split()[0] for line in q.stdout.splitlines() if line.endswith(" installed")]
    r = subprocess.run(["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests", "--no-conflicts",
                        "--no-breaks", "--no-replaces", "--no-enhances", *installed],
                       capture_output=True, text=True, timeout=60)
    closure = {line.strip().split(":")[0] for line in r.stdout.splitlines() if line and not line.startswith(" ")}
    closure |= BASE_IMAGE_PACKAGES
    missing = {so: owner.get(p) for so, p in paths.items() if owner.get(p) not in closure}
    assert not missing, f"libraries whose packages the runtime stage would not install: {missing}"


def test_runtime_entrypoint_config_and_healthcheck():
    runtime = stage("runtime")
    copies = {}
    for instr, args in runtime:
        if instr == "COPY":
            words = exec_form(args)
            words = [w for w in words if not w.startswith("--")] if not args.startswith("[") else words
            copies[words[-1]] = words[0]
    from_build = [exec_form(a) for i, a in runtime if i == "COPY" and a.startswith("--from=build")]
    assert from_build, "the runtime stage copies no binary from the build stage"
    binary = from_build[0][-1]

    entry = exec_form([a for i, a in runtime if i == "ENTRYPOINT"][-1])
    cmd = exec_form([a for i, a in runtime if i == "CMD"][-1])
    argv = entry + cmd
    assert binary in argv and argv[argv.index(binary) + 1] == "server"
    config = next(a.split("=", 1)[1] for a in argv if a.startswith("--config="))
    assert config == "/sipi/config/sipi.config.lua"
    assert config in copies, f"nothing is copied to {config}"
    assert os.path.join(REPO, copies[config]) == DOCKER_CONFIG and os.path.isfile(DOCKER_CONFIG)

    port = lua_value(DOCKER_CONFIG, "port")
    assert [a for i, a in runtime if i == "EXPOSE"] == [port]
    health = [a for i, a in runtime if i == "HEALTHCHECK"][-1]
    hc = exec_form(health[health.index("CMD") + 3:].strip())
    assert hc == [binary, "health", "--port", port]
    assert [a for i, a in runtime if i == "STOPSIGNAL"] == ["SIGTERM"]
    user = [a for i, a in runtime if i == "USER"][-1]
    assert not user.startswith(("0", "root"))
    assert lua_value(DOCKER_CONFIG, "imgroot") == "/sipi/images"
    assert lua_value(DOCKER_CONFIG, "cache_dir") == "/sipi/cache"
    assert lua_value(DOCKER_CONFIG, "docroot") == "/sipi/server"
    assert lua_value(DOCKER_CONFIG, "bind_address") == "0.0.0.0"


def test_build_stage_copies_everything_cmake_compiles():
    copied = []
    for instr, args in stage("build"):
        if instr == "COPY":
            copied.append(os.path.normpath(exec_form(args)[0]))
        if instr == "RUN" and "cmake -S" in args:
            assert "-DBUILD_TESTING=OFF" in args and "-DCMAKE_BUILD_TYPE=Release" in args
    # What the default configuration reads: lines outside if() blocks (tests, fuzzing and
    # sanitizers are options the image leaves off).
    top, depth = [], 0
    for line in read(os.path.join(REPO, "CMakeLists.txt")).splitlines():
        line = line.split("#", 1)[0]
        if re.match(r"\s*if\s*\(", line):
            depth += 1
        elif re.match(r"\s*endif\s*\(", line):
            depth -= 1
        elif depth == 0:
            top.append(line)
    cmake = "\n".join(top)
    # Files of the tree (a system header named in find_path is the base image's business).
    referenced = {p for p in re.findall(r"[\w./-]+\.(?:cpp|cc|c|h|hpp|proto|cmake)\b", cmake)
                  if os.path.exists(os.path.join(REPO, p))}
    referenced |= set(re.findall(r"add_subdirectory\(\s*([\w./-]+)", cmake))
    assert referenced
    for path in referenced:
        assert any(path == c or path.startswith(c + "/") for c in copied), \
            f"CMakeLists.txt uses {path}, which the Dockerfile's build stage does not copy ({copied})"
    for c in copied:
        assert os.path.exists(os.path.join(REPO, c)), c


def test_dockerignore_keeps_build_output_out_of_the_context():
    entries = {line.strip().rstrip("/") for line in read(DOCKERIGNORE).splitlines()
               if line.strip() and not line.startswith("#")}
    for e in (".git", "build", "build-*", "node_modules", "bench/.images", "server/vendor"):
        assert e in entries, e


# --- the shipped configurations load ---------------------------------------------------------

@pytest.mark.parametrize("config_file, flag_form", [(DOCKER_CONFIG, "equals"), (HOST_CONFIG, "separate")])
def test_shipped_config_serves(tmp_path, config_file, flag_form):
    imgroot = tmp_path / "images"
    (imgroot / "samples").mkdir(parents=True)
    shutil.copy(os.path.join(REPO, "images", "samples", "chart.jpg"), imgroot / "samples" / "chart.jpg")
    docroot = tmp_path / "server"
    docroot.mkdir()
    (docroot / "index.html").write_text("<p>demo</p>")
    # The container's CMD spells it --config=FILE; the unit --config FILE.
    config = [f"--config={config_file}"] if flag_form == "equals" else ["--config", config_file]
    args = ["--cache-dir", str(tmp_path / "cache")]
    if re.search(r"^fileserver\s*=", read(config_file), re.M):
        args += ["--docroot", str(docroot)]
    proc, port, health = start(config, args, str(imgroot))
    try:
        assert health["status"] == "ok"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/samples/chart.jpg/info.json", timeout=10) as r:
            info = json.loads(r.read())
        assert info["width"] > 0 and info["type"] == "ImageService3"
        if "--docroot" in args:
            route = lua_value(config_file, "wwwroute")
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{route}/index.html", timeout=10) as r:
                assert b"demo" in r.read()
        if has_health_command():
            ok = subprocess.run([SIPI_BIN, "health", "--port", str(port)], capture_output=True, timeout=10)
            assert ok.returncode == 0, ok.stdout + ok.stderr
    finally:
        stop(proc)
    if has_health_command():
        down = subprocess.run([SIPI_BIN, "health", "--port", str(port)], capture_output=True, timeout=10)
        assert down.returncode != 0


def test_build_stage_installs_every_library_setup_installs():
    # The image is built from the Dockerfile alone: each -dev package the build needs
    # (scripts/setup.sh's list, less GoogleTest) must be in its build stage.
    setup = read(os.path.join(REPO, "scripts/setup.sh"))
    listed = setup[setup.index("PACKAGES=("):setup.index(")", setup.index("PACKAGES=("))]
    wanted = {p for p in listed.split() if p.endswith("-dev") and p != "libgtest-dev"}
    build = " ".join(args for instr, args in stage("build") if instr == "RUN")
    missing = {p for p in wanted if p not in build.split()}
    assert not missing, f"the Dockerfile's build stage does not install {sorted(missing)}"
