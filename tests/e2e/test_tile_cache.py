"""The decoded-tile cache, end to end: a viewer's 256² tiles inside one 512² codestream tile are
decoded from that tile once (classic JPEG 2000 from its second touch, HTJ2K from the first), as the
server's metrics count, and every tile is the source's pixels exactly (lossless files), the same
as a server without the cache sends."""
import concurrent.futures
import contextlib
import os
import subprocess

import numpy as np
import pytest
from PIL import Image

from conftest import metric, start_server, stop_server
from imgutil import decode

SIBLINGS = ["0,0,256,256", "256,0,256,256", "0,256,256,256", "256,256,256,256"]


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    d = tmp_path_factory.mktemp("tiles")
    rng = np.random.default_rng(12)
    y, x = np.mgrid[0:1100, 0:1300]
    base = np.stack([(x * 7 + y * 3) % 256, (x * y // 97) % 256, (x + 2 * y) % 256], axis=-1)
    pixels = np.clip(base + rng.integers(-20, 21, base.shape), 0, 255).astype(np.uint8)
    Image.fromarray(pixels).save(d / "src.ppm")
    root = d / "images"
    root.mkdir()
    subprocess.run(["opj_compress", "-i", str(d / "src.ppm"), "-o", str(root / "classic.jp2"), "-t", "512,512", "-n", "4"],
                   check=True, capture_output=True)
    subprocess.run(["ojph_compress", "-i", str(d / "src.ppm"), "-o", str(root / "ht.j2c"), "-reversible", "true",
                    "-num_decomps", "4", "-tile_size", "{512,512}"], check=True, capture_output=True)
    return root, pixels


@contextlib.contextmanager
def with_and_without_cache(tmp_path, root):
    """Two servers without a derivative cache: one with the decoded-tile cache, one without."""
    (tmp_path / "on").mkdir()
    (tmp_path / "off").mkdir()
    on = start_server(str(tmp_path / "on"), str(root), extra="cache_size = 0,")
    off = start_server(str(tmp_path / "off"), str(root), extra="cache_size = 0, decoded_tile_cache = 0,")
    try:
        yield on, off
    finally:
        stop_server(on)
        stop_server(off)


def tile_pixels(server, ident, region, size="max"):
    status, headers, body = server.request(f"/{ident}/{region}/{size}/0/default.png")
    assert status == 200, body
    return decode(body)


def assert_source_pixels(on, off, ident, region, pixels):
    """`region` at full resolution is the source's pixels exactly, with the cache and without."""
    x, y, w, h = map(int, region.split(","))
    got = tile_pixels(on, ident, region)
    assert np.array_equal(got, pixels[y:y + h, x:x + w]), region
    assert np.array_equal(tile_pixels(off, ident, region), got), region


@pytest.mark.parametrize("ident,misses,hits", [("classic.jp2", 2, 2), ("ht.j2c", 1, 3)])
def test_viewer_tiles_share_one_decoded_codestream_tile(tmp_path, images, ident, misses, hits):
    root, pixels = images
    with with_and_without_cache(tmp_path, root) as (on, off):
        assert metric(on, "sipi_decoded_tile_cache_bytes") == 128 * 2**20
        for region in SIBLINGS:
            assert_source_pixels(on, off, ident, region, pixels)
        # Sent one after the other, the four go to the same decode helper: the first classic
        # touch decodes only its quarter, the second the whole tile, which the last two share.
        assert metric(on, "sipi_decoded_tile_cache_misses_total") == misses
        assert metric(on, "sipi_decoded_tile_cache_hits_total") == hits
        assert metric(off, "sipi_decoded_tile_cache_hits_total") == 0
        # A region across four codestream tiles, half of them cached, at full and half resolution.
        for region, size in [("384,384,256,256", "max"), ("256,256,512,512", "256,")]:
            assert np.array_equal(tile_pixels(on, ident, region, size), tile_pixels(off, ident, region, size)), region


@pytest.mark.parametrize("ident,misses,hits", [("classic.jp2", 0, 0), ("ht.j2c", 6, 6)])
def test_ht_regions_across_many_tiles_share_them(tmp_path, images, ident, misses, hits):
    # Two full-resolution regions across the same six 512² codestream tiles of the 1.4 Mpx
    # level: HT tiles are decoded whole anyway, so the second region is cut from the first's;
    # a classic region across more than four tiles decodes only its parts and keeps nothing.
    root, pixels = images
    with with_and_without_cache(tmp_path, root) as (on, off):
        for region in ["100,100,1100,900", "50,50,1200,950"]:
            assert_source_pixels(on, off, ident, region, pixels)
        assert metric(on, "sipi_decoded_tile_cache_misses_total") == misses
        assert metric(on, "sipi_decoded_tile_cache_hits_total") == hits


def test_the_cache_is_a_quarter_of_the_decode_budget_at_most(tmp_path, images):
    root, _ = images
    srv = start_server(str(tmp_path), str(root), extra="max_decode_memory = '100M',")
    try:
        assert metric(srv, "sipi_decoded_tile_cache_bytes") == 25 * 2**20
        assert metric(srv, "sipi_decode_memory_budget_bytes") == 100 * 2**20
    finally:
        stop_server(srv)


@pytest.mark.parametrize("ident", ["classic.jp2", "ht.j2c"])
def test_thumbnails_share_one_decoded_small_level(tmp_path, images, ident):
    # Thumbnails of 1300×1100 at these sizes read the 1/8 level (163×138) through all nine
    # codestream tiles: the first decodes the level whole and keeps it, the others crop it, and
    # every answer is what a server without the cache sends.
    root, _ = images
    with with_and_without_cache(tmp_path, root) as (on, off):
        for size in ["!100,100", "!120,120", "90,"]:
            got = tile_pixels(on, ident, "full", size)
            assert np.array_equal(got, tile_pixels(off, ident, "full", size)), size
        assert metric(on, "sipi_decoded_tile_cache_misses_total") == 1
        assert metric(on, "sipi_decoded_tile_cache_hits_total") == 2


def test_a_files_renders_stay_with_the_helper_that_keeps_its_tiles(tmp_path, images):
    # Six names for one HTJ2K file (as the benchmark's hard links): each thumbnail decodes its
    # small level once, in the helper that served it, and every later thumbnail, sent while
    # another file's render keeps that helper busy, waits for it instead of decoding again in
    # another helper.
    root, _ = images
    links = tmp_path / "links"
    links.mkdir()
    names = [f"ht-{i}.j2c" for i in range(6)]
    for n in names:
        os.link(root / "ht.j2c", links / n)
    srv = start_server(str(tmp_path), str(links), extra="cache_size = 0, nthreads = 2,")
    try:
        def walk(part):
            for _ in range(3):
                for n in part:
                    status, _, body = srv.request(f"/{n}/full/!100,100/0/default.jpg")
                    assert status == 200, body

        for n in names:
            assert srv.request(f"/{n}/full/!100,100/0/default.jpg")[0] == 200
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            list(pool.map(walk, [names[:3], names[3:]]))
        assert metric(srv, "sipi_decoded_tile_cache_misses_total") == 6
        assert metric(srv, "sipi_decoded_tile_cache_hits_total") == 18
    finally:
        stop_server(srv)
