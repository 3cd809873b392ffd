"""Three sipi instances behind HAProxy, Varnish in front (deploy/cluster/run.sh), on 127.0.0.1:
the same bytes and validators from every instance, Varnish hits on repeats of public images and
none on restricted ones, and an instance restarted under load (SIGTERM, start again) without a
single failed request."""
import json
import os
import socket
import signal
import subprocess
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import SIPI_BIN

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def get(url, timeout=30, headers=None):
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=timeout) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    work = tmp_path_factory.mktemp("cluster")
    state = work / "state"
    proc = subprocess.Popen([os.path.join(REPO, "deploy/cluster/run.sh"), "--sipi", SIPI_BIN, "--workdir", str(work / "run"),
                             "--state", str(state)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 60
    while not state.exists():
        assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read() if proc.poll() is not None else "timeout"
        time.sleep(0.1)
    env = dict(line.split("=", 1) for line in state.read_text().split())
    extra = []
    yield env, extra
    for p in extra:
        p.terminate()
        p.wait(timeout=30)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0


def tile_urls(base):
    urls = []
    for ident in ("chart.jp2", "fractal.tif"):
        info = json.loads(get(f"{base}/iiif/{ident}/info.json")[2])
        w, h = info["width"], info["height"]
        for s in (1, 2, 4):
            n = 256 * s
            for y in range(0, h, n):
                for x in range(0, w, n):
                    rw, rh = min(n, w - x), min(n, h - y)
                    urls.append(f"/iiif/{ident}/{x},{y},{rw},{rh}/{-(-rw // s)},/0/default.jpg")
    return urls


def test_every_instance_answers_the_same_bytes_and_validators(cluster):
    env, _ = cluster
    ports = [env[f"SIPI_PORT_{i}"] for i in range(1, int(env["INSTANCES"]) + 1)]
    for path in ["/iiif/chart.jp2/info.json", "/iiif/chart.jp2/full/300,/0/default.jpg",
                 "/iiif/fractal.tif/0,0,512,512/256,/90/gray.png", "/restricted/chart.jp2/full/max/0/default.jpg"]:
        # As behind the load balancer: one Host for all (info.json's id is built from it).
        answers = [get(f"http://127.0.0.1:{p}{path}", headers={"Host": "iiif.example.org"}) for p in ports]
        assert all(a[0] == 200 for a in answers), path
        for key in ("etag", "last-modified", "link", "cache-control", "content-type"):
            assert len({a[1].get(key) for a in answers}) == 1, (path, key, [a[1].get(key) for a in answers])
        assert len({a[2] for a in answers}) == 1, path


def test_mounted_under_a_path_ids_keep_the_mount(cluster):
    # HAProxy serves sipi under /images/ too (haproxy.cfg.in), through Varnish as a client sees it.
    env, _ = cluster
    v = f"http://127.0.0.1:{env['VARNISH_PORT']}"
    host = {"Host": "iiif.example.org"}
    status, _, body = get(f"{v}/images/iiif/chart.jp2/info.json", headers=host)
    assert status == 200 and json.loads(body)["id"] == "http://iiif.example.org/images/iiif/chart.jp2"
    # A client cannot move the mount: HAProxy replaces what it sent.
    status, _, body = get(f"{v}/iiif/chart.jp2/info.json?x=1", headers={**host, "X-Forwarded-Prefix": "/evil"})
    assert status == 200 and json.loads(body)["id"] == "http://iiif.example.org/iiif/chart.jp2"
    status, headers, mounted = get(f"{v}/images/iiif/chart.jp2/full/!120,120/0/default.jpg", headers=host)
    assert status == 200 and headers["link"].startswith("<http://iiif.example.org/images/iiif/chart.jp2/full/")
    assert mounted == get(f"{v}/iiif/chart.jp2/full/!120,120/0/default.jpg", headers=host)[2]


def test_varnish_keeps_public_images_and_never_restricted_ones(cluster):
    env, _ = cluster
    v = f"http://127.0.0.1:{env['VARNISH_PORT']}"
    public = "/iiif/chart.jp2/full/!150,150/0/default.jpg"
    first, again = get(v + public), get(v + public)
    assert first[0] == again[0] == 200 and first[2] == again[2]
    assert again[1]["x-cache"] == "HIT" and "public" in again[1]["cache-control"]
    restricted = "/restricted/chart.jp2/full/max/0/default.jpg"
    for _ in range(3):
        status, headers, _ = get(v + restricted)
        assert status == 200 and headers["x-cache"] == "MISS" and headers["cache-control"].startswith("private")
    # A 304 through the cache.
    req = urllib.request.Request(v + public, headers={"If-None-Match": first[1]["etag"]})
    try:
        urllib.request.urlopen(req, timeout=10)
        pytest.fail("expected 304")
    except urllib.error.HTTPError as e:
        assert e.code == 304
    # PURGE from localhost drops the entry.
    assert get_method(v + public, "PURGE") == 200
    assert get(v + public)[1]["x-cache"] == "MISS"


def get_method(url, method):
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def test_an_instance_restarts_under_load_without_a_failed_request(cluster):
    env, extra = cluster
    v = f"http://127.0.0.1:{env['VARNISH_PORT']}"
    h = f"http://127.0.0.1:{env['HAPROXY_PORT']}"
    urls = tile_urls(h)
    failures, done = [], []
    stop = threading.Event()

    def walk(offset):
        i = offset
        while not stop.is_set():
            # Through HAProxy (every request reaches an instance) and through Varnish.
            base = h if i % 2 else v
            status, _, body = get(base + urls[i % len(urls)])
            (done if status == 200 and body else failures).append((status, urls[i % len(urls)]))
            i += 7

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(walk, k * 13) for k in range(4)]
        time.sleep(1.0)
        pid, cfg = int(env["SIPI_PID_2"]), env["SIPI_CONFIG_2"]
        t0 = time.monotonic()
        os.kill(pid, signal.SIGTERM)
        while os.path.exists(f"/proc/{pid}") and open(f"/proc/{pid}/stat").read().split()[2] != "Z":
            time.sleep(0.05)
        stopped = time.monotonic() - t0
        log = open(os.path.join(env["WORK"], "sipi-2-restarted.log"), "w")
        p = subprocess.Popen([SIPI_BIN, "server", "--config", cfg], stdout=log, stderr=subprocess.STDOUT)
        extra.append(p)
        port = env["SIPI_PORT_2"]
        while not (_alive(port) and get(f"http://127.0.0.1:{port}/health/ready", timeout=2)[0] == 200):
            assert p.poll() is None
            time.sleep(0.1)
        time.sleep(2.0)  # HAProxy takes it back (rise 1) and it serves
        stop.set()
        for f in futures:
            f.result()
    print(f"cluster restart: {len(done)} requests, {len(failures)} failed; instance stopped after {stopped:.1f} s")
    assert not failures, failures[:5]
    assert len(done) > 200 and stopped >= 2.0  # it stayed up through drain_grace
    # The restarted instance serves what the others do, from the shared derivative cache.
    path = urls[3]
    assert get(f"http://127.0.0.1:{env['SIPI_PORT_2']}{path}")[2] == get(f"http://127.0.0.1:{env['SIPI_PORT_1']}{path}")[2]
    cache = os.path.join(env["WORK"], "cache")
    assert os.listdir(cache) and not [n for n in os.listdir(cache) if n.startswith(".tmp-")]


def _alive(port):
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", int(port))) == 0
