"""Command line and configuration: help, version, errors that name the key, precedence, drain."""
import os
import signal
import subprocess
import threading

import pytest

from conftest import SIPI_BIN, free_port, start_server, stop_server, write_config


def run(*args, env=None):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([SIPI_BIN, *args], capture_output=True, text=True, timeout=30, env=e)


def test_version_and_help():
    r = run("--version")
    assert r.returncode == 0 and r.stdout.startswith("sipi ")
    r = run("--help")
    assert r.returncode == 0 and "server" in r.stdout
    r = run("server", "--help")
    assert r.returncode == 0 and "--config" in r.stdout


def test_bare_sipi_is_a_usage_error():
    r = run()
    assert r.returncode != 0


@pytest.mark.parametrize("body,needle", [
    ("sipi = { port = 'abc' }", "sipi.port"),
    ("sipi = { imgroot = 42 }", "sipi.imgroot"),
    ("sipi = { prefix_as_path = 'yes' }", "sipi.prefix_as_path"),
    ("sipi = { jpeg_quality = 500 }", "sipi.jpeg_quality"),
    ("sipi = { imgroot = '/does/not/exist' }", "sipi.imgroot"),
    ("sipi = { port = 70000 }", "sipi.port"),
    ("sipi = { scaling_quality = { jpeg = 'ultra' } }", "sipi.scaling_quality.jpeg"),
    ("sipi = {\n  port = 1024,\n  imgroot = = 'x'\n}", ":3:"),
    ("print('no sipi table')", "sipi"),
])
def test_bad_config_names_the_key(tmp_path, body, needle):
    cfg = tmp_path / "bad.lua"
    cfg.write_text(body)
    r = run("server", "--config", str(cfg))
    assert r.returncode != 0
    lines = [l for l in r.stderr.strip().splitlines() if l]
    assert len(lines) == 1, r.stderr
    assert needle in lines[0], lines[0]


def test_missing_config_file(tmp_path):
    r = run("server", "--config", str(tmp_path / "nope.lua"))
    assert r.returncode != 0 and "nope.lua" in r.stderr


def test_flag_overrides_env_overrides_config(tmp_path, imgroot):
    cfg_port, env_port, flag_port = free_port(), free_port(), free_port()
    cfg = write_config(str(tmp_path), imgroot, cfg_port)

    def serving_port(args, env):
        e = dict(os.environ)
        e.update(env)
        p = subprocess.Popen([SIPI_BIN, "server", "--config", cfg, *args], stderr=subprocess.PIPE, text=True, env=e)
        try:
            for line in p.stderr:
                if '"listening"' in line:
                    return int(line.split('"port":')[1].split(",")[0])
        finally:
            p.terminate()
            p.wait(timeout=10)

    assert serving_port([], {}) == cfg_port
    assert serving_port([], {"SIPI_SERVERPORT": str(env_port)}) == env_port
    assert serving_port(["--serverport", str(flag_port)], {"SIPI_SERVERPORT": str(env_port)}) == flag_port


def test_port_in_use_fails_cleanly(tmp_path, imgroot, server):
    cfg = write_config(str(tmp_path), imgroot, server.port)
    r = run("server", "--config", cfg)
    assert r.returncode == 1
    assert "cannot listen" in r.stderr


def test_sigterm_drains_in_flight_requests(tmp_path, imgroot):
    srv = start_server(str(tmp_path), imgroot)
    try:
        results = {}

        def slow():
            # A large upscaled PNG takes long enough to be in flight when SIGTERM arrives.
            results["r"] = srv.request("/grid.png/full/^!2800,2100/45/default.png", timeout=60)

        t = threading.Thread(target=slow)
        t.start()
        import time
        time.sleep(0.3)
        srv.proc.send_signal(signal.SIGTERM)
        t.join(60)
        status, headers, body = results["r"]
        assert status == 200 and len(body) > 1000
        assert srv.proc.wait(timeout=20) == 0
        assert '"draining"' in srv.log()
    finally:
        stop_server(srv)


def test_sigterm_turns_unready_and_keeps_serving_through_the_grace(tmp_path, imgroot):
    # A load balancer polls /health/ready: from SIGTERM on it answers 503, while requests are
    # still served for drain_grace seconds (new connections included); then the server drains
    # and exits 0.
    import time
    srv = start_server(str(tmp_path), imgroot, extra="drain_grace = 2,")
    try:
        status, headers, body = srv.request("/health/ready")
        assert (status, body) == (200, b'{"status":"ready"}') and headers["cache-control"] == "no-store"
        t0 = time.monotonic()
        srv.proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        status, _, body = srv.request("/health/ready")
        assert (status, body) == (503, b'{"status":"draining"}')
        assert srv.request("/health")[0] == 200  # alive, only not ready
        assert srv.request("/grid.png/full/64,/0/default.png")[0] == 200  # a new connection, still served
        assert b"sipi_ready 0" in srv.request("/metrics")[2]
        assert srv.proc.wait(timeout=20) == 0
        assert time.monotonic() - t0 >= 2
    finally:
        stop_server(srv)
