"""Large outputs are encoded into a spool file and sent from it, never held whole in memory
(service/spool.h): the bytes are those the in-memory way gives, the pixels are exact, and the
derivative cache stores and serves them from its files."""
import json
import os

import pytest
from PIL import Image

from conftest import metric, start_server, stop_server
from imgutil import decode

# 3000 × 3000 RGB is 27 MB of raw pixels: above the 24 MiB spool threshold.
SIDE = 3000


@pytest.fixture(scope="module")
def big_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("big")
    # Noise so that PNG cannot shrink it much (a body of tens of megabytes), with structure so
    # that a misplaced strip would show.
    noise = [Image.effect_noise((SIDE, SIDE), s) for s in (40, 60, 80)]
    grad = Image.linear_gradient("L").resize((SIDE, SIDE))
    img = Image.merge("RGB", (noise[0], grad, noise[2]))
    img.save(root / "big.tif")
    img.save(root / "small.png")
    return root


def start(tmp_path, root, extra="", env=None):
    # No size limits: `max` is the whole 3000 × 3000.
    extra = "max_width = 0, max_height = 0, max_area = 0, " + extra
    return start_server(str(tmp_path), str(root), extra=extra, env_overrides=env)


def log_details(srv, path):
    out = []
    for line in srv.log().splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if rec.get("path") == path:
            out.append(rec.get("detail"))
    return out


def test_a_large_png_is_spooled_and_pixel_exact(tmp_path, big_root):
    srv = start(tmp_path, big_root)
    try:
        before = metric(srv, "sipi_images_spooled_total")
        url = "/big.tif/full/max/0/default.png"
        status, headers, body = srv.request(url, timeout=120)
        assert status == 200 and headers["content-type"] == "image/png"
        assert int(headers["content-length"]) == len(body) > 20_000_000
        got = decode(body)
        assert got.size == (SIDE, SIDE) and got.mode == "RGB"
        assert got.tobytes() == Image.open(big_root / "big.tif").convert("RGB").tobytes()
        assert metric(srv, "sipi_images_spooled_total") == before + 1
        assert log_details(srv, url) == ["image spooled"]
        # A small output stays in memory.
        assert srv.request("/big.tif/full/500,/0/default.png")[0] == 200
        assert metric(srv, "sipi_images_spooled_total") == before + 1
    finally:
        stop_server(srv)


@pytest.mark.parametrize("url", ["/big.tif/full/max/0/default.jpg", "/big.tif/full/max/90/default.png",
                                 "/big.tif/full/2999,/0/gray.jpg", "/big.tif/full/max/0/default.webp"])
def test_spooled_bodies_are_the_bytes_memory_gives(tmp_path, big_root, url):
    spooled = start(tmp_path, big_root)
    in_memory = start(tmp_path, big_root, env={"SIPI_SPOOL_ABOVE": str(1 << 40)})
    try:
        a = spooled.request(url, timeout=120)
        b = in_memory.request(url, timeout=120)
        assert a[0] == b[0] == 200
        assert a[2] == b[2]
        assert log_details(spooled, url) == ["image spooled"] and log_details(in_memory, url) == ["image"]
    finally:
        stop_server(spooled)
        stop_server(in_memory)


@pytest.mark.parametrize("fmt", ["jpg", "png", "webp", "tif", "gif", "jp2", "pdf"])
def test_every_format_can_go_through_the_spool(tmp_path, big_root, fmt):
    # A threshold of 0 spools everything: each encoder's output, written to a file, is the
    # body the in-memory way gives.
    spooled = start(tmp_path, big_root, env={"SIPI_SPOOL_ABOVE": "0"})
    in_memory = start(tmp_path, big_root)
    try:
        url = f"/small.png/full/300,/0/default.{fmt}"
        a = spooled.request(url)
        b = in_memory.request(url)
        assert a[0] == b[0] == 200 and a[1]["content-type"] == b[1]["content-type"]
        if fmt == "pdf":  # carries its creation time
            strip = lambda d: b"".join(l for l in d.splitlines(True) if b"CreationDate" not in l)
            assert strip(a[2]) == strip(b[2])
        else:
            assert a[2] == b[2]
        assert log_details(spooled, url) == ["image spooled"]
    finally:
        stop_server(spooled)
        stop_server(in_memory)


def test_the_cache_keeps_a_spooled_body_and_serves_it_from_its_file(tmp_path, big_root):
    cache = tmp_path / "cache"
    srv = start(tmp_path, big_root, extra=f"cache_dir = '{cache}', cache_size = '1G',")
    try:
        url = "/big.tif/full/max/0/default.png"
        s1, h1, b1 = srv.request(url, timeout=120)
        assert s1 == 200
        [entry] = os.listdir(cache)
        assert os.path.getsize(cache / entry) > len(b1)  # header and key, then the body
        s2, h2, b2 = srv.request(url, timeout=120)
        assert s2 == 200 and b2 == b1 and h2["etag"] == h1["etag"]
        assert int(h2["content-length"]) == len(b1)
        assert log_details(srv, url) == ["image spooled", "image cached"]
        assert metric(srv, "sipi_cache_hits_total") == 1
    finally:
        stop_server(srv)
