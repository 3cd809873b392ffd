"""pre_flight hooks: each outcome, path from the hook, kills the script cannot escape, sandbox."""
import json
import os
import shutil
import time

import pytest
from PIL import Image

from conftest import start_server, stop_server
from fixtures import CELL, cell_colour
from imgutil import decode

INIT = r'''
local counter = 0

function pre_flight(prefix, identifier, cookie)
  local path = config.imgroot .. '/' .. identifier
  if identifier == 'grid.png' then return 'allow', path end
  if identifier == 'deny.png' then return 'deny' end
  if identifier == 'small.png' then return {type = 'restrict', size = '!100,100'}, config.imgroot .. '/grid.png' end
  if identifier == 'marked.png' then
    return {type = 'restrict', watermark = config.imgroot .. '/wm.png'}, config.imgroot .. '/grid.png'
  end
  if identifier == 'login.png' then
    return {type = 'login', cookieUrl = 'https://auth.example/login', tokenUrl = 'https://auth.example/token',
            logoutUrl = 'https://auth.example/logout', label = 'Log in', header = 'Please log in'},
           config.imgroot .. '/grid.png'
  end
  if identifier == 'clickthrough.png' then return {type = 'clickthrough'}, path end
  if identifier == 'alias.png' then return 'allow', config.imgroot .. '/grid.png' end
  if identifier == 'outside.png' then return 'allow', '/etc/passwd' end
  if identifier == 'bogus.png' then return 'maybe', path end
  if identifier == 'nopath.png' then return 'allow' end
  if identifier == 'numbers.png' then return {type = 'restrict', size = 100}, path end
  if identifier == 'cookie.png' then
    if server.cookies['session'] == 'ok' then return 'allow', config.imgroot .. '/grid.png' end
    return 'deny'
  end
  if identifier == 'loop.png' then while true do end end
  if identifier == 'pcall_loop.png' then
    while true do pcall(function() while true do end end) end
  end
  if identifier == 'hog.png' then
    local t = {}
    while true do t[#t + 1] = string.rep('x', 1024 * 1024) end
  end
  if identifier == 'error.png' then error('boom') end
  if identifier == 'own.png' then
    server.sendStatus(302)
    server.sendHeader('Location', 'https://login.example/?next=' .. identifier)
    server.print('go and log in')
    error('after answering, an error does not matter')
  end
  if identifier == 'sandbox.png' then
    -- every escape must fail; only then allow
    local escapes = {
      function() return io.open('/etc/passwd') end,
      function() return os.execute('true') end,
      function() return load('return 1')() end,
      function() return loadfile('/etc/passwd') end,
      function() return dofile('/etc/passwd') end,
      function() return debug.getinfo(1) end,
      function() return package.loadlib('libc.so.6', 'system') end,
      function() return require('../../etc/passwd') end,
      function() return os.remove('/tmp/x') end,
      function() return string.dump(pre_flight) and load(string.dump(pre_flight), 'x', 'b') end,
    }
    for i, f in ipairs(escapes) do
      local ok = pcall(f)
      if ok then return 'deny' end
    end
    return 'allow', config.imgroot .. '/grid.png'
  end
  if identifier == 'json.png' then
    local ok, s = server.table_to_json({a = 1, b = {1, 2, 3}, c = 'x'})
    local ok2, t = server.json_to_table(s)
    local ok3, u = server.uuid()
    -- SIPI's conventions: JSON arrays come back 0-based; an empty table is (true, nil).
    local ok4, none = server.table_to_json({})
    local ok5 = server.json_to_table('42')
    if ok and ok2 and t.b[0] == 1 and t.b[2] == 3 and t.b[3] == nil and t.c == 'x' and ok3 and #u == 36
       and ok4 and none == nil and not ok5 then return 'allow', config.imgroot .. '/grid.png' end
    return 'deny'
  end
  if identifier == 'counter.png' then
    counter = counter + 1   -- a fresh state each request: never above 1
    if counter == 1 then return 'allow', config.imgroot .. '/grid.png' end
    return 'deny'
  end
  if identifier == 'helper.png' then
    local h = require('helper')
    return h.decide(), config.imgroot .. '/grid.png'
  end
  return 'allow', path
end
'''


@pytest.fixture(scope="module")
def lua_server(tmp_path_factory, imgroot):
    work = tmp_path_factory.mktemp("lua")
    scripts = work / "scripts"
    scripts.mkdir()
    (scripts / "helper.lua").write_text("return { decide = function() return 'allow' end }\n")
    (work / "init.lua").write_text(INIT)
    Image.new("L", (100, 100), 255).save(os.path.join(imgroot, "wm.png"))
    srv = start_server(str(work), imgroot,
                       extra=f"initscript = '{work / 'init.lua'}', scriptdir = '{scripts}',")
    srv.init_path = work / "init.lua"
    yield srv
    stop_server(srv)


def test_allow(lua_server):
    status, _, body = lua_server.request("/grid.png/0,0,100,100/max/0/default.png")
    assert status == 200 and decode(body).getpixel((50, 50)) == cell_colour(0, 0)


def test_deny_is_401_for_image_but_not_info(lua_server):
    assert lua_server.request("/deny.png/full/max/0/default.jpg")[0] == 401
    # As SIPI: only image requests are gated; info.json looks at the default path (no file here).
    assert lua_server.request("/deny.png/info.json")[0] == 404


def test_restrict_size_caps_the_delivered_size(lua_server):
    status, headers, body = lua_server.request("/small.png/full/max/0/default.png")
    assert status == 200 and decode(body).size == (100, 75)
    assert headers["cache-control"] == "private, no-cache"
    status, _, body = lua_server.request("/small.png/full/50,/0/default.png")  # smaller: as asked
    assert decode(body).size == (50, 38)
    # An allowed client and a restricted one never share a validator.
    _, h_full, _ = lua_server.request("/grid.png/full/max/0/default.png")
    assert h_full["etag"] != headers["etag"]


def test_restrict_watermark_is_blended_in(lua_server):
    _, _, plain = lua_server.request("/grid.png/full/160,/0/default.png")
    status, _, marked = lua_server.request("/marked.png/full/160,/0/default.png")
    assert status == 200
    a, b = decode(plain).convert("RGB"), decode(marked).convert("RGB")
    # The white mark, fitted to the 160×120 image, covers its centre: lighter there by 80 %.
    pa, pb = a.getpixel((80, 60)), b.getpixel((80, 60))
    for x, y in zip(pa, pb):
        assert abs(y - (x * 0.2 + 255 * 0.8)) <= 3, (pa, pb)
    assert a.getpixel((2, 2)) == b.getpixel((2, 2))  # outside the square mark: untouched


def test_login_gives_401_with_auth_service(lua_server):
    status, headers, body = lua_server.request("/login.png/info.json")
    assert status == 401
    info = json.loads(body)
    svc = info["service"][0]
    assert svc["@context"] == "http://iiif.io/api/auth/1/context.json"
    assert svc["@id"] == "https://auth.example/login"
    assert svc["profile"] == "http://iiif.io/api/auth/1/login"
    assert svc["label"] == "Log in" and svc["header"] == "Please log in"
    assert {"@id": "https://auth.example/token", "profile": "http://iiif.io/api/auth/1/token"} in svc["service"]
    assert {"@id": "https://auth.example/logout", "profile": "http://iiif.io/api/auth/1/logout"} in svc["service"]
    assert info["width"] == 1600
    assert lua_server.request("/login.png/full/max/0/default.jpg")[0] == 401


def test_path_from_the_hook(lua_server):
    status, _, body = lua_server.request("/alias.png/0,0,100,100/max/0/default.png")
    assert status == 200 and decode(body).getpixel((50, 50)) == cell_colour(0, 0)
    status, _, body = lua_server.request("/outside.png/info.json")
    assert status == 400 and b"/etc" not in body and b"passwd" not in body  # a script cannot hand out /etc/passwd either


@pytest.mark.parametrize("ident", ["bogus.png", "nopath.png", "numbers.png", "clickthrough.png", "error.png"])
def test_invalid_hook_returns_are_500(lua_server, ident):
    assert lua_server.request(f"/{ident}/info.json")[0] == 500


def test_cookies_reach_the_hook(lua_server):
    assert lua_server.request("/cookie.png/full/64,/0/default.png")[0] == 401
    assert lua_server.request("/cookie.png/full/64,/0/default.png", headers={"Cookie": "a=b; session=ok"})[0] == 200


@pytest.mark.parametrize("ident", ["loop.png", "pcall_loop.png", "hog.png"])
def test_runaway_scripts_are_killed(lua_server, ident):
    start = time.time()
    status, _, _ = lua_server.request(f"/{ident}/info.json", timeout=30)
    assert status == 500
    assert time.time() - start < 10  # SIPI_LUA_TIMEOUT_MS=1000 in this server's environment
    assert lua_server.request("/grid.png/info.json")[0] == 200  # and the server carries on
    assert "lua.killed" in lua_server.log()


def test_sandbox_escapes_are_refused(lua_server):
    assert lua_server.request("/sandbox.png/info.json")[0] == 200


def test_server_functions(lua_server):
    assert lua_server.request("/json.png/info.json")[0] == 200


def test_each_request_gets_a_fresh_state(lua_server):
    for _ in range(3):
        assert lua_server.request("/counter.png/info.json")[0] == 200


def test_require_from_scriptdir(lua_server):
    assert lua_server.request("/helper.png/info.json")[0] == 200


def test_script_edits_apply_without_restart(lua_server):
    original = lua_server.init_path.read_text()
    try:
        lua_server.init_path.write_text(original.replace("if identifier == 'grid.png' then return 'allow', path end",
                                                         "if identifier == 'grid.png' then return 'deny' end"))
        time.sleep(0.05)
        assert lua_server.request("/grid.png/full/64,/0/default.png")[0] == 401
        assert lua_server.request("/grid.png/info.json")[0] == 200  # a deny gates pixels only (SIPI)
    finally:
        lua_server.init_path.write_text(original)
    time.sleep(0.05)
    assert lua_server.request("/grid.png/info.json")[0] == 200


def test_syntax_error_in_init_script_stops_startup(tmp_path, imgroot):
    import subprocess
    from conftest import SIPI_BIN, write_config, free_port
    bad = tmp_path / "bad_init.lua"
    bad.write_text("function pre_flight(a, b)\n  return 'allow'\n-- no end\n")
    cfg = write_config(str(tmp_path), imgroot, free_port(), extra=f"initscript = '{bad}',")
    r = subprocess.run([SIPI_BIN, "server", "--config", cfg], capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    assert "bad_init.lua:3:" in r.stderr or "bad_init.lua:4:" in r.stderr, r.stderr


def test_hook_that_answers_itself_wins(lua_server):
    for path in ["/own.png/info.json", "/own.png/full/max/0/default.jpg"]:
        status, headers, body = lua_server.request(path)
        assert status == 302 and headers["location"] == "https://login.example/?next=own.png"
        assert body == b"go and log in"
