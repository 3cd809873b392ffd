"""Starts the real sipi binary on a free loopback port with a config written to a temp dir."""
import re
import http.client
import json
import os
import socket
import subprocess
import tempfile
import time

import pytest

import fixtures

SIPI_BIN = os.environ.get("SIPI_BIN", os.path.join(os.path.dirname(__file__), "..", "..", "build", "sipi"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, proc, port, log_path, workdir):
        self.proc, self.port, self.log_path, self.workdir = proc, port, log_path, workdir

    def request(self, path, method="GET", headers=None, timeout=30):
        """Sends `path` exactly as given (no normalisation). Returns (status, headers, body)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            hdrs = {"Host": f"127.0.0.1:{self.port}"}
            hdrs.update(headers or {})
            for k, v in hdrs.items():
                if v is not None:
                    conn.putheader(k, v)
            conn.endheaders()
            r = conn.getresponse()
            body = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, body
        finally:
            conn.close()

    def get_json(self, path, **kw):
        status, headers, body = self.request(path, **kw)
        assert status == 200, (path, status, body)
        return json.loads(body), headers

    def alive(self):
        return self.proc.poll() is None

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()


def write_config(workdir, imgroot, port, extra=""):
    cfg = os.path.join(workdir, "sipi.config.lua")
    with open(cfg, "w") as f:
        f.write(f"""
sipi = {{
  port = {port},
  bind_address = '127.0.0.1',
  imgroot = '{imgroot}',
  prefix_as_path = true,
  jpeg_quality = 90,
  nthreads = 2,
  max_width = 4000,
  max_height = 3000,
  max_area = 6000000,
  header_timeout = 2,
  keep_alive_timeout = 5,
  drain_timeout = 10,
  cache_dir = '{workdir}/cache-{port}',
  {extra}
}}
""")
    return cfg


def start_server(workdir, imgroot, extra="", args=(), env_overrides=None):
    """env_overrides: variables to set, or to remove where the value is None."""
    port = free_port()
    cfg = write_config(workdir, imgroot, port, extra)
    log_path = os.path.join(workdir, f"sipi-{port}.log")
    log = open(log_path, "w")
    env = dict(os.environ, SIPI_LUA_TIMEOUT_MS="1000", SIPI_LUA_MEMORY_LIMIT=str(32 * 1024 * 1024))
    for k, v in (env_overrides or {}).items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    proc = subprocess.Popen([SIPI_BIN, "server", "--config", cfg, *args], stdout=log, stderr=subprocess.STDOUT, env=env)
    deadline = time.time() + 15
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"sipi exited with {proc.returncode}:\n" + open(log_path).read())
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.05)
    else:
        proc.kill()
        raise RuntimeError("sipi did not start:\n" + open(log_path).read())
    return Server(proc, port, log_path, workdir)


def stop_server(server):
    if server.proc.poll() is None:
        server.proc.terminate()
        try:
            server.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait()


@pytest.fixture(scope="session")
def workdir():
    with tempfile.TemporaryDirectory(prefix="sipi-e2e-") as d:
        yield d


@pytest.fixture(scope="session")
def imgroot(workdir):
    root = os.path.join(workdir, "images")
    os.makedirs(root)
    fixtures.make_all(root)
    # Outside the root, and a symlink pointing at it from inside.
    with open(os.path.join(workdir, "secret.txt"), "w") as f:
        f.write("TOP SECRET")
    os.symlink(os.path.join(workdir, "secret.txt"), os.path.join(root, "escape.png"))
    os.symlink(os.path.join(root, "grid.png"), os.path.join(root, "inside_link.png"))
    return root


@pytest.fixture(scope="session")
def server(workdir, imgroot):
    srv = start_server(workdir, imgroot)
    yield srv
    stop_server(srv)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.when == "call" and rep.failed:
        srv = item.funcargs.get("server")
        if srv is not None:
            tail = srv.log().splitlines()[-30:]
            rep.sections.append(("sipi log (last 30 lines)", "\n".join(tail)))


def metric(server, name):
    """An unlabelled series of the server's /metrics, which must be there."""
    status, _, body = server.request("/metrics")
    assert status == 200
    m = re.search(r"^" + re.escape(name) + r" (\S+)$", body.decode(), re.M)
    assert m, name
    return float(m.group(1))
