"""Decode isolation: a file that crashes a codec library costs one request, never the server.

The reproducers are the fuzzer's library findings (fuzz/crashes/fuzz_image-lib-*): asserts in
Debian's libraries that abort the process that decodes them. ht-mel-abort.jp2 is a 64x64 JPEG 2000
file with an HTJ2K codestream on which OpenJPEG 2.5.0 fails `mel_init`'s assert.
"""
import glob
import json
import os
import re
import shutil
import subprocess
import threading
import time

import pytest

from conftest import SIPI_BIN, metric, start_server, stop_server, write_config
from fixtures import cell_colour, grid_image, vips
from imgutil import assert_pixel, decode
from test_lua_uploads import multipart, post

CRASHES = os.path.join(os.path.dirname(__file__), "..", "..", "fuzz", "crashes")
EVIL = os.path.join(CRASHES, "fuzz_image-lib-ht-mel-abort.jp2")
LIBRARY_FINDINGS = sorted(glob.glob(os.path.join(CRASHES, "fuzz_image-lib-*")))

# Every kind of image URL a viewer or a crawler sends, for the crashing file.
URL_FORMS = [
    "full/max/0/default.jpg",
    "full/max/0/default.png",
    "0,0,32,32/max/0/default.jpg",
    "full/!16,16/0/default.jpg",
    "square/max/90/gray.png",
    "pct:10,10,50,50/20,/!45/default.webp",
    "full/max/0/bitonal.tif",
    "full/max/0/default.jp2",
    "full/^100,/0/default.jpg",
    "info.json",
]

# The sanitizer pass of ./dev test runs the suite with SIPI_DECODE_ISOLATION=none and
# SIPI_SUPERVISED_CHILD=1 (decoding in the server and in the command's own process, where ASan
# reports it directly); these tests are about isolation itself.
ISOLATED = {"SIPI_DECODE_ISOLATION": None, "SIPI_SUPERVISED_CHILD": None}
CLEAN_ENV = {k: v for k, v in os.environ.items() if k not in ISOLATED}

UPLOAD_LUA = """
local ok, img = SipiImage.new(1)
local kept = server.fs.exists(server.uploads[1].tmpname)
server.print(tostring(ok), '|', tostring(img), '|', tostring(kept))
"""


def helper_pids(server_pid):
    """The decode helpers: children of the server running `sipi decode-helper`."""
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{d}/cmdline", "rb") as f:
                cmd = f.read().split(b"\0")
        except OSError:
            continue
        if ppid == server_pid and len(cmd) > 1 and cmd[1] == b"decode-helper":
            pids.append(int(d))
    return sorted(pids)


@pytest.fixture(scope="module")
def iso(tmp_path_factory):
    work = tmp_path_factory.mktemp("isolation")
    images = work / "images"
    (images / "iiif").mkdir(parents=True)
    grid = grid_image(1600, 1200)
    grid.save(images / "iiif" / "grid.png")
    vips("tiffsave", str(images / "iiif" / "grid.png"), str(images / "iiif" / "grid.tif"), "--tile",
         "--tile-width", "256", "--tile-height", "256", "--pyramid", "--compression", "deflate")
    shutil.copy(EVIL, images / "iiif" / "evil.jp2")
    scripts = work / "scripts"
    scripts.mkdir()
    (scripts / "upload.lua").write_text(UPLOAD_LUA)
    (work / "tmp").mkdir()
    extra = f"""scriptdir = '{scripts}', tmpdir = '{work / "tmp"}', max_post_size = '20M',
}}
routes = {{
  {{ method = 'POST', route = '/api/upload', script = 'upload.lua' }},"""
    # The upload test's decode may meet a helper still starting after the previous test's crash:
    # SIPI's default Lua time limit (5 s), not the 1 s the other e2e servers use.
    srv = start_server(str(work), str(images), extra=extra, env_overrides={**ISOLATED, "SIPI_LUA_TIMEOUT_MS": "5000"})
    srv.images = images
    yield srv
    stop_server(srv)


def test_crash_costs_one_request_and_poisons_the_file(iso):
    # The header is readable (the crash is in the HT block decoder): info.json works at first.
    info, _ = iso.get_json("/iiif/evil.jp2/info.json")
    assert (info["width"], info["height"]) == (64, 64)
    helpers_before = helper_pids(iso.proc.pid)
    assert len(helpers_before) == 3  # nthreads 2 + 1

    # A large request in flight on another helper while the crash happens.
    slow = {}

    def fetch_large():
        slow["r"] = iso.request("/iiif/grid.png/full/max/0/default.png", timeout=60)

    t = threading.Thread(target=fetch_large)
    t.start()
    status, headers, body = iso.request("/iiif/evil.jp2/full/max/0/default.jpg")
    assert status == 500
    assert body == b"500 Internal Server Error\ncodec.crashed\n"  # no path, no library text
    t.join(60)
    status, _, png = slow["r"]
    assert status == 200
    im = decode(png)
    assert im.size == (1600, 1200)
    assert_pixel(im, (150, 250), cell_colour(1, 2), 0)

    # Every URL form, three times: answered at once (poisoned), never another crash.
    for _ in range(3):
        for form in URL_FORMS:
            status, _, body = iso.request(f"/iiif/evil.jp2/{form}")
            assert (status, body) == (500, b"500 Internal Server Error\ncodec.crashed\n"), form
            assert iso.alive()
    assert metric(iso, 'sipi_decode_helper_crashes_total{reason="abort"}') == 1
    assert metric(iso, "sipi_decode_poisoned_files") == 1
    assert metric(iso, "sipi_decode_poisoned_rejections_total") >= 3 * len(URL_FORMS)

    # The dead helper was replaced; a normal tile right after is served.
    status, headers, body = iso.request("/iiif/grid.tif/256,256,256,256/max/0/default.jpg")
    assert status == 200 and headers["content-type"] == "image/jpeg"
    assert_pixel(decode(body), (10, 10), cell_colour(2, 2), 3)
    assert len(helper_pids(iso.proc.pid)) == 3
    log = iso.log()
    crash_lines = [json.loads(line) for line in log.splitlines() if '"decode helper crashed"' in line]
    assert len(crash_lines) == 1
    assert crash_lines[0]["reason"] == "abort" and "mel_init" in crash_lines[0]["stderr"]


def test_replaced_file_gets_a_new_chance(iso):
    path = iso.images / "iiif" / "replaced.jp2"
    shutil.copy(EVIL, path)
    assert iso.request("/iiif/replaced.jp2/full/max/0/default.png")[0] == 500
    assert iso.request("/iiif/replaced.jp2/full/max/0/default.png")[0] == 500
    # A good file under the same name (new size and time): served again.
    grid_image(64, 64).save(iso.images / "iiif" / "tmp.png")
    vips("jp2ksave", str(iso.images / "iiif" / "tmp.png"), str(path) + ".new.jp2", "--lossless")
    os.replace(str(path) + ".new.jp2", path)
    status, _, body = iso.request("/iiif/replaced.jp2/full/max/0/default.png")
    assert status == 200
    assert_pixel(decode(body), (5, 5), cell_colour(0, 0), 0)


@pytest.mark.parametrize("finding", LIBRARY_FINDINGS, ids=os.path.basename)
def test_every_library_finding_is_contained(iso, finding):
    name = "finding-" + os.path.basename(finding)
    shutil.copy(finding, iso.images / "iiif" / name)
    # A "-mt" finding aborts only when OpenJPEG's threads reach the bad code-block before
    # another one's error stops the decode: 500 either way, the crash itself depends on scheduling.
    # (the first request's answer decides the file's fate: a crash poisons it for the others).
    details = (b"\ncodec.",) if "-mt." in finding else (b"\ncodec.crashed",)
    for form in URL_FORMS[:-1]:
        status, _, body = iso.request(f"/iiif/{name}/{form}")
        assert status == 500 and any(d in body for d in details), (form, body)
    assert iso.alive()
    assert iso.request("/iiif/grid.tif/0,0,256,256/max/0/default.jpg")[0] == 200


def test_helper_killed_while_idle_is_replaced_without_blame(iso):
    import signal
    import time
    poisoned = metric(iso, "sipi_decode_poisoned_files")
    for pid in helper_pids(iso.proc.pid):
        os.kill(pid, signal.SIGKILL)
    time.sleep(0.2)
    for x in (0, 256, 512, 768):  # not stored tiles (Deflate): each needs a helper
        status, _, body = iso.request(f"/iiif/grid.tif/{x},0,256,256/max/0/default.png")
        assert status == 200
        assert_pixel(decode(body), (10, 10), cell_colour(x // 100, 0), 0)
    assert metric(iso, "sipi_decode_poisoned_files") == poisoned  # nobody's file was blamed
    # A helper that had answered jobs "died while idle"; one never asked for its hello yet (the
    # pool sends a file's jobs to one helper) "did not start". Either way: killed, and replaced.
    idle = [json.loads(line) for line in iso.log().splitlines()
            if '"decode helper died while idle"' in line or '"decode helper did not start"' in line]
    assert idle and all(e["reason"] == "killed" for e in idle)


def test_helper_killed_before_its_hello_is_replaced(tmp_path):
    import signal
    images = tmp_path / "images"
    images.mkdir()
    grid_image(300, 200).save(images / "grid.png")
    srv = start_server(str(tmp_path), str(images), env_overrides=ISOLATED)
    try:
        # Right after start no helper has been asked for its hello yet.
        killed = set(helper_pids(srv.proc.pid))
        assert killed
        for pid in killed:
            os.kill(pid, signal.SIGKILL)
        status, _, body = srv.request("/grid.png/full/max/0/default.jpg")
        assert status == 200 and decode(body).size == (300, 200)
        # The job ran on a replacement. Which line says so depends on how far the helper got
        # before the kill landed: no hello; a hello the server still reads from the socket, and
        # then the job cannot be sent; or the job sent too, and no answer.
        assert set(helper_pids(srv.proc.pid)) - killed
        log = srv.log()
        assert any(line in log for line in ('"decode helper did not start"', '"decode helper died while idle"',
                                            '"decode helper killed; its job runs again on a new helper"'))
        assert metric(srv, "sipi_decode_poisoned_files") == 0
    finally:
        stop_server(srv)


def test_helper_killed_during_a_job_runs_it_again_without_blame(tmp_path):
    # SIGKILL from outside (the OOM killer, an operator) says nothing about the file: the job
    # runs again on a new helper, the answer is whole, and the file is not poisoned. A spooled
    # render (over 24 MiB of pixels) starts again on an emptied spool file.
    import signal
    import numpy as np
    from PIL import Image
    images = tmp_path / "images"
    images.mkdir()
    pixels = np.random.default_rng(5).integers(0, 256, (3000, 3000, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(images / "noise.png", compress_level=1)
    srv = start_server(str(tmp_path), str(images), env_overrides=ISOLATED, extra="cache_size = 0,")
    try:
        answer = {}
        job = threading.Thread(target=lambda: answer.update(r=srv.request("/noise.png/full/max/0/default.png")))
        job.start()
        # Mid-render: a helper has spent a quarter of a second of CPU on it (the whole render,
        # a decode and a PNG of 27 MB of noise, takes seconds).
        def cpu_ticks(pid):
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return int(fields[11]) + int(fields[12])
        start = {pid: cpu_ticks(pid) for pid in helper_pids(srv.proc.pid)}
        deadline = time.monotonic() + 20
        while max(cpu_ticks(pid) - t for pid, t in start.items()) < os.sysconf("SC_CLK_TCK") // 4:
            assert time.monotonic() < deadline and job.is_alive()
            time.sleep(0.02)
        assert job.is_alive()
        for pid in helper_pids(srv.proc.pid):
            os.kill(pid, signal.SIGKILL)
        job.join(60)
        status, _, body = answer["r"]
        assert status == 200, body
        assert "its job runs again on a new helper" in srv.log()
        # The same bytes as an undisturbed render (`max` is the server's largest size: 2449²).
        assert decode(body).size == (2449, 2449)
        assert srv.request("/noise.png/full/max/0/default.png")[2] == body
        assert metric(srv, "sipi_decode_poisoned_files") == 0
    finally:
        stop_server(srv)


def test_helpers_are_locked_down(iso):
    for pid in helper_pids(iso.proc.pid):
        # A helper locks itself down right after exec, before its hello: one that has just been
        # (re)started may still be on its way there.
        deadline = time.monotonic() + 5
        while True:
            with open(f"/proc/{pid}/status") as f:
                status = dict(line.split(":", 1) for line in f.read().splitlines() if ":" in line)
            if status["Seccomp"].strip() == "2" or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert status["Seccomp"].strip() == "2", pid  # a filter is installed
        assert status["NoNewPrivs"].strip() == "1", pid
        with open(f"/proc/{pid}/limits") as f:
            limits = f.read()
        assert re.search(r"Max core file size\s+0\s+0", limits), limits
    assert "not applied" not in iso.log()


def test_lua_upload_of_a_crashing_file_gets_an_error_value(iso):
    with open(EVIL, "rb") as f:
        data = f.read()
    body, ctype = multipart([("file", "scan.jp2", "image/jp2", data)])
    status, out = post(iso, "/api/upload", body, ctype)
    assert status == 200, out
    ok, err, kept = out.decode().split("|")
    assert ok == "false" and "crashed" in err and kept == "true"
    assert iso.alive()
    assert iso.request("/iiif/grid.tif/0,0,256,256/max/0/default.jpg")[0] == 200


def test_isolation_none_decodes_in_the_server(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    grid_image(300, 200).save(images / "grid.png")
    srv = start_server(str(tmp_path), str(images), extra="decode_isolation = 'none',", env_overrides=ISOLATED)
    try:
        status, _, body = srv.request("/grid.png/full/max/0/default.png")
        assert status == 200 and decode(body).size == (300, 200)
        assert helper_pids(srv.proc.pid) == []
        assert "decode isolation is off" in srv.log()
    finally:
        stop_server(srv)


def test_bad_isolation_setting_is_refused(tmp_path):
    cfg = write_config(str(tmp_path), str(tmp_path), 1, "decode_isolation = 'some',")
    r = subprocess.run([SIPI_BIN, "server", "--config", cfg], capture_output=True, text=True, timeout=30, env=CLEAN_ENV)
    assert r.returncode != 0
    assert len(r.stderr.strip().splitlines()) == 1 and "decode_isolation" in r.stderr


def test_config_number_overflow_is_refused_at_start(tmp_path):
    # The config fuzzer's input: max_width far beyond what size arithmetic can carry.
    repro = os.path.join(os.path.dirname(__file__), "..", "..", "fuzz", "corpus", "fuzz_config",
                         "regress-max-width-overflow.lua")
    r = subprocess.run([SIPI_BIN, "server", "--config", repro], capture_output=True, text=True, timeout=30,
                       cwd=tmp_path, env=CLEAN_ENV)
    assert r.returncode != 0
    # The fuzzed file also has misspelt keys, logged as JSON warnings; the error is one plain line.
    errors = [line for line in r.stderr.splitlines() if not line.startswith("{")]
    assert errors == ["sipi: sipi.max_width: must be 0..10000000"], r.stderr


@pytest.mark.parametrize("args,code", [
    (["convert", "{evil}", "{out}"], 1),
    (["convert", "{evil}", "{out}", "--format", "png"], 1),
    (["query", "{evil}"], None),  # the header is readable: query succeeds
    (["verify", "{evil}"], 1),
    (["compare", "{evil}", "{evil}"], 1),
    (["convert", "service-file", "{evil}", "{out}"], 1),
])
def test_cli_reports_a_crash_in_one_line(tmp_path, args, code):
    shutil.copy(EVIL, tmp_path / "evil.jp2")
    out = tmp_path / "out.tif"
    argv = [a.format(evil=tmp_path / "evil.jp2", out=out) for a in args]
    r = subprocess.run([SIPI_BIN, *argv], capture_output=True, text=True, timeout=60, env=CLEAN_ENV)
    if code is None:
        assert r.returncode == 0 and "64 x 64" in r.stdout
        return
    assert r.returncode == code, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "crashed (SIGABRT)" in lines[0] and "Assertion" not in r.stderr
    assert not out.exists()
    assert sorted(os.listdir(tmp_path)) == ["evil.jp2"]  # no temporary output left behind
    assert not glob.glob(str(tmp_path / "core*"))


def test_cli_json_error_report(tmp_path):
    shutil.copy(EVIL, tmp_path / "evil.jp2")
    r = subprocess.run([SIPI_BIN, "convert", str(tmp_path / "evil.jp2"), str(tmp_path / "out.jp2"), "--json"],
                       capture_output=True, text=True, timeout=60, env=CLEAN_ENV)
    assert r.returncode == 1
    doc = json.loads(r.stdout)
    assert doc["status"] == "error" and doc["phase"] == "read"
    assert doc["input_file"].endswith("evil.jp2") and doc["output_file"].endswith("out.jp2")
    assert "crashed" in doc["error_message"]
