"""Lua routes (the config's `routes` table) and docroot .lua pages."""
import http.client
import json
import time

import pytest

from conftest import start_server, stop_server

SCRIPTS = {
    "hello.lua": """
server.sendHeader('Content-Type', 'application/json')
local ok, s = server.table_to_json({ greeting = 'hello', name = (server.get and server.get.name) or 'nobody',
                                     method = server.method, uri = server.uri, ip = server.client_ip })
server.print(s)
""",
    "echo.lua": """
server.sendStatus(201)
server.sendHeader('X-Echo', 'yes')
server.sendHeader('X-Echo', 'last wins')
server.sendHeader('Content-Type', 'text/plain')
if server.post then server.print('field=', server.post.field, ';') end
if server.content then server.print('content=', server.content, ';type=', server.content_type) end
""",
    "broken.lua": "server.print('half'); error('route failed')",
    "spin.lua": "while true do end",
    "header.lua": "local ok, err = server.sendHeader('Bad\\r\\nHeader', 'x'); server.print(tostring(ok))",
    "helpers.lua": """
local dir = server.get.dir
local r = {}
local _, u62 = server.uuid62(); local _, back = server.base62_to_uuid(u62); local _, again = server.uuid_to_base62(back)
r.uuid62_roundtrip = (again == u62); r.uuid62_uuid = back
local _, known = server.uuid_to_base62('123e4567-e89b-12d3-a456-426614174000'); r.known = known
local _, golden = server.uuid_to_base62('f81d4fae-7dec-11d0-a765-00a0c91e6bf6'); r.golden = golden
local _, golden_back = server.base62_to_uuid('LIhsBrTE21A-EN2J2swqbwM'); r.golden_back = golden_back
r.bad62 = server.base62_to_uuid('not/valid')
local okm = server.parse_mimetype('text/html;;'); r.mime_bad = okm
local _, m = server.parse_mimetype('text/html; charset=UTF-8'); r.mime = m.mimetype; r.charset = m.charset
r.mkdir = server.fs.mkdir(dir .. '/sub', 493)
local _, t = server.fs.ftype(dir .. '/sub'); r.ftype = t
local _, e = server.fs.exists(dir .. '/nope'); r.exists_nope = e
r.copy = server.fs.copyFile(dir .. '/a.txt', dir .. '/sub/b.txt')
r.move = server.fs.moveFile(dir .. '/sub/b.txt', dir .. '/c.txt')
local _, list = server.fs.readdir(dir); table.sort(list); r.list = table.concat(list, ',')
r.unlink = server.fs.unlink(dir .. '/c.txt')
local ok_rm, err_rm = server.fs.rmdir(dir .. '/missing'); r.rmdir_missing = ok_rm
local _, h = helper.filename_hash('abc.jp2'); r.hash = h
local _, s = server.table_to_json(r); server.sendHeader('Content-Type', 'application/json'); server.print(s)
""",
}


@pytest.fixture(scope="module")
def route_server(tmp_path_factory, imgroot):
    work = tmp_path_factory.mktemp("routes")
    scripts = work / "scripts"
    scripts.mkdir()
    for name, body in SCRIPTS.items():
        (scripts / name).write_text(body)
    docroot = work / "www"
    docroot.mkdir()
    (docroot / "page.lua").write_text("server.print('<p>page at ', server.uri, ' docroot=', server.docroot ~= nil, '</p>')")
    (docroot / "plain.txt").write_text("static")
    (docroot / "page.elua").write_text("<html><body>\n<h1>Hi</h1><lua>local n = 0 for i = 1, 3 do n = n + i end</lua>"
                                       "<p>sum=<lua>server.print(n)</lua></p>]]\n<lua>server.print(server.uri)</lua></body></html>")
    (docroot / "bad.elua").write_text("<p>start<lua>server.print('x')")
    extra = f"""scriptdir = '{scripts}', max_post_size = '1K',
}}
fileserver = {{ docroot = '{docroot}', wwwroute = '/www' }}
routes = {{
  {{ method = 'GET', route = '/api/hello', script = 'hello.lua' }},
  {{ method = 'POST', route = '/api/echo', script = 'echo.lua' }},
  {{ method = 'GET', route = '/api/broken', script = 'broken.lua' }},
  {{ method = 'GET', route = '/api/spin', script = 'spin.lua' }},
  {{ method = 'GET', route = '/api/missing', script = 'missing.lua' }},
  {{ method = 'GET', route = '/api/header', script = 'header.lua' }},
  {{ method = 'GET', route = '/api/helpers', script = 'helpers.lua' }},
"""
    srv = start_server(str(work), imgroot, extra=extra)
    yield srv
    stop_server(srv)


def post(srv, path, body, ctype):
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
    conn.request("POST", path, body=body, headers={"Content-Type": ctype})
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, data


def test_get_route_with_query(route_server):
    status, headers, body = route_server.request("/api/hello?name=Ada%20L&x=1")
    assert status == 200 and headers["content-type"] == "application/json"
    assert json.loads(body) == {"greeting": "hello", "name": "Ada L", "method": "GET", "uri": "/api/hello",
                                "ip": "127.0.0.1"}
    _, _, body = route_server.request("/api/hello", headers={"X-Forwarded-For": "203.0.113.7, 198.51.100.2"})
    assert json.loads(body)["ip"] == "198.51.100.2"
    status, _, body = route_server.request("/api/hello/sub/path")  # a route covers what is below it
    assert status == 200


def test_post_form_and_raw_body(route_server):
    status, headers, body = post(route_server, "/api/echo", "field=a+b%21", "application/x-www-form-urlencoded")
    assert status == 201 and headers["x-echo"] == "last wins"
    assert body == b"field=a b!;"
    status, _, body = post(route_server, "/api/echo", '{"k": 1}', "application/json")
    assert body == b'content={"k": 1};type=application/json'


def test_post_over_max_post_size_is_413(route_server):
    status, _, _ = post(route_server, "/api/echo", "field=" + "x" * 2000, "application/x-www-form-urlencoded")
    assert status == 413
    assert route_server.request("/health")[0] == 200


def test_method_must_match(route_server):
    # GET on a POST route: 405 naming what it takes, not a redirect to a made-up info.json.
    status, headers, _ = route_server.request("/api/echo")
    assert status == 405 and headers["allow"] == "POST, OPTIONS"
    assert route_server.request("/api/hello", method="DELETE")[0] == 405


def test_route_errors(route_server):
    assert route_server.request("/api/broken")[0] == 500
    assert route_server.request("/api/missing")[0] == 404
    start = time.time()
    assert route_server.request("/api/spin", timeout=30)[0] == 500
    assert time.time() - start < 10
    assert route_server.request("/api/hello")[0] == 200


def test_header_injection_refused(route_server):
    status, headers, body = route_server.request("/api/header")
    assert status == 200 and body == b"false"
    assert "bad" not in " ".join(headers)


def test_elua_page_streams_html_and_runs_chunks_in_one_state(route_server):
    status, headers, body = route_server.request("/www/page.elua")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert body == b"<html><body>\n<h1>Hi</h1><p>sum=6</p>]]\n/www/page.elua</body></html>"
    assert route_server.request("/www/bad.elua")[0] == 500


def test_docroot_lua_page_runs(route_server):
    status, headers, body = route_server.request("/www/page.lua")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert body == b"<p>page at /www/page.lua docroot=true</p>"
    assert route_server.request("/www/plain.txt")[2] == b"static"


def test_helpers_and_fs(route_server, tmp_path):
    import uuid as uuidlib
    (tmp_path / "a.txt").write_text("A")
    status, _, body = route_server.request(f"/api/helpers?dir={tmp_path}")
    assert status == 200, body
    r = json.loads(body)
    assert r["uuid62_roundtrip"] is True and uuidlib.UUID(r["uuid62_uuid"]).version == 4
    # SIPI's form (the sole library's): each 64-bit half in base62 (0-9A-Za-z, most significant
    # digit first), joined by '-'. DSP's IRIs carry it, so existing identifiers must round-trip.
    def b62(n, alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"):
        out = ""
        while True:
            n, d = divmod(n, 62)
            out = alphabet[d] + out
            if n == 0:
                return out
    n = uuidlib.UUID("123e4567-e89b-12d3-a456-426614174000").int
    assert r["known"] == b62(n >> 64) + "-" + b62(n & (2**64 - 1))
    assert r["golden"] == "LIhsBrTE21A-EN2J2swqbwM"  # SIPI's own test vector
    assert r["golden_back"] == "f81d4fae-7dec-11d0-a765-00a0c91e6bf6"
    assert r["bad62"] is False and r["mime_bad"] is False
    assert (r["mime"], r["charset"]) == ("text/html", "utf-8")  # lower-cased, as SIPI
    assert r["mkdir"] is True and r["ftype"] == "DIRECTORY" and r["exists_nope"] is False
    assert r["copy"] is True and r["move"] is True and r["unlink"] is True
    assert r["list"] == "a.txt,c.txt,sub" and r["rmdir_missing"] is False
    assert not (tmp_path / "c.txt").exists() and (tmp_path / "sub").is_dir()
    assert r["hash"] == "abc.jp2"
