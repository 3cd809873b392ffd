"""SIPI's conventions that DSP's scripts and deployments rely on, beyond test_dsp_calls.py: the
remaining SIPI 7.0 flags and variables (--jwtkey as a flag, SIPI_INITSCRIPT, SIPI_CACHEDIR,
--tmpdir, --memory-limit, the TLS/log flags logged as ignored), the Lua request and helper
conventions (client_port, X-Forwarded-Host, setBuffer, server.log levels, JWT claims with 0-based
arrays, integral floats in JSON, the package global), knora.json under a deny, and the bitstream
document of a PDF."""
import base64
import hashlib
import hmac
import json
import os
import socket

import pytest

from conftest import start_server, stop_server
from fixtures import grid_image

JWT_KEY = "UP 4888, nice 4-8-4 steam engine, 42 chars"

ROUTE = """
local ok, err = server.setBuffer()
server.sendHeader('Content-Type', 'application/json')
local claims_ok, claims = server.decode_jwt(server.get.token)
server.log('conventions route ran', server.loglevel.LOG_ERR)
server.log('a debug line', server.loglevel.LOG_DEBUG)
local _, floats = server.table_to_json({whole = 2.0, half = 2.5, big = 1e15})
local _, doc = server.table_to_json({
  setbuffer = {type(ok), tostring(ok), err == nil},
  host = server.host, client_port = server.client_port,
  package = type(package), package_path = package.path,
  tmpdir = config.tmpdir,
  claims_ok = claims_ok, role0 = claims.roles[0], role1 = claims.roles[1], role2 = claims.roles[2] == nil,
  floats = floats,
})
server.print(doc)
"""

INIT = """
function pre_flight(prefix, identifier, cookie)
  if identifier:find('secret') then return 'deny' end
  return 'allow', config.imgroot .. '/' .. identifier
end
"""


def jwt(claims, key):
    def b64(data):
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps(claims).encode())
    sig = hmac.new(key.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(sig)}"


@pytest.fixture(scope="module")
def conv(tmp_path_factory):
    work = tmp_path_factory.mktemp("conventions")
    images = work / "images"
    images.mkdir()
    grid_image(120, 90).save(images / "secret.png")
    grid_image(120, 90).save(images / "open.png")
    (images / "doc.pdf").write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
    scripts = work / "scripts"
    scripts.mkdir()
    (scripts / "conventions.lua").write_text(ROUTE)
    init = work / "init.lua"
    init.write_text(INIT)
    (work / "uploads").mkdir()
    cache = work / "legacy-cache"
    extra = f"scriptdir = '{scripts}',\n}}\nroutes = {{ {{ method = 'GET', route = '/conventions', script = 'conventions.lua' }} "
    srv = start_server(str(work), str(images), extra=extra,
                       args=["--jwtkey", JWT_KEY, "--tmpdir", str(work / "uploads"), "--memory-limit", "300M",
                             "--sslcert", "/nonexistent/cert.pem", "--sslkey", "/nonexistent/key.pem",
                             "--logfile", "/nonexistent/sipi.log", "--keepalive", "7"],
                       env_overrides={"SIPI_INITSCRIPT": str(init), "SIPI_CACHEDIR": str(cache), "SIPI_LOGLEVEL": "DEBUG"})
    srv.work, srv.cache = work, cache
    yield srv
    stop_server(srv)


def raw_get(port, path, headers):
    """GET over a socket whose local port we know, for server.client_port."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        local_port = s.getsockname()[1]
        lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close", *[f"{k}: {v}" for k, v in headers.items()]]
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 200"), head
    return local_port, json.loads(body)


def test_lua_request_and_helper_conventions(conv):
    token = jwt({"sub": "ingest", "roles": ["admin", "viewer"], "exp": 4102444800}, JWT_KEY)
    local_port, doc = raw_get(conv.port, f"/conventions?token={token}", {"X-Forwarded-Host": "iiif.example.org"})
    assert doc["setbuffer"] == ["boolean", "true", True]            # setBuffer → true, nil
    assert doc["host"] == "iiif.example.org"                          # behind a proxy
    assert doc["client_port"] == local_port
    assert doc["package"] == "table" and doc["package_path"] == "./?.lua"
    assert doc["tmpdir"] == str(conv.work / "uploads")                # --tmpdir
    # Signed with the key given as --jwtkey; arrays in claims have 0-based keys, as in SIPI.
    assert doc["claims_ok"] is True and (doc["role0"], doc["role1"], doc["role2"]) == ("admin", "viewer", True)
    # Integral floats are written as integers, others as they are.
    floats = json.loads(doc["floats"])
    assert floats == {"whole": 2, "half": 2.5, "big": 1000000000000000}
    assert type(floats["whole"]) is int and type(floats["big"]) is int and type(floats["half"]) is float


def test_lua_log_lines_carry_level_and_one_message(conv):
    token = jwt({"roles": ["x"], "exp": 4102444800}, JWT_KEY)
    raw_get(conv.port, f"/conventions?token={token}", {})
    lines = [line for line in conv.log().splitlines() if "conventions route ran" in line or "a debug line" in line]
    assert lines, conv.log()
    for line in lines:
        assert line.count('"message"') == 1, line  # one message key, not two
    levels = {json.loads(line)["message"]: json.loads(line)["level"] for line in lines}
    assert levels == {"conventions route ran": "ERROR", "a debug line": "DEBUG"}


def test_legacy_variables_and_ignored_flags(conv):
    # SIPI_INITSCRIPT: its pre_flight denies the secret image.
    assert conv.request("/secret.png/full/max/0/default.jpg")[0] == 401
    # SIPI_CACHEDIR (SIPI's deprecated name): derivatives land there.
    assert conv.request("/open.png/full/60,/0/default.jpg")[0] == 200
    cached = [f for _, _, files in os.walk(conv.cache) for f in files]
    assert cached, "nothing cached under SIPI_CACHEDIR"
    # --memory-limit: the decode-memory budget.
    metrics = conv.request("/metrics")[2].decode()
    assert "sipi_decode_memory_budget_bytes 314572800" in metrics
    log = conv.log()
    for flag in ["--sslcert", "--sslkey", "--logfile"]:
        assert log.count(f'"flag":"{flag}"') == 1, flag


def test_deny_gates_pixels_only(conv):
    # As SIPI: a plain deny answers info.json and knora.json, and refuses pixels.
    status, _, body = conv.request("/secret.png/info.json")
    assert status == 200 and json.loads(body)["width"] == 120
    status, _, body = conv.request("/secret.png/knora.json")
    assert status == 200 and (json.loads(body)["width"], json.loads(body)["height"]) == (120, 90)
    assert conv.request("/secret.png/full/max/0/default.png")[0] == 401


def test_bitstream_info_for_a_pdf(conv):
    doc, _ = conv.get_json("/doc.pdf/info.json")
    size = (conv.work / "images" / "doc.pdf").stat().st_size
    assert doc == {"@context": "http://sipi.io/api/file/3/context.json", "id": f"http://127.0.0.1:{conv.port}/doc.pdf",
                   "internalMimeType": "application/pdf", "fileSize": size}
