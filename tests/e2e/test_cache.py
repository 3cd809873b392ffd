"""Derivative cache (cache_dir / cache_size / cache_nfiles) and HTTP caching headers."""
import json
import os
import shutil
import time

import pytest
from PIL import Image

from conftest import metric, start_server, stop_server
from fixtures import cell_colour
from imgutil import decode


def cache_files(d):
    return sorted(os.path.join(d, n) for n in os.listdir(d)) if os.path.isdir(d) else []


def served_from_cache(srv, path):
    """Access-log lines for `path` served from the cache (detail "image cached")."""
    n = 0
    for line in srv.log().splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if rec.get("path") == path and rec.get("detail") == "image cached":
            n += 1
    return n


@pytest.fixture
def root(tmp_path, imgroot):
    r = tmp_path / "images"
    r.mkdir()
    shutil.copy(os.path.join(imgroot, "grid.png"), r / "a.png")
    shutil.copy(os.path.join(imgroot, "grid.png"), r / "b.png")
    return r


@pytest.fixture
def cached(tmp_path, root):
    cache = tmp_path / "cache"
    srv = start_server(str(tmp_path), str(root), extra=f"cache_dir = '{cache}', cache_size = '10M', cache_nfiles = 100,")
    srv.cache = str(cache)
    yield srv
    stop_server(srv)


def test_hit_returns_identical_bytes(cached):
    url = "/a.png/10,20,200,100/100,/0/default.jpg"
    s1, h1, b1 = cached.request(url)
    assert s1 == 200 and len(cache_files(cached.cache)) == 1
    s2, h2, b2 = cached.request(url)
    assert s2 == 200 and b2 == b1 and h2["etag"] == h1["etag"]
    assert h2["content-type"] == "image/jpeg"
    assert served_from_cache(cached, url) == 1
    # Another form of the same canonical request is the same entry ("100,50" is "100,").
    s3, _, b3 = cached.request(url.replace("/100,/", "/100,50/"))
    assert s3 == 200 and len(cache_files(cached.cache)) == 1 and b3 == b1


def test_head_does_not_fill_the_cache(cached):
    status, _, body = cached.request("/a.png/full/50,/0/default.png", method="HEAD")
    assert status == 200 and body == b""
    assert cache_files(cached.cache) == []


def test_changed_source_is_not_served_from_the_cache(cached, root):
    url = "/a.png/0,0,40,40/max/0/default.png"
    _, _, before = cached.request(url)
    assert decode(before).getpixel((5, 5))[:3] == cell_colour(0, 0)
    # Same name, same size, new pixels and a new modification time.
    img = Image.open(root / "a.png").convert("RGB")
    img.paste((1, 2, 3), (0, 0, 40, 40))
    img.save(root / "a.png")
    st = os.stat(root / "a.png")
    os.utime(root / "a.png", ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))
    status, _, after = cached.request(url)
    assert status == 200 and decode(after).getpixel((5, 5))[:3] == (1, 2, 3)
    assert served_from_cache(cached, url) == 0


@pytest.mark.parametrize("damage", ["truncate", "flip", "empty"])
def test_damaged_cache_file_is_detected_and_not_served(cached, damage):
    url = "/b.png/full/120,/0/default.png"
    _, _, good = cached.request(url)
    [f] = cache_files(cached.cache)
    data = open(f, "rb").read()
    if damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "flip":
        data = data[:-100] + bytes([data[-100] ^ 0xFF]) + data[-99:]
    else:
        data = b""
    open(f, "wb").write(data)
    status, _, body = cached.request(url)
    assert status == 200 and body == good
    assert served_from_cache(cached, url) == 0
    assert "damaged entry removed" in cached.log()
    # Rewritten by the miss, and served from the cache again afterwards.
    status, _, body = cached.request(url)
    assert status == 200 and body == good and served_from_cache(cached, url) == 1


def test_file_limit_evicts_down_to_80_percent(tmp_path, root):
    cache = tmp_path / "c"
    # A small source, so that every derivative is cheap (well under 20 ms of CPU) even on a busy
    # machine; one file throughout, so that its helper is warm when it matters.
    Image.new("RGB", (96, 72), (200, 40, 90)).save(root / "s.png")
    srv = start_server(str(tmp_path), str(root), extra=f"cache_dir = '{cache}', cache_nfiles = 10,")
    try:
        for w in range(20, 45):
            # Twice: once the cache is full, a cheap derivative is stored at its second request.
            for _ in range(2):
                assert srv.request(f"/s.png/full/{w},/0/default.jpg")[0] == 200
                assert len(cache_files(str(cache))) <= 10
        # The most recent entries are the ones kept.
        for w, kept in ((44, 1), (20, 0)):
            url = f"/s.png/full/{w},/0/default.jpg"
            before = served_from_cache(srv, url)
            assert srv.request(url)[0] == 200
            assert served_from_cache(srv, url) == before + kept
        # A walk of cheap one-off derivatives larger than the cache (a viewer panning, a
        # crawler) leaves it alone instead of writing and evicting a file per request.
        kept = cache_files(str(cache))
        declined = metric(srv, "sipi_cache_declined_total")
        for w in range(50, 80):
            assert srv.request(f"/s.png/full/{w},/0/default.jpg")[0] == 200
        assert cache_files(str(cache)) == kept
        assert metric(srv, "sipi_cache_declined_total") == declined + 30
    finally:
        stop_server(srv)


def test_byte_limit_is_kept(tmp_path, root):
    cache = tmp_path / "c"
    limit = 60 * 1024
    srv = start_server(str(tmp_path), str(root), extra=f"cache_dir = '{cache}', cache_size = '60K', cache_nfiles = 0,")
    try:
        for w in range(100, 400, 15):
            assert srv.request(f"/a.png/full/{w},/0/default.png")[0] == 200
            assert sum(os.path.getsize(f) for f in cache_files(str(cache))) <= limit
        assert len(cache_files(str(cache))) >= 1
    finally:
        stop_server(srv)


def test_cache_survives_a_restart_and_drops_partial_writes(tmp_path, root):
    cache = tmp_path / "c"
    extra = f"cache_dir = '{cache}',"
    url = "/a.png/full/77,/0/default.webp"
    srv = start_server(str(tmp_path), str(root), extra=extra)
    try:
        _, _, first = srv.request(url)
    finally:
        stop_server(srv)
    partial = cache / ".tmp-0123-host-1-1"
    partial.write_bytes(b"half a response")
    two_hours_ago = time.time() - 7200
    os.utime(partial, (two_hours_ago, two_hours_ago))  # a crash's: another instance's is younger
    writing = cache / ".tmp-4567-other-2-1"
    writing.write_bytes(b"another instance writing")
    srv = start_server(str(tmp_path), str(root), extra=extra)
    try:
        status, _, again = srv.request(url)
        assert status == 200 and again == first and served_from_cache(srv, url) == 1
        assert not partial.exists()
        assert writing.exists()
    finally:
        stop_server(srv)


def test_two_instances_share_one_cache_directory(tmp_path, root):
    # Instances on shared storage: what one renders, the other serves from the cache, bytes
    # and validators alike.
    cache = tmp_path / "shared"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    extra = f"cache_dir = '{cache}',"
    a = start_server(str(tmp_path / "a"), str(root), extra=extra)
    b = start_server(str(tmp_path / "b"), str(root), extra=extra)
    try:
        url = "/a.png/full/91,/0/default.png"
        status, ha, first = a.request(url)
        assert status == 200 and served_from_cache(a, url) == 0
        status, hb, again = b.request(url)
        assert status == 200 and again == first and served_from_cache(b, url) == 1
        assert hb["etag"] == ha["etag"] and hb["last-modified"] == ha["last-modified"]
        assert [p.name for p in cache.iterdir() if p.name.startswith(".tmp-")] == []
    finally:
        stop_server(a)
        stop_server(b)


def test_cache_size_zero_disables_the_cache(tmp_path, root):
    cache = tmp_path / "off"
    srv = start_server(str(tmp_path), str(root), extra=f"cache_dir = '{cache}', cache_size = 0,")
    try:
        assert srv.request("/a.png/full/50,/0/default.png")[0] == 200
        assert srv.request("/a.png/full/50,/0/default.png")[0] == 200
        assert cache_files(str(cache)) == []
        assert served_from_cache(srv, "/a.png/full/50,/0/default.png") == 0
    finally:
        stop_server(srv)


def test_bad_cache_settings_stop_startup(tmp_path, root):
    for extra, key in [("cache_size = 'lots',", "cache_size"), ("cache_nfiles = -3,", "cache_nfiles")]:
        with pytest.raises(RuntimeError, match=key):
            start_server(str(tmp_path), str(root), extra=extra)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(RuntimeError, match="cache_dir"):
        start_server(str(tmp_path), str(root), extra=f"cache_dir = '{blocker}/sub',")


INIT = r'''
function pre_flight(prefix, identifier, cookie)
  local path = config.imgroot .. '/' .. identifier
  if server.cookies['member'] == 'yes' then return 'allow', path end
  return {type = 'restrict', size = '!60,60'}, path
end
'''


@pytest.fixture
def hooked(tmp_path, root):
    (tmp_path / "init.lua").write_text(INIT)
    srv = start_server(str(tmp_path), str(root),
                       extra=f"initscript = '{tmp_path / 'init.lua'}', cache_dir = '{tmp_path / 'c'}',")
    yield srv
    stop_server(srv)


def test_restricted_and_allowed_views_never_share_an_entry(hooked):
    url = "/a.png/full/max/0/default.jpg"  # (default.png of a PNG would be the file itself)
    for _ in range(2):  # second round from the cache
        s, h_r, restricted = hooked.request(url)
        assert s == 200 and decode(restricted).size[0] <= 60
        s, h_a, full = hooked.request(url, headers={"Cookie": "member=yes"})
        assert s == 200 and decode(full).size == (1600, 1200)
    assert served_from_cache(hooked, url) == 2
    assert h_r["cache-control"] == "private, no-cache"
    assert h_a["cache-control"] == "public, max-age=86400"
    # The hook reads credentials: shared caches must key on them.
    for h in (h_r, h_a):
        assert {"cookie", "authorization"} <= {v.strip().lower() for v in h["vary"].split(",")}


def test_http_caching_headers_and_304(server):
    url = "/grid.png/full/64,/0/default.jpg"
    status, h, _ = server.request(url, headers={"Origin": "https://viewer.example"})
    assert status == 200 and h["cache-control"] == "public, max-age=86400"
    assert h["etag"].startswith('"') and "last-modified" in h
    assert "origin" in {v.strip().lower() for v in h["vary"].split(",")}
    assert "cookie" not in h["vary"].lower()  # no hook: credentials do not matter
    for cond in ({"If-None-Match": h["etag"]}, {"If-Modified-Since": h["last-modified"]},
                 {"If-None-Match": f'"x", {h["etag"]}'}):
        status, h304, body = server.request(url, headers=cond)
        assert status == 304 and body == b"" and h304["etag"] == h["etag"]
        assert h304["cache-control"] == h["cache-control"]
    # A stale validator gets the full response.
    assert server.request(url, headers={"If-None-Match": '"stale"'})[0] == 200
    assert server.request(url, headers={"If-Modified-Since": "Mon, 01 Jan 1990 00:00:00 GMT"})[0] == 200
    # info.json: same rules, and the representation varies with Accept.
    status, hi, _ = server.request("/grid.png/info.json")
    assert hi["cache-control"] == "public, max-age=86400" and "accept" in hi["vary"].lower()
    status, hi304, _ = server.request("/grid.png/info.json", headers={"If-None-Match": hi["etag"]})
    assert status == 304 and "accept" in hi304["vary"].lower()


def test_cache_control_is_configurable(tmp_path, root):
    srv = start_server(str(tmp_path), str(root), extra="cache_control = 'public, max-age=60, immutable',")
    try:
        _, h, _ = srv.request("/a.png/full/30,/0/default.png")
        assert h["cache-control"] == "public, max-age=60, immutable"
    finally:
        stop_server(srv)
