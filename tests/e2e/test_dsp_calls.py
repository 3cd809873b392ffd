"""DSP's own calls, as its ingest service and its Lua make them (../shared/dsp-calls.md): the
offline CLI with SIPI's report shapes, `health` against a foreign service, SIPI 7.0's server
flags, and /file downloads under DSP's prefix/xx/yy/name layout."""
import hashlib
import http.server
import json
import os
import subprocess
import threading

import numpy as np
import pytest
from PIL import Image

from conftest import SIPI_BIN, free_port, start_server, stop_server

REPORT_OK = ["status", "mode", "input_file", "output_file", "output_format", "file_size_bytes", "image"]
IMAGE_KEYS = ["width", "height", "channels", "bps", "colorspace", "icc_profile_type", "orientation"]


def sipi(*args):
    return subprocess.run([SIPI_BIN, *map(str, args)], capture_output=True, text=True, timeout=120)


def rotated_jpeg(path, orientation=6, size=(300, 200)):
    """A JPEG stored `size` wide whose EXIF says to show it turned (orientation 6: 90° clockwise)."""
    rng = np.random.default_rng(7)
    arr = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    arr[:20, :20] = [255, 0, 0]  # a red corner to tell the turn by
    im = Image.fromarray(arr)
    exif = Image.Exif()
    exif[0x0112] = orientation
    im.save(path, quality=95, exif=exif.tobytes())
    return path


def ingest_query(stdout):
    """What DSP's ingest reads from `sipi query`: nx, ny and whether the file needs top-left."""
    lines = stdout.split("\n")
    value = lambda key: next(ln for ln in lines if ln.startswith(key)).split("=")[-1].strip()
    orient = [ln for ln in lines if ln.startswith("Exif.Image.Orientation")]
    return int(value("nx")), int(value("ny")), bool(orient) and orient[0][-1] != "1"


def test_query_gives_ingest_its_size_and_orientation(tmp_path):
    p = rotated_jpeg(tmp_path / "turned.jpg")
    r = sipi("query", p)
    assert r.returncode == 0, r.stderr
    assert ingest_query(r.stdout) == (200, 300, True)  # shown turned: 200 wide, 300 high
    assert "File:" in r.stdout and "Levels:" in r.stdout  # our own lines stay
    upright = tmp_path / "upright.png"
    Image.new("RGB", (64, 32), (1, 2, 3)).save(upright)
    assert ingest_query(sipi("query", upright).stdout) == (64, 32, False)


@pytest.mark.parametrize("fmt,ext,mode", [("jpx", "jp2", "RGB"), ("jpg", "jpg", "RGB"), ("tif", "tif", "RGB"),
                                          ("png", "png", "RGB")])
def test_derivative_with_topleft_and_sipi_report(tmp_path, fmt, ext, mode):
    src = rotated_jpeg(tmp_path / "in.jpg")
    out = tmp_path / f"out.{ext}"
    r = sipi("convert", src, out, "--json", "--format", fmt, "--topleft")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert list(doc) == REPORT_OK and list(doc["image"]) == IMAGE_KEYS
    assert doc["status"] == "ok" and doc["mode"] == "cli" and doc["output_format"] == fmt
    assert doc["input_file"] == str(src) and doc["output_file"] == str(out)
    assert doc["file_size_bytes"] == src.stat().st_size  # SIPI reports the input's size
    assert doc["image"] == {"width": 200, "height": 300, "channels": 3, "bps": 8, "colorspace": "RGB",
                            "icc_profile_type": "sRGB", "orientation": "TOPLEFT"}
    im = Image.open(out)
    assert im.size == (200, 300) and im.mode == mode
    # Turned clockwise: the red corner is now top right.
    assert np.array(im.convert("RGB"))[5, 194].tolist()[0] > 200
    exif_orientation = subprocess.run(["exiftool", "-s3", "-n", "-Orientation", str(out)], capture_output=True,
                                      text=True).stdout.strip()
    assert exif_orientation in ("", "1")


def test_topleft_in_place_replaces_the_file_atomically(tmp_path):
    x = rotated_jpeg(tmp_path / "X.jpg")
    r = sipi("convert", x, x, "--json", "--topleft")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["status"] == "ok" and doc["output_format"] == "jpg" and doc["image"]["orientation"] == "TOPLEFT"
    assert Image.open(x).size == (200, 300)
    assert ingest_query(sipi("query", x).stdout) == (200, 300, False)
    assert sorted(os.listdir(tmp_path)) == ["X.jpg"]  # no temporary file left


def test_in_place_failure_keeps_the_original(tmp_path):
    x = tmp_path / "broken.jpg"
    data = rotated_jpeg(tmp_path / "whole.jpg").read_bytes()
    x.write_bytes(data[: len(data) // 3])  # truncated
    before = hashlib.sha256(x.read_bytes()).hexdigest()
    r = sipi("convert", x, x, "--json", "--topleft")
    assert r.returncode != 0
    doc = json.loads(r.stdout)
    for key in ["status", "mode", "phase", "error_message", "input_file", "output_file", "output_format",
                "file_size_bytes"]:
        assert key in doc, key
    assert doc["status"] == "error" and doc["phase"] == "read" and doc["output_format"] == "jpg"
    assert doc["file_size_bytes"] == len(data) // 3
    assert hashlib.sha256(x.read_bytes()).hexdigest() == before
    assert sorted(os.listdir(tmp_path)) == ["broken.jpg", "whole.jpg"]


def test_no_format_and_no_extension_writes_jpeg(tmp_path):
    r = sipi("convert", rotated_jpeg(tmp_path / "in.jpg"), tmp_path / "out", "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["output_format"] == "jpg"
    assert Image.open(tmp_path / "out").format == "JPEG"


def test_every_error_report_carries_dsps_keys(tmp_path):
    src = rotated_jpeg(tmp_path / "in.jpg")
    cases = [(["convert", src, tmp_path / "o.xyz", "--json"], "cli_args"),
             (["convert", tmp_path / "missing.jpg", tmp_path / "o.jp2", "--json", "--format", "jpx"], "read")]
    for args, phase in cases:
        r = sipi(*args)
        assert r.returncode == 1
        doc = json.loads(r.stdout)
        assert doc["phase"] == phase and doc["status"] == "error" and doc["error_message"]
        assert isinstance(doc["output_format"], str) and isinstance(doc["file_size_bytes"], int)
        assert "image" not in doc
        assert len(r.stderr.strip().splitlines()) == 1


class _Health(http.server.BaseHTTPRequestHandler):
    answer = (200, b'{"status":"UP"}')

    def do_GET(self):  # noqa: N802 (http.server's name)
        code, body = self.answer
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


@pytest.mark.parametrize("code,body,rc", [(200, b'{"status":"UP"}', 0), (503, b'{"status":"DOWN"}', 1)])
def test_health_accepts_any_service_that_answers_200(code, body, rc):
    handler = type("H", (_Health,), {"answer": (code, body)})
    httpd = http.server.HTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    try:
        r = sipi("health", "--port", httpd.server_address[1])
        assert r.returncode == rc, r.stderr
    finally:
        httpd.shutdown()


# ---- the server ----

DSP_INIT = """
-- DSP's layout: imgroot/prefix/xx/yy/name (xx, yy: the name's first and next two characters).
function dsp_path(filepath)
  local dir, name = filepath:match('^(.*)/([^/]+)$')
  return dir .. '/' .. name:sub(1, 2):lower() .. '/' .. name:sub(3, 4):lower() .. '/' .. name
end

function file_pre_flight(filepath, cookie)
  if filepath:find('Forbidden') then return 'deny' end
  return 'allow', dsp_path(filepath)
end

function pre_flight(prefix, identifier, cookie)
  return 'allow', dsp_path(config.imgroot .. '/' .. prefix .. '/' .. identifier)
end
"""


@pytest.fixture(scope="module")
def dsp(tmp_path_factory):
    work = tmp_path_factory.mktemp("dsp")
    root = work / "images"
    (root / "0801" / "ab" / "cd").mkdir(parents=True)
    (root / "0801" / "fo" / "rb").mkdir(parents=True)
    payload = bytes(range(256)) * 8
    (root / "0801" / "ab" / "cd" / "AbCd1234.bin").write_bytes(payload)
    (root / "0801" / "fo" / "rb" / "Forbidden.bin").write_bytes(b"no")
    Image.new("RGB", (40, 30), (9, 99, 199)).save(root / "0801" / "ab" / "cd" / "AbCdEf.png")
    init = work / "init.lua"
    init.write_text(DSP_INIT)
    srv = start_server(str(work), str(root), extra=f"initscript = '{init}',")
    srv.payload = payload
    yield srv
    stop_server(srv)


def test_file_download_under_dsps_layout(dsp):
    status, headers, body = dsp.request("/0801/AbCd1234.bin/file")
    assert status == 200 and body == dsp.payload
    status, headers, body = dsp.request("/0801/AbCd1234.bin/file", headers={"Range": "bytes=10-19"})
    assert status == 206 and body == dsp.payload[10:20]
    assert dsp.request("/0801/Forbidden.bin/file")[0] == 401
    assert dsp.request("/0801/Nothing.bin/file")[0] == 404
    assert dsp.request("/0801/..%2F..%2Fetc%2Fpasswd/file")[0] == 400


def test_image_under_dsps_layout(dsp):
    doc, _ = dsp.get_json("/0801/AbCdEf.png/info.json")
    assert (doc["width"], doc["height"]) == (40, 30)


def test_sipi_7_server_flags_and_variables(tmp_path, imgroot):
    init = tmp_path / "init.lua"
    init.write_text("""
function pre_flight(prefix, identifier, cookie)
  if identifier:find('grid') then return 'deny' end
  return 'allow'
end
""")
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "conf.lua").write_text("""
local ok = server.setBuffer()
server.sendHeader('Content-Type', 'application/json')
local _, tok = server.generate_jwt({sub = 'x', exp = 4102444800})
local decoded, claims = server.decode_jwt(tok)
local _, doc = server.table_to_json({thumb = config.thumb_size, knora = config.knora_path, port = config.knora_port,
  age = config.max_temp_file_age, post = config.max_post_size, cache = config.cache_size, ssl = config.sslport,
  jwt = decoded and claims.sub or 'no'})
server.print(doc)
""")
    extra = "}\nroutes = { { method = 'GET', route = '/conf', script = 'conf.lua' } "
    srv = start_server(str(tmp_path), imgroot, extra=extra,
                       args=["--initscript", str(init), "--scriptdir", str(scripts), "--thumbsize", "!99,99",
                             "--knorapath", "api.example", "--maxtmpage", "77", "--maxpost", "5M",
                             "--sslport", "4443", "--admission-mode", "advanced", "--pathprefix"],
                       env_overrides={"SIPI_JWTKEY": "UP 4888, nice 4-8-4 steam engine", "SIPI_KNORAPORT": "3399",
                                      "SIPI_TILES_THREAD_RATIO": "0.5"})
    try:
        assert srv.request("/grid.png/full/max/0/default.jpg")[0] == 401  # the init script from the flag
        doc, _ = srv.get_json("/conf")
        assert doc == {"thumb": "!99,99", "knora": "api.example", "port": "3399", "age": 77, "post": 5 * 1024 * 1024,
                       "cache": 200 * 1024 * 1024, "ssl": -1, "jwt": "x"}
        log = srv.log()
        for flag in ["--sslport", "--admission-mode", "--tiles-thread-ratio"]:
            assert log.count(f'"flag":"{flag}"') == 1, flag
    finally:
        stop_server(srv)


# ---- HTTP as SIPI answers it ----

@pytest.fixture(scope="module")
def compat(tmp_path_factory):
    work = tmp_path_factory.mktemp("compat")
    root = work / "images"
    root.mkdir()
    (root / "table.csv").write_text("a,b\n1,2\n")
    (root / "clip.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(100))
    (root / "clip.info").write_text(json.dumps({"duration": 12.5, "fps": 25, "width": 640, "height": 360}))
    (root / "broken.jpg").write_text("not a jpeg")
    im = Image.new("RGB", (120, 80), (10, 20, 30))
    exif = Image.Exif()
    exif[0x010E] = "kept as is"  # ImageDescription
    im.save(root / "photo.jpg", quality=90, exif=exif.tobytes())
    im.save(root / "photo.png")
    im.save(root / "photo.tif", compression="tiff_deflate")
    scripts = work / "scripts"
    scripts.mkdir()
    (scripts / "upload.lua").write_text("server.sendStatus(200)\nserver.print('up')\n")
    srv = start_server(str(work), str(root), extra="scriptdir = '" + str(scripts) +
                       "',\n}\nroutes = { { method = 'POST', route = '/upload', script = 'upload.lua' } ")
    srv.root = root
    yield srv
    stop_server(srv)


def test_info_json_is_plain_json_unless_json_ld_is_asked_for(compat):
    status, headers, _ = compat.request("/photo.png/info.json")
    assert status == 200 and headers["content-type"] == "application/json"
    assert 'rel="http://www.w3.org/ns/json-ld#context"' in headers["link"]


def test_bitstream_info_for_files_that_are_not_images(compat):
    doc, headers = compat.get_json("/table.csv/info.json")
    assert doc == {"@context": "http://sipi.io/api/file/3/context.json",
                   "id": f"http://127.0.0.1:{compat.port}/table.csv", "internalMimeType": "text/csv", "fileSize": 8}
    doc, _ = compat.get_json("/clip.mp4/info.json")
    assert (doc["internalMimeType"], doc["fileSize"]) == ("video/mp4", 112)
    assert (doc["duration"], doc["fps"], doc["width"], doc["height"]) == (12.5, 25, 640, 360)
    assert compat.request("/broken.jpg/info.json")[0] == 404  # named an image but not one: no bitstream document


@pytest.mark.parametrize("name,fmt,mime", [("photo.jpg", "jpg", "image/jpeg"), ("photo.png", "png", "image/png"),
                                           ("photo.tif", "tif", "image/tiff")])
def test_full_max_in_the_sources_own_format_is_the_file(compat, name, fmt, mime):
    status, headers, body = compat.request(f"/{name}/full/max/0/default.{fmt}")
    assert status == 200 and headers["content-type"] == mime
    assert body == (compat.root / name).read_bytes()  # bytes untouched, metadata included
    assert f'/{name}/full/max/0/default.{fmt}>;rel="canonical"' in headers["link"]
    status, headers, body = compat.request(f"/{name}/full/max/0/default.{fmt}", headers={"Range": "bytes=0-9"})
    assert status == 206 and body == (compat.root / name).read_bytes()[:10]
    # Anything else is rendered: another size, quality or format.
    for url in [f"/{name}/full/60,/0/default.{fmt}", f"/{name}/full/max/0/gray.{fmt}",
                f"/{name}/full/max/90/default.{fmt}"]:
        status, _, body = compat.request(url)
        assert status == 200 and body != (compat.root / name).read_bytes(), url


def test_broken_image_urls_are_400_and_route_methods_405(compat):
    for url in ["/photo.jpg/nope/max/0/default.jpg", "/photo.jpg/full/max/0/default", "/a/b/c/d/color.jpg",
                "/photo.jpg/full/max/0/default.jpg/extra"]:
        assert compat.request(url)[0] == 400, url
    status, headers, _ = compat.request("/upload")
    assert status == 405 and headers["allow"] == "POST, OPTIONS"
    assert compat.request("/upload", method="POST", headers={"Content-Length": "0"})[0] == 200
    status, headers, _ = compat.request("/photo.jpg")
    assert status == 303 and headers["location"].endswith("/photo.jpg/info.json")


def test_sipi_image_conventions(tmp_path, imgroot):
    turned = rotated_jpeg(tmp_path / "turned.jpg")
    gps = tmp_path / "gps.jpg"
    Image.new("RGB", (32, 32), (5, 5, 5)).save(gps)
    subprocess.run(["exiftool", "-q", "-overwrite_original", "-GPSLatitude=47.5", "-GPSLatitudeRef=N",
                    "-GPSLongitude=7.25", "-GPSLongitudeRef=E", "-GPSAltitude=260", str(gps)], check=True)
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "img.lua").write_text(f"""
local r = {{}}
local ok, d = SipiImage.dims('{turned}')
r.dims = {{d.nx, d.ny, d.orientation}}
local ok2, img = SipiImage.new('{turned}')
r.topleft = SipiImage.topleft(img)          -- a method called on the class
r.hi = img:write('{tmp_path}/hi.jpg', {{quality = 95}})
r.lo = img:write('{tmp_path}/lo.jpg', {{quality = 20}})
local ok3, g = SipiImage.new('{gps}')
local okg, gpsinfo = g:gps()
r.lat = {{gpsinfo.GPSLatitude[0], gpsinfo.GPSLatitude[1], gpsinfo.GPSLatitude[2], gpsinfo.GPSLatitudeRef}}
r.alt = gpsinfo.GPSAltitude
r.speed_ref = gpsinfo.GPSSpeedRef
local _, s = server.table_to_json(r)
server.sendHeader('Content-Type', 'application/json')
server.print(s)
""")
    extra = f"scriptdir = '{scripts}',\n}}\nroutes = {{ {{ method = 'GET', route = '/img', script = 'img.lua' }} "
    srv = start_server(str(tmp_path), imgroot, extra=extra)
    try:
        doc, _ = srv.get_json("/img")
    finally:
        stop_server(srv)
    assert doc["dims"] == [200, 300, 6]  # as shown, after the orientation
    assert doc["topleft"] is True and doc["hi"] is True and doc["lo"] is True
    assert Image.open(tmp_path / "hi.jpg").size == (200, 300)
    orient = subprocess.run(["exiftool", "-s3", "-n", "-Orientation", str(tmp_path / "hi.jpg")], capture_output=True,
                            text=True).stdout.strip()
    assert orient in ("", "1")  # upright pixels, and the tag says so
    assert (tmp_path / "lo.jpg").stat().st_size < (tmp_path / "hi.jpg").stat().st_size * 0.6
    assert doc["lat"] == [47, 30, 0, "N"] and doc["alt"] == 260 and doc["speed_ref"] == ""


def test_metrics_under_sipis_names(compat):
    from test_operations import parse_metrics
    before = parse_metrics(compat.request("/metrics")[2].decode())
    assert compat.request("/photo.png/full/40,/0/default.jpg")[0] == 200
    assert compat.request("/upload", method="POST", headers={"Content-Length": "0"})[0] == 200
    assert compat.request("/favicon.ico")[0] == 200
    after = parse_metrics(compat.request("/metrics")[2].decode())
    iiif = ("http_server_request_duration_seconds_count",
            '{http_route="/{*rest}",http_request_method="GET",http_response_status_code="200"}')
    route = ("http_server_request_duration_seconds_count",
             '{http_route="/upload",http_request_method="POST",http_response_status_code="200"}')
    assert after[iiif] == before.get(iiif, 0) + 1
    assert after[route] == before.get(route, 0) + 1
    sipi_series = [labels for (name, labels) in after if name.startswith("http_server_request_duration")]
    assert not any("favicon" in labels or "metrics" in labels for labels in sipi_series)  # not recorded
    for name in ["sipi_cache_hits_total", "sipi_cache_misses_total", "sipi_cache_evictions_total",
                 "sipi_cache_skips_total", "sipi_cache_size_bytes", "sipi_cache_files", "sipi_admission_permits_total",
                 "sipi_admission_permits_in_use", "sipi_admission_tile_waiting", "sipi_admission_full_waiting",
                 "sipi_admission_tile_shed_total", "sipi_admission_full_shed_total", "sipi_decode_memory_budget_bytes",
                 "sipi_decode_memory_used_bytes", "sipi_decode_memory_acquired_total"]:
        assert (name, "") in after, name
    assert after[("sipi_admission_permits_total", "")] == 3  # nthreads 2, one kept for cheap work
    assert after[("sipi_decode_memory_acquired_total", "")] >= before.get(("sipi_decode_memory_acquired_total", ""), 0) + 1
    assert ("sipi_lua_kills_total", '{reason="timeout"}') in after


def test_pdf_is_one_page_with_the_jpeg_embedded_as_is(compat):
    status, headers, pdf = compat.request("/photo.png/full/60,/0/default.pdf")
    assert status == 200 and headers["content-type"] == "application/pdf"
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert pdf.count(b"/Type /Page\n") + pdf.count(b"/Type /Page ") + pdf.count(b"/Type/Page\n") >= 1
    assert b"/Count 1" in pdf and b"/DCTDecode" in pdf
    assert b"/MediaBox [ 0 0 60 40 ]" in pdf or b"/MediaBox [0 0 60 40]" in pdf
    _, _, jpeg = compat.request("/photo.png/full/60,/0/default.jpg")
    assert jpeg in pdf  # the very JPEG the server sends for default.jpg, not re-encoded


def test_undeclared_size_limits(tmp_path, imgroot):
    # The later keys win over the test config's max_* (a Lua table constructor assigns in order).
    srv = start_server(str(tmp_path), imgroot, extra="max_width = 0, max_height = 0, max_area = 0,")
    try:
        doc, _ = srv.get_json("/grid.png/info.json")
        assert not {"maxWidth", "maxHeight", "maxArea"} & set(doc)
        status, _, body = srv.request("/grid.png/full/^max/0/default.png")
        assert status == 200 and Image.open(__import__("io").BytesIO(body)).size == (1600, 1200)  # own size
        status, _, body = srv.request("/grid.png/0,0,100,50/^max/0/default.png")
        assert status == 200 and Image.open(__import__("io").BytesIO(body)).size == (100, 50)
    finally:
        stop_server(srv)
