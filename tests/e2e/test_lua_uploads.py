"""multipart/form-data uploads: streamed to temporary files, exposed as server.uploads, kept with
server.copyTmpfile, removed after the request, capped by max_post_size."""
import http.client
import json
import os

import pytest

from conftest import start_server, stop_server

UPLOAD_LUA = """
local out = { fields = server.post or {}, files = {} }
for i, u in ipairs(server.uploads or {}) do
  local ok = server.copyTmpfile(i, server.get.dest .. '/' .. u.fieldname .. '.bin')
  out.files[#out.files + 1] = { fieldname = u.fieldname, origname = u.origname, mimetype = u.mimetype,
                                filesize = u.filesize, tmpname = u.tmpname, copied = ok }
end
server.sendHeader('Content-Type', 'application/json')
local _, s = server.table_to_json(out)
server.print(s)
"""


@pytest.fixture(scope="module")
def up_server(tmp_path_factory, imgroot):
    work = tmp_path_factory.mktemp("uploads")
    scripts = work / "scripts"
    scripts.mkdir()
    (scripts / "upload.lua").write_text(UPLOAD_LUA)
    (scripts / "mime.lua").write_text("""
local _, m = server.file_mimetype(1)
local _, c = server.file_mimeconsistency(1)
local _, p = server.file_mimetype(server.get.path)
local bad_ok = server.file_mimetype(7)
local _, s = server.table_to_json({ mime = m.mimetype, charset = m.charset or '', consistent = c,
                                    path_mime = p.mimetype, missing_index = bad_ok })
server.print(s)
""")
    tmp = work / "tmp"
    tmp.mkdir()
    extra = f"""scriptdir = '{scripts}', tmpdir = '{tmp}', max_post_size = '2M',
}}
routes = {{ {{ method = 'POST', route = '/upload', script = 'upload.lua' }},
  {{ method = 'POST', route = '/mime', script = 'mime.lua' }},"""
    srv = start_server(str(work), imgroot, extra=extra)
    srv.tmp = tmp
    yield srv
    stop_server(srv)


def multipart(parts, boundary="----sipiTestBoundary7MA4YWxkTrZu0gW"):
    body = b""
    for name, filename, ctype, data in parts:
        body += f"--{boundary}\r\n".encode()
        disp = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
        body += f"Content-Disposition: {disp}\r\n".encode()
        if ctype:
            body += f"Content-Type: {ctype}\r\n".encode()
        body += b"\r\n" + data + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def post(srv, path, body, ctype):
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=60)
    conn.request("POST", path, body=body, headers={"Content-Type": ctype})
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, data


def test_files_and_fields(up_server, tmp_path):
    binary = bytes(range(256)) * 1000 + b"\r\n------sipiTestBoundary" + b"\r\n--"  # tricky bytes inside
    body, ctype = multipart([("title", None, None, b"A title"),
                             ("scan", "Zürich scan.tif", "image/tiff", binary),
                             ("note", "note.txt", "text/plain", b"hello\r\nworld")])
    status, data = post(up_server, f"/upload?dest={tmp_path}", body, ctype)
    assert status == 200, data
    out = json.loads(data)
    assert out["fields"] == {"title": "A title"}
    files = {f["fieldname"]: f for f in out["files"]}
    assert files["scan"]["origname"] == "Zürich scan.tif" and files["scan"]["mimetype"] == "image/tiff"
    assert files["scan"]["filesize"] == len(binary) and files["scan"]["copied"] is True
    assert (tmp_path / "scan.bin").read_bytes() == binary
    assert (tmp_path / "note.bin").read_bytes() == b"hello\r\nworld"
    for f in files.values():  # temporary files are gone once the request is answered
        assert not os.path.exists(f["tmpname"])
    assert os.listdir(up_server.tmp) == []


def test_upload_over_max_post_size_is_413_and_leaves_nothing(up_server, tmp_path):
    import socket
    body, ctype = multipart([("big", "big.bin", "application/octet-stream", b"x" * (3 * 1024 * 1024))])
    head = (f"POST /upload?dest={tmp_path} HTTP/1.1\r\nHost: x\r\nContent-Type: {ctype}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    import time
    with socket.create_connection(("127.0.0.1", up_server.port), timeout=30) as s:
        s.sendall(head)
        try:  # the server answers and closes as soon as the limit is passed
            for i in range(0, len(body), 65536):
                s.sendall(body[i:i + 65536])
        except (BrokenPipeError, ConnectionResetError):
            pass
        data = b""
        try:
            while b"\r\n\r\n" not in data:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        except ConnectionResetError:
            pass
    assert data.startswith(b"HTTP/1.1 413"), data[:100]
    time.sleep(0.2)  # the connection is closed after the 413; its session then lets the file go
    assert os.listdir(up_server.tmp) == []
    assert up_server.request("/health")[0] == 200


@pytest.mark.parametrize("body", [b"no boundary here", b"------sipiTestBoundary7MA4YWxkTrZu0gW\r\nno headers end"])
def test_malformed_multipart_is_400(up_server, tmp_path, body):
    status, _ = post(up_server, f"/upload?dest={tmp_path}", body,
                     "multipart/form-data; boundary=----sipiTestBoundary7MA4YWxkTrZu0gW")
    assert status == 400
    assert os.listdir(up_server.tmp) == []


@pytest.mark.parametrize("name,data,mime,consistent", [
    ("scan.png", "png", "image/png", True),
    ("scan.jpg", "png", "image/png", False),      # a PNG under a JPEG name
    ("notes.txt", b"plain words\n", "text/plain", True),
])
def test_file_mimetype_and_consistency(up_server, imgroot, name, data, mime, consistent):
    if data == "png":
        data = open(os.path.join(imgroot, "grid.png"), "rb").read()
    body, ctype = multipart([("file", name, "application/octet-stream", data)])
    status, out = post(up_server, f"/mime?path={os.path.join(imgroot, 'grid.jpg')}", body, ctype)
    assert status == 200, out
    r = json.loads(out)
    assert r["mime"] == mime and r["consistent"] is consistent
    assert r["path_mime"] == "image/jpeg" and r["missing_index"] is False
    if mime == "text/plain":
        assert r["charset"] == "us-ascii"
