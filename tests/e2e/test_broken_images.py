"""A corpus of broken images, generated here: truncated files, wrong extensions, headers that
declare 100000 × 100000 pixels (decompression bombs), zero sizes, corrupt JPEG 2000 codestreams.
Each request gets the one status its damage calls for (never a hang or a crash), memory stays
bounded, and the server keeps serving."""
import io
import os
import random
import struct
import subprocess
import sys
import zlib

import pytest
from PIL import Image

from conftest import start_server, stop_server
from fixtures import grid_image


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png(width, height, idat=b""):
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def patch_tiff_size(data, width, height):
    """Rewrites ImageWidth/ImageLength of the first IFD of a little-endian classic TIFF."""
    data = bytearray(data)
    ifd = struct.unpack_from("<I", data, 4)[0]
    n = struct.unpack_from("<H", data, ifd)[0]
    for i in range(n):
        e = ifd + 2 + 12 * i
        tag, typ = struct.unpack_from("<HH", data, e)
        if tag in (256, 257):
            value = width if tag == 256 else height
            if typ == 3:
                struct.pack_into("<H", data, e + 8, min(value, 65535))
            else:
                struct.pack_into("<I", data, e + 8, value)
    return bytes(data)


def patch_jpeg_size(data, width, height):
    data = bytearray(data)
    i = 2
    while i < len(data):
        marker = data[i + 1]
        length = struct.unpack_from(">H", data, i + 2)[0]
        if marker in (0xC0, 0xC1, 0xC2):
            struct.pack_into(">HH", data, i + 5, height, width)
            break
        i += 2 + length
    return bytes(data)


def patch_j2k_size(data, width, height):
    """SIZ of the codestream (raw or in jp2c): Xsiz, Ysiz, and one tile as large as the image."""
    data = bytearray(data)
    i = data.find(b"\xff\x4f\xff\x51")
    struct.pack_into(">IIIIII", data, i + 8, width, height, 0, 0, width, height)
    return bytes(data)


@pytest.fixture(scope="module")
def broken(tmp_path_factory):
    work = tmp_path_factory.mktemp("broken")
    root = work / "images"
    root.mkdir()
    grid = grid_image(512, 384)
    grid.save(root / "ok.png")
    grid.save(root / "ok.jpg", quality=90)
    grid.save(root / "ok.webp", quality=80)
    subprocess.run(["vips", "tiffsave", str(root / "ok.png"), str(root / "ok.tif"), "--tile", "--pyramid",
                    "--compression", "deflate"], check=True)
    subprocess.run(["vips", "tiffsave", str(root / "ok.png"), str(root / "strip.tif")], check=True)
    subprocess.run(["opj_compress", "-i", str(root / "ok.png"), "-o", str(root / "ok.jp2"), "-t", "256,256"],
                   check=True, capture_output=True)
    subprocess.run(["opj_compress", "-i", str(root / "ok.png"), "-o", str(root / "ok.j2k")],
                   check=True, capture_output=True)
    files = {}
    for name in ("ok.png", "ok.jpg", "ok.webp", "ok.tif", "strip.tif", "ok.jp2", "ok.j2k"):
        data = (root / name).read_bytes()
        stem, ext = name.split(".")
        for frac in (0.1, 0.5, 0.9):
            files[f"trunc{int(frac * 100)}-{stem}.{ext}"] = data[: int(len(data) * frac)]
        files[f"header-only-{stem}.{ext}"] = data[:64]
    # Wrong extensions: sniffed, not trusted.
    files["png-as.jp2"] = (root / "ok.png").read_bytes()
    files["jpg-as.tif"] = (root / "ok.jpg").read_bytes()
    # Decompression bombs: tiny files declaring 100000 × 100000 pixels.
    files["bomb.png"] = png(100000, 100000, zlib.compress(b"\x00" * 1000))
    files["bomb-strip.tif"] = patch_tiff_size((root / "strip.tif").read_bytes(), 100000, 100000)
    files["bomb-tiled.tif"] = patch_tiff_size((root / "ok.tif").read_bytes(), 100000, 100000)
    files["bomb.jpg"] = patch_jpeg_size((root / "ok.jpg").read_bytes(), 65000, 65000)
    files["bomb.jp2"] = patch_j2k_size((root / "ok.jp2").read_bytes(), 100000, 100000)
    files["bomb.j2k"] = patch_j2k_size((root / "ok.j2k").read_bytes(), 100000, 100000)
    # The least data a Huffman-coded JPEG can have per block (one flat colour, optimised tables):
    # not mistaken for a bomb.
    flat = io.BytesIO()
    Image.new("RGB", (6000, 4000), (255, 255, 255)).save(flat, "JPEG", quality=75, optimize=True)
    files["flat-large.jpg"] = flat.getvalue()
    # Zero sizes.
    files["zero.png"] = png(0, 0)
    files["zero-w.tif"] = patch_tiff_size((root / "strip.tif").read_bytes(), 0, 384)
    files["zero.jpg"] = patch_jpeg_size((root / "ok.jpg").read_bytes(), 0, 384)
    files["zero.jp2"] = patch_j2k_size((root / "ok.jp2").read_bytes(), 0, 0)
    # Corrupt JPEG 2000 codestreams: garbage in the tile data, a broken SOT, a cut main header.
    jp2 = bytearray((root / "ok.jp2").read_bytes())
    sot = jp2.find(b"\xff\x90")
    files["garbage-tiles.jp2"] = bytes(jp2[: sot + 14]) + random.Random(7).randbytes(len(jp2) - sot - 14)
    bad_sot = bytearray(jp2)
    struct.pack_into(">I", bad_sot, sot + 6, 0xFFFFFFF0)  # Psot beyond the file
    files["bad-psot.jp2"] = bytes(bad_sot)
    bad_tile = bytearray(jp2)
    struct.pack_into(">H", bad_tile, sot + 4, 999)  # a tile index outside the grid
    files["bad-tile-index.jp2"] = bytes(bad_tile)
    files["cut-header.jp2"] = bytes(jp2[: jp2.find(b"\xff\x4f") + 30])
    for name, data in files.items():
        (root / name).write_bytes(data)
    srv = start_server(str(work), str(root), extra="cache_size = 0, max_decode_memory = '512M',")
    srv.names = sorted(files)
    yield srv
    stop_server(srv)


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


URL_FORMS = ["info.json", "full/max/0/default.jpg", "0,0,256,256/256,/0/default.jpg", "full/!200,200/0/default.png",
             "pct:50,50,10,10/max/90/default.webp"]


# The answer to each URL form (info.json, full/max jpg, an aligned 256² tile, a !200,200 thumbnail,
# a small pct: region) where it is not 500 (a damaged source) for every form:
# - info.json answers whenever the header is whole: only the pixel requests find the damage;
# - truncated JPEG 2000 files serve the regions whose tiles are whole (tile 0 at 50 % and 90 %,
#   tile 1 at 90 %), exactly as the intact file does (checked below);
# - a truncated JPEG's full/max/0/default.jpg is the stored file, sent as is (SIPI's shortcut);
# - bombs are refused before decoding (413, more than the 512M decode budget) where the header
#   is otherwise sound; a tiled TIFF bomb's 256² tile 0 is real data, its other levels are not;
# - a JPEG claiming more blocks than its data has bits, and every other damage: 500.
EXPECTED = {
    "bad-psot.jp2": [200, 500, 500, 500, 500],
    "bad-tile-index.jp2": [200, 500, 500, 500, 500],
    "bomb-strip.tif": [200, 413, 413, 413, 413],
    "bomb-tiled.tif": [200, 500, 500, 500, 500],
    "bomb.j2k": [200, 413, 413, 413, 413],
    "bomb.png": [200, 413, 413, 413, 413],
    "flat-large.jpg": [200, 200, 200, 200, 200],
    "garbage-tiles.jp2": [200, 500, 500, 500, 500],
    "header-only-ok.png": [200, 500, 500, 500, 500],
    "jpg-as.tif": [200, 200, 200, 200, 200],
    "png-as.jp2": [200, 200, 200, 200, 200],
    "trunc10-ok.j2k": [200, 500, 500, 500, 500],
    "trunc10-ok.jp2": [200, 500, 500, 500, 500],
    "trunc10-ok.jpg": [200, 200, 500, 500, 500],
    "trunc10-ok.png": [200, 500, 500, 500, 500],
    "trunc50-ok.j2k": [200, 500, 500, 500, 500],
    "trunc50-ok.jp2": [200, 500, 200, 500, 500],
    "trunc50-ok.jpg": [200, 200, 500, 500, 500],
    "trunc50-ok.png": [200, 500, 500, 500, 500],
    "trunc90-ok.j2k": [200, 500, 500, 500, 500],
    "trunc90-ok.jp2": [200, 500, 200, 500, 200],
    "trunc90-ok.jpg": [200, 200, 500, 500, 500],
    "trunc90-ok.png": [200, 500, 500, 500, 500],
    "trunc90-ok.tif": [200, 200, 200, 200, 200],
}


def test_every_broken_image_gets_its_status(broken):
    answered, bodies = {}, {}
    for name in broken.names:
        for form in URL_FORMS:
            status, _, body = broken.request(f"/{name}/{form}", timeout=60)
            if status >= 400:
                assert b"/" not in body.split(b"\n", 1)[-1], (name, form, body)  # no paths in errors
            answered.setdefault(name, []).append(status)
            bodies[(name, form)] = body
            assert broken.alive(), (name, form)
    assert answered == {n: EXPECTED.get(n, [500] * len(URL_FORMS)) for n in broken.names}
    # What a truncated JPEG 2000 file serves is the intact file's answer, byte for byte.
    for name, i in (("trunc50-ok.jp2", 2), ("trunc90-ok.jp2", 2), ("trunc90-ok.jp2", 4)):
        assert bodies[(name, URL_FORMS[i])] == broken.request(f"/ok.jp2/{URL_FORMS[i]}")[2], (name, i)
    # Memory stayed bounded: no 100000² buffer was ever allocated.
    assert rss_kb(broken.proc.pid) < 700 * 1024
    assert broken.request("/ok.tif/0,0,256,256/256,/0/default.jpg")[0] == 200
    assert broken.request("/ok.jp2/0,0,256,256/256,/0/default.jpg")[0] == 200


def test_a_damaged_file_never_renders_black_under_load(tmp_path):
    """libvips 8.14 can lose a loader's error when several threads read from it: a truncated
    JPEG 2000, whose libvips fallback a decode helper ran on its idle cores, then rendered an
    all-black thumbnail answered 200 (about one in fifty with the cores contended). Each of 200
    thumbnails of damaged copies must be 500 while a process outside sipi keeps a core busy
    (sipi still sees idle cores and gives them to the request)."""
    root = tmp_path / "images"
    root.mkdir()
    grid_image(512, 384).save(root / "ok.png")
    subprocess.run(["opj_compress", "-i", str(root / "ok.png"), "-o", str(root / "ok.jp2"), "-t", "256,256"],
                   check=True, capture_output=True)
    data = (root / "ok.jp2").read_bytes()
    names = [f"cut{i}.jp2" for i in range(40)]
    for n in names:
        (root / n).write_bytes(data[: int(len(data) * 0.9)])
    srv = start_server(str(tmp_path), str(root), extra="cache_size = 0,")
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])  # the loop itself: kill() ends it
    try:
        answers = []
        for rnd in range(5):
            for n in names:
                # What test_every_broken_image_gets_its_status asks first, then the thumbnail.
                for form in URL_FORMS[:3]:
                    srv.request(f"/{n}/{form}")
                status, _, body = srv.request(f"/{n}/full/!200,200/0/default.png")
                answers.append((n, rnd, status, len(body)))
        assert [a for a in answers if a[2] != 500] == []
    finally:
        hog.kill()
        hog.wait()
        stop_server(srv)
