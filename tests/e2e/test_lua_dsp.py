"""The shipped DSP-style pre_flight (examples/lua) against a small permission service that this
test runs on loopback, and the login / whoami route examples (JWT cookie)."""
import base64
import json
import os
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import start_server, stop_server
from fixtures import grid_image
from imgutil import decode

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "lua")
PERMISSIONS = {"open.png": 2, "thumb.png": 1, "secret.png": 0}


class PermissionService(BaseHTTPRequestHandler):
    calls = []

    def do_GET(self):
        PermissionService.calls.append((self.path, self.headers.get("Authorization")))
        parts = self.path.split("/")  # /admin/files/{project}/{file}
        if len(parts) != 5 or parts[1:3] != ["admin", "files"]:
            self.send_response(404)
            self.end_headers()
            return
        code = PERMISSIONS.get(parts[4], 0)
        if self.headers.get("Authorization") == "Bearer curator":
            code = 8  # a project admin sees everything
        body = json.dumps({"permissionCode": code, "restrictedViewSettings": {"size": "!64,64"}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def dsp(tmp_path_factory):
    work = tmp_path_factory.mktemp("dsp")
    images = work / "images" / "0801"
    images.mkdir(parents=True)
    for name in PERMISSIONS:
        grid_image(400, 300).save(images / name)
    service = ThreadingHTTPServer(("127.0.0.1", 0), PermissionService)
    threading.Thread(target=service.serve_forever, daemon=True).start()
    os.environ["DSP_API"] = f"127.0.0.1:{service.server_address[1]}"
    scripts = work / "scripts"
    scripts.mkdir()
    for f in ("login.lua", "whoami.lua"):
        shutil.copy(os.path.join(EXAMPLES, f), scripts / f)
    (scripts / "expired.lua").write_text(
        "local ok, t = server.generate_jwt({ sub = 'ada', exp = server.systime() - 10 }); server.print(t)")
    extra = f"""initscript = '{os.path.join(EXAMPLES, "dsp_preflight.lua")}', scriptdir = '{scripts}',
  jwt_secret = 'test-secret-0123456789',
}}
routes = {{
  {{ method = 'GET', route = '/login', script = 'login.lua' }},
  {{ method = 'GET', route = '/whoami', script = 'whoami.lua' }},
  {{ method = 'GET', route = '/expired', script = 'expired.lua' }},
"""
    srv = start_server(str(work), str(work / "images"), extra=extra)
    yield srv
    stop_server(srv)
    service.shutdown()


def test_full_view(dsp):
    status, _, body = dsp.request("/0801/open.png/full/max/0/default.png")
    assert status == 200 and decode(body).size == (400, 300)
    path, auth = PermissionService.calls[-1]
    assert path == "/admin/files/0801/open.png" and auth is None


def test_restricted_view_is_capped(dsp):
    status, headers, body = dsp.request("/0801/thumb.png/full/max/0/default.png")
    assert status == 200 and decode(body).size == (64, 48)
    assert headers["cache-control"] == "private, no-cache"


def test_denied(dsp):
    assert dsp.request("/0801/secret.png/full/max/0/default.jpg")[0] == 401
    # As SIPI: a deny gates the pixels; info.json still describes the file.
    assert dsp.request("/0801/secret.png/info.json")[0] == 200


def test_bearer_token_is_forwarded(dsp):
    status, _, body = dsp.request("/0801/secret.png/full/max/0/default.png", headers={"Authorization": "Bearer curator"})
    assert status == 200 and decode(body).size == (400, 300)
    assert PermissionService.calls[-1][1] == "Bearer curator"


def test_login_sets_a_jwt_cookie_that_whoami_reads(dsp):
    creds = base64.b64encode(b"ada:secret").decode()
    status, headers, body = dsp.request("/login", headers={"Authorization": f"Basic {creds}"})
    assert status == 200
    token = json.loads(body)["token"]
    assert headers["set-cookie"].startswith(f"sipi={token}") and "HttpOnly" in headers["set-cookie"]
    status, _, body = dsp.request("/whoami", headers={"Cookie": f"sipi={token}"})
    assert status == 200 and json.loads(body) == {"user": "ada"}
    # The cookie's token reaches the permission service from pre_flight too.
    dsp.request("/0801/open.png/info.json", headers={"Cookie": f"sipi={token}"})
    assert PermissionService.calls[-1][1] == f"Bearer {token}"


def b64(d):
    return base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()


def test_jwt_tampering_alg_none_and_expiry_are_refused(dsp):
    creds = base64.b64encode(b"ada:x").decode()
    token = json.loads(dsp.request("/login", headers={"Authorization": f"Basic {creds}"})[2])["token"]
    head, payload, sig = token.split(".")
    forged = head + "." + b64({"sub": "admin", "iss": "sipi", "exp": 4102444800}) + "." + sig
    none = b64({"alg": "none", "typ": "JWT"}) + "." + b64({"sub": "admin", "exp": 4102444800}) + "."
    expired = dsp.request("/expired")[2].decode()
    assert expired.count(".") == 2
    for bad in [forged, none, "not.a.token", token[:-2], expired]:
        status, _, body = dsp.request("/whoami", headers={"Cookie": f"sipi={bad}"})
        assert status == 401, (bad, body)
    assert dsp.request("/login")[0] == 401  # no credentials


def test_unknown_file_is_denied(dsp):
    assert dsp.request("/0801/unknown.png/full/max/0/default.jpg")[0] == 401
    assert dsp.request("/0801/unknown.png/info.json")[0] == 404  # not gated (SIPI), and not there


def test_permission_service_down_means_deny(dsp, tmp_path):
    from conftest import free_port
    saved = os.environ["DSP_API"]
    os.environ["DSP_API"] = f"127.0.0.1:{free_port()}"  # nothing listens there
    try:
        srv = start_server(str(tmp_path), os.path.join(dsp.workdir, "images"),
                           extra=f"initscript = '{os.path.join(EXAMPLES, 'dsp_preflight.lua')}',")
        try:
            assert srv.request("/0801/open.png/full/max/0/default.jpg")[0] == 401
            assert "permission service unreachable" in srv.log()
        finally:
            stop_server(srv)
    finally:
        os.environ["DSP_API"] = saved
