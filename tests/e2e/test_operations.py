"""Operations: /health, `sipi health`, /metrics, admission lanes and shedding, the decode-memory
budget, and what the access log may not contain."""
import json
import re
import subprocess
import threading
import time

import pytest

from conftest import SIPI_BIN, free_port, start_server, stop_server

# Label values are quoted strings that may hold '}' (SIPI's route template "/{*rest}").
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[^}"]|"(?:[^"\\]|\\.)*")*\})? (-?[0-9.e+Inf-]+|NaN)$')


def parse_metrics(text):
    """Prometheus text format → {(name, labels): value}; fails on any malformed line."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            assert line == "" or line.startswith("# HELP ") or line.startswith("# TYPE "), line
            continue
        m = SAMPLE.match(line)
        assert m, f"malformed metrics line: {line!r}"
        out[(m.group(1), m.group(2) or "")] = float(m.group(3))
    return out


def metric(srv, name, labels=""):
    status, headers, body = srv.request("/metrics")
    assert status == 200 and headers["content-type"].startswith("text/plain")
    return parse_metrics(body.decode()).get((name, labels), 0.0)


def test_health_endpoint(server):
    status, headers, body = server.request("/health")
    doc = json.loads(body)
    assert status == 200 and doc["status"] == "ok" and doc["version"] and doc["uptime_seconds"] >= 0
    assert headers["cache-control"] == "no-store"


def test_health_command(server):
    ok = subprocess.run([SIPI_BIN, "health", "--port", str(server.port)], capture_output=True, text=True, timeout=10)
    assert ok.returncode == 0, ok.stderr
    down = subprocess.run([SIPI_BIN, "health", "--port", str(free_port())], capture_output=True, text=True, timeout=10)
    assert down.returncode == 1 and down.stderr.startswith("sipi health: ") and len(down.stderr.splitlines()) == 1


def test_metrics_count_requests_by_route_and_status(server):
    before = parse_metrics(server.request("/metrics")[2].decode())
    assert server.request("/grid.png/full/64,/0/default.png")[0] == 200
    assert server.request("/nothing-here.png/info.json")[0] == 404
    after = parse_metrics(server.request("/metrics")[2].decode())
    ok = ("sipi_http_requests_total", '{route="image",status="200"}')
    nf = ("sipi_http_requests_total", '{route="info",status="404"}')
    assert after[ok] == before.get(ok, 0) + 1
    assert after[nf] == before.get(nf, 0) + 1
    hist = ("sipi_http_request_duration_seconds_count", '{route="image",status="200"}')
    inf = ("sipi_http_request_duration_seconds_bucket", '{route="image",status="200",le="+Inf"}')
    assert after[hist] == after[inf] == after[ok]
    assert after[("sipi_http_response_bytes_total", '{route="image",status="200"}')] > 0
    for name in ("process_resident_memory_bytes", "sipi_cache_size_bytes", "sipi_cache_files",
                 "sipi_decode_memory_budget_bytes", "sipi_uptime_seconds", "sipi_header_cache_hits_total"):
        assert (name, "") in after, name
    assert after[("process_resident_memory_bytes", "")] > 1e6
    for lane in ("cheap", "expensive"):
        assert ("sipi_admission_queue_depth", f'{{lane="{lane}"}}') in after
    assert ("sipi_lua_kills_total", '{reason="timeout"}') in after


def test_cache_metrics_move(server):
    url = "/grid.png/10,10,90,90/45,/0/default.png"
    misses = metric(server, "sipi_cache_misses_total")
    hits = metric(server, "sipi_cache_hits_total")
    server.request(url)
    server.request(url)
    assert metric(server, "sipi_cache_misses_total") >= misses + 1
    assert metric(server, "sipi_cache_hits_total") >= hits + 1


SPIN = """
local t = os.clock()
while os.clock() - t < 0.3 do end
server.sendHeader('Content-Type', 'text/plain')
server.print('done')
"""


def slow_server(tmp_path, imgroot, extra):
    scripts = tmp_path / "scripts"
    scripts.mkdir(exist_ok=True)
    (scripts / "spin.lua").write_text(SPIN)
    return start_server(str(tmp_path), imgroot, extra=f"""scriptdir = '{scripts}', {extra}
}}
routes = {{
  {{ method = 'GET', route = '/api/spin', script = 'spin.lua' }},
""")


def fire(srv, path, results, i):
    t = time.time()
    status, headers, _ = srv.request(path, timeout=30)
    results[i] = (status, headers, time.time() - t)


def spin_burst(srv, n):
    """n expensive requests at once, waited for: [(status, headers, seconds)]."""
    results = {}
    threads = [threading.Thread(target=fire, args=(srv, "/api/spin", results, i)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return list(results.values())


def test_expensive_flood_never_starves_tiles_and_is_shed(tmp_path, imgroot):
    srv = slow_server(tmp_path, imgroot, "max_waiting = 0,")
    try:
        results = {}
        threads = [threading.Thread(target=fire, args=(srv, "/api/spin", results, i)) for i in range(4)]
        for t in threads:
            t.start()
        time.sleep(0.15)
        # While the expensive lane is busy, tiles still get the other worker.
        t0 = time.time()
        for _ in range(5):
            assert srv.request("/grid.png/0,0,256,256/128,/0/default.jpg")[0] == 200
        assert time.time() - t0 < 0.5 * 5
        for t in threads:
            t.join()
        statuses = sorted(r[0] for r in results.values())
        assert statuses.count(200) >= 1 and statuses.count(503) >= 1, statuses
        shed = [r for r in results.values() if r[0] == 503]
        assert all(r[1].get("retry-after") == "1" and r[2] < 0.5 for r in shed)  # at once, not after waiting
        assert metric(srv, "sipi_admission_shed_total", '{lane="expensive",reason="queue_full"}') >= 1
        assert srv.alive()
    finally:
        stop_server(srv)


def test_shipped_defaults_queue_a_burst_instead_of_refusing(tmp_path, imgroot):
    # Eight expensive requests at once on two workers: they wait their turn (about 1.2 s), none
    # is refused.
    srv = slow_server(tmp_path, imgroot, "")
    try:
        assert sorted(r[0] for r in spin_burst(srv, 8)) == [200] * 8
        assert metric(srv, "sipi_admission_shed_total", '{lane="expensive",reason="queue_full"}') == 0
        assert metric(srv, "sipi_admission_shed_total", '{lane="expensive",reason="queue_timeout"}') == 0
    finally:
        stop_server(srv)


def test_queue_timeout_sheds_only_after_the_full_wait(tmp_path, imgroot):
    # Twelve requests of 0.3 s on two workers with a 0.5 s queue timeout: those that start in
    # time are served, the others are answered 503 when their wait reaches the timeout (not
    # at once, and not when a worker frees up later), with a Retry-After from the drain rate.
    srv = slow_server(tmp_path, imgroot, "queue_timeout = 0.5,")
    try:
        results = spin_burst(srv, 12)
        served = [r for r in results if r[0] == 200]
        shed = [r for r in results if r[0] != 200]
        assert len(served) >= 2 and shed, sorted(r[0] for r in results)
        assert all(r[0] == 503 and r[2] >= 0.5 for r in shed), [(r[0], round(r[2], 2)) for r in shed]
        assert all(1 <= int(r[1]["retry-after"]) <= 60 for r in shed)
        assert metric(srv, "sipi_admission_shed_total", '{lane="expensive",reason="queue_timeout"}') == len(shed)
        assert metric(srv, "sipi_admission_shed_total", '{lane="expensive",reason="queue_full"}') == 0
    finally:
        stop_server(srv)


def test_decode_memory_budget(tmp_path, imgroot):
    srv = start_server(str(tmp_path), imgroot, extra="max_decode_memory = '8M', cache_size = 0,")
    try:
        assert srv.request("/grid_pyr_deflate.tif/0,0,256,256/256,/0/default.jpg")[0] == 200
        status, _, body = srv.request("/grid_pyr_deflate.tif/full/max/0/default.png")
        assert status == 413 and b"decode.too_large" in body
        assert metric(srv, "sipi_decode_memory_rejected_total", '{reason="too_large"}') == 1
        assert metric(srv, "sipi_decode_memory_used_bytes") == 0  # every reservation given back
        assert srv.alive()
    finally:
        stop_server(srv)


def test_busy_decode_budget_is_503_with_retry_after_5(tmp_path):
    # A full-size decode of a lossless JPEG 2000 holds most of a small budget for seconds; a
    # second one waits a second for the rest, then is told to come back in 5 s (as SIPI).
    import numpy as np
    from PIL import Image
    images = tmp_path / "images"
    images.mkdir()
    rng = np.random.default_rng(3)
    Image.fromarray(rng.integers(0, 256, (3000, 4000, 3), dtype=np.uint8)).save(tmp_path / "noise.png")
    subprocess.run([SIPI_BIN, "convert", str(tmp_path / "noise.png"), str(images / "big.jp2")], check=True,
                   capture_output=True, timeout=120)
    # The estimate of one full decode, from the log line of a server whose budget is too small.
    # (No decoded-tile cache: it would take its share of these budgets.)
    probe = start_server(str(tmp_path), str(images), extra="max_decode_memory = '1M', cache_size = 0, decoded_tile_cache = 0,")
    try:
        assert probe.request("/big.jp2/full/max/0/default.png")[0] == 413
        need = int(re.search(r"needs (\d+) MiB of a 1 MiB decode budget", probe.log()).group(1))
    finally:
        stop_server(probe)
    srv = start_server(str(tmp_path), str(images), extra=f"max_decode_memory = '{need * 3 // 2}M', cache_size = 0, decoded_tile_cache = 0,")
    try:
        first = {}
        t = threading.Thread(target=lambda: first.setdefault("r", srv.request("/big.jp2/full/max/0/default.png", timeout=120)))
        t.start()
        deadline = time.monotonic() + 10
        while metric(srv, "sipi_decode_memory_used_bytes") == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        status, headers, body = srv.request("/big.jp2/full/max/0/default.jpg")
        t.join()
        assert first["r"][0] == 200
        assert status == 503 and b"decode.memory_busy" in body and headers["retry-after"] == "5", (status, body)
        assert metric(srv, "sipi_decode_memory_rejected_total", '{reason="busy"}') == 1
    finally:
        stop_server(srv)


def test_bad_admission_settings_stop_startup(tmp_path, imgroot):
    for extra, key in [("queue_timeout = 0,", "queue_timeout"), ("max_decode_memory = 'lots',", "max_decode_memory"),
                       ("max_waiting = -5,", "max_waiting"), ("decoded_tile_cache = 'lots',", "decoded_tile_cache"),
                       ("drain_grace = -1,", "drain_grace")]:
        with pytest.raises(RuntimeError, match=key):
            start_server(str(tmp_path), imgroot, extra=extra)


def test_access_log_keeps_no_secrets(server):
    server.request("/grid.png/info.json?token=s3cr3t-value&x=1",
                   headers={"Cookie": "session=c00kie-value", "Authorization": "Bearer b3arer-value"})
    log = server.log()
    for secret in ("s3cr3t-value", "c00kie-value", "b3arer-value"):
        assert secret not in log
    line = [l for l in log.splitlines() if "/grid.png/info.json?" in l][-1]
    assert json.loads(line)["path"] == "/grid.png/info.json?token=...&x=..."
