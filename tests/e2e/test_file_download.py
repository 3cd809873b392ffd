"""/{prefix}/{id}/file downloads with byte ranges and file_pre_flight, and ranges on the docroot."""
import os

import pytest

from conftest import start_server, stop_server

DATA = bytes(range(256)) * 40  # 10240 bytes


@pytest.fixture(scope="module")
def files(tmp_path_factory, imgroot):
    root = tmp_path_factory.mktemp("files")
    (root / "data.bin").write_bytes(DATA)
    (root / "Zürich plan.bin").write_bytes(b"umlaut")
    (root / "secret.bin").write_bytes(b"nope")
    os.symlink("/etc/passwd", root / "passwd_link.bin")
    init = root / "init.lua"
    init.write_text("""
function file_pre_flight(filepath, cookie)
  if filepath:find('secret') then return 'deny' end
  return 'allow', filepath
end
""")
    www = root / "www"
    www.mkdir()
    (www / "big.txt").write_bytes(DATA)
    srv = start_server(str(root), str(root), extra=f"""initscript = '{init}',
}}
fileserver = {{ docroot = '{www}', wwwroute = '/www'""")
    yield srv
    stop_server(srv)


def test_whole_file(files):
    status, headers, body = files.request("/data.bin/file")
    assert status == 200 and body == DATA
    assert headers["accept-ranges"] == "bytes"
    assert headers["content-disposition"] == 'inline; filename="data.bin"'
    assert "last-modified" in headers and "etag" in headers


@pytest.mark.parametrize("rng,first,last", [("bytes=0-99", 0, 99), ("bytes=100-", 100, 10239),
                                            ("bytes=-50", 10190, 10239), ("bytes=10000-99999", 10000, 10239)])
def test_ranges(files, rng, first, last):
    status, headers, body = files.request("/data.bin/file", headers={"Range": rng})
    assert status == 206
    assert headers["content-range"] == f"bytes {first}-{last}/10240"
    assert body == DATA[first:last + 1]


def test_unsatisfiable_and_ignored_ranges(files):
    status, headers, _ = files.request("/data.bin/file", headers={"Range": "bytes=20000-"})
    assert status == 416 and headers["content-range"] == "bytes */10240"
    for rng in ["bytes=0-1,5-6", "items=0-5", "bytes=abc", "bytes=9-2"]:
        status, _, body = files.request("/data.bin/file", headers={"Range": rng})
        assert status == 200 and body == DATA, rng
    # If-Range with another validator: the whole file.
    status, _, body = files.request("/data.bin/file", headers={"Range": "bytes=0-9", "If-Range": '"old"'})
    assert status == 200 and len(body) == 10240


def test_head_and_304(files):
    status, headers, body = files.request("/data.bin/file", method="HEAD")
    assert status == 200 and body == b"" and headers["content-length"] == "10240"
    status, _, _ = files.request("/data.bin/file", headers={"If-None-Match": headers["etag"]})
    assert status == 304


def test_non_ascii_name(files):
    status, headers, body = files.request("/Z%C3%BCrich%20plan.bin/file")
    assert status == 200 and body == b"umlaut"
    assert headers["content-disposition"] == "inline; filename*=UTF-8''Z%C3%BCrich%20plan.bin"


def test_file_pre_flight_and_confinement(files):
    assert files.request("/secret.bin/file")[0] == 401
    status, _, body = files.request("/passwd_link.bin/file")
    assert status == 400 and b"root:" not in body
    assert files.request("/../etc/passwd/file")[0] == 400
    assert files.request("/missing.bin/file")[0] == 404


def test_docroot_ranges(files):
    status, headers, body = files.request("/www/big.txt", headers={"Range": "bytes=10-19"})
    assert status == 206 and body == DATA[10:20]
    assert headers["content-range"] == "bytes 10-19/10240"
