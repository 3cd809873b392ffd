"""Aligned tiles of JPEG-compressed pyramidal TIFFs are sent as stored (no decode, no encode).

The expected bytes are rebuilt here independently from the TIFF's own tags (read with Pillow):
JPEGTables + the stored tile, with an Adobe marker for RGB-coded tiles. Pixels are compared
with the server's decoded PNG of the same request."""
import json
import os
import subprocess

import numpy as np
import pytest
from PIL import Image

from conftest import start_server, stop_server
from fixtures import ADOBE_RGB, CELL, cell_colour, grid_image
from imgutil import decode

ADOBE_APP14 = b"\xff\xee\x00\x0eAdobe\x00\x64\x00\x00\x00\x00\x00"


def vips(*args):
    subprocess.run(["vips", *args], check=True, capture_output=True)


@pytest.fixture(scope="module")
def tiles(tmp_path_factory):
    work = tmp_path_factory.mktemp("stored")
    root = work / "images"
    root.mkdir()
    grid = grid_image()
    grid.save(root / "grid.png")
    grid.save(root / "adobe.png", icc_profile=open(ADOBE_RGB, "rb").read())
    grid.convert("L").save(root / "grey.png")
    common = ["--tile", "--tile-width", "256", "--tile-height", "256", "--pyramid", "--compression", "jpeg"]
    vips("tiffsave", str(root / "grid.png"), str(root / "ycbcr.tif"), *common, "--Q", "75")
    vips("tiffsave", str(root / "grid.png"), str(root / "rgb.tif"), *common, "--Q", "95")
    vips("tiffsave", str(root / "grey.png"), str(root / "grey.tif"), *common, "--Q", "85")
    vips("tiffsave", str(root / "adobe.png"), str(root / "icc.tif"), *common, "--Q", "75")
    vips("tiffsave", str(root / "grid.png"), str(root / "deflate.tif"), "--tile", "--tile-width", "256",
         "--tile-height", "256", "--pyramid", "--compression", "deflate")
    srv = start_server(str(work), str(root), extra="cache_size = 0,")
    srv.root = root
    yield srv
    stop_server(srv)


def details(srv):
    out = {}
    for line in srv.log().splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if "path" in rec and "detail" in rec:
            out[rec["path"]] = rec["detail"]
    return out


def expected_bytes(path, page, col, row):
    """The stored tile as a complete JPEG, from the TIFF's tags."""
    im = Image.open(path)
    im.seek(page)
    tags = im.tag_v2
    across = -(-tags[256] // tags[322])
    i = row * across + col
    with open(path, "rb") as f:
        f.seek(tags[324][i])
        tile = f.read(tags[325][i])
    tables = tags.get(347, b"")
    assert tile[:2] == b"\xff\xd8"
    head = b"\xff\xd8" + (ADOBE_APP14 if tags[262] == 2 else b"")
    return head + (tables[2:-2] if tables else b"") + tile[2:]


@pytest.mark.parametrize("name", ["ycbcr.tif", "rgb.tif", "grey.tif"])
@pytest.mark.parametrize("page,col,row", [(0, 1, 1), (0, 5, 3), (1, 1, 1), (1, 2, 1), (2, 0, 0)])
def test_aligned_tiles_are_the_stored_bytes(tiles, name, page, col, row):
    s = 1 << page
    region = f"{col * 256 * s},{row * 256 * s},{256 * s},{256 * s}"
    url = f"/{name}/{region}/256,/0/default.jpg"
    status, headers, body = tiles.request(url)
    assert status == 200 and headers["content-type"] == "image/jpeg"
    assert details(tiles)[url] == "image stored tile"
    assert body == expected_bytes(tiles.root / name, page, col, row)
    # The stored tile shows what the pipeline shows (tolerance: one IDCT rounding step).
    got = np.asarray(decode(body).convert("RGB"), dtype=int)
    status, _, png = tiles.request(url.replace(".jpg", ".png"))
    ref = np.asarray(decode(png).convert("RGB"), dtype=int)
    assert got.shape == ref.shape == (256, 256, 3)
    assert np.abs(got - ref).max() <= 2
    # And the colours of the grid: the centre of each cell the tile covers.
    if name != "grey.tif":
        x0, y0 = col * 256 * s, row * 256 * s
        for cx in range(x0 // CELL, (x0 + 256 * s) // CELL):
            for cy in range(y0 // CELL, (y0 + 256 * s) // CELL):
                px, py = ((cx * CELL + CELL // 2) - x0) // s, ((cy * CELL + CELL // 2) - y0) // s
                if 2 <= px < 254 and 2 <= py < 254:
                    assert np.abs(got[py, px] - np.array(cell_colour(cx, cy))).max() <= 12


@pytest.mark.parametrize("url", [
    "/ycbcr.tif/1536,1024,64,176/64,/0/default.jpg",     # right/bottom edge tile: stored one is padded
    "/ycbcr.tif/100,100,256,256/256,/0/default.jpg",     # not aligned
    "/ycbcr.tif/256,256,256,256/128,/0/default.jpg",     # scaled
    "/ycbcr.tif/256,256,256,256/256,/90/default.jpg",    # rotated
    "/ycbcr.tif/256,256,256,256/256,/!0/default.jpg",    # mirrored
    "/ycbcr.tif/256,256,256,256/256,/0/gray.jpg",        # another quality
    "/ycbcr.tif/256,256,256,256/256,/0/default.webp",    # another format
    "/icc.tif/256,256,256,256/256,/0/default.jpg",       # Adobe RGB: must be converted to sRGB
    "/deflate.tif/256,256,256,256/256,/0/default.jpg",   # not JPEG inside
])
def test_other_requests_go_through_the_pipeline(tiles, url):
    status, _, body = tiles.request(url)
    assert status == 200 and len(body) > 0
    assert details(tiles)[url] == "image"


def test_icc_source_is_converted_not_passed_through(tiles):
    _, _, body = tiles.request("/icc.tif/0,0,256,256/256,/0/default.jpg")
    # Cell (0, 0)'s sRGB value differs from its Adobe RGB code values once converted.
    got = decode(body).convert("RGB").getpixel((50, 50))
    _, _, ref = tiles.request("/adobe.png/0,0,256,256/256,/0/default.png")
    want = decode(ref).convert("RGB").getpixel((50, 50))
    assert np.abs(np.array(got) - np.array(want)).max() <= 6


def test_damaged_tile_is_a_clean_500(tmp_path, tiles):
    # A TIFF whose tile bytes were overwritten: no stored-tile shortcut (no SOI), clean status.
    data = bytearray((tiles.root / "ycbcr.tif").read_bytes())
    im = Image.open(tiles.root / "ycbcr.tif")
    off = im.tag_v2[324][0]
    data[off:off + 16] = b"\x00" * 16
    (tiles.root / "broken.tif").write_bytes(bytes(data))
    status, _, body = tiles.request("/broken.tif/0,0,256,256/256,/0/default.jpg")
    assert (status, body) == (500, b"500 Internal Server Error\ncodec.decode\n")  # neither sent nor decoded
    assert tiles.request("/ycbcr.tif/0,0,256,256/256,/0/default.jpg")[0] == 200
    assert tiles.alive()
