"""HTJ2K (JPEG 2000 Part 15) written by `sipi convert --htj2k`: lossless round trips bit-exact
(read back by sipi and by OpenJPH's own ojph_expand), the codestream really HT with serving-sized
tiles, lossy output within a PSNR, options OpenJPH cannot honour refused in one line, service
files, and the server answering tiles from the file exactly."""
import os
import struct
import subprocess

import numpy as np
import pytest
from PIL import Image

from cli_fixtures import psnr
from conftest import SIPI_BIN, start_server, stop_server
from imgutil import decode


def sipi(*args, ok=True):
    r = subprocess.run([SIPI_BIN, *map(str, args)], capture_output=True, text=True, timeout=120)
    if ok:
        assert r.returncode == 0, r.stderr
    return r


def smooth(h, w, channels, dtype=np.uint8):
    """A photograph-like image: gradients plus noise, so that lossy coding has something to do."""
    top = 65535 if dtype == np.uint16 else 255
    y, x = np.mgrid[0:h, 0:w]
    rng = np.random.default_rng(7)
    planes = []
    for c in range(channels):
        base = (np.sin(x / (17.0 + 5 * c)) + np.cos(y / (23.0 + 3 * c))) * 0.25 + 0.5
        planes.append(np.clip(base + rng.normal(0, 0.02, (h, w)), 0, 1) * top)
    a = np.stack(planes, axis=-1).round().astype(dtype)
    return a[:, :, 0] if channels == 1 else a


def main_header(path):
    """The codestream's main-header marker segments (marker → payload), and Rsiz."""
    data = open(path, "rb").read()
    at = data.find(b"\xff\x4f\xff\x51")
    assert at > 0, "no codestream"
    segs, i = {}, at + 2
    while True:
        marker = struct.unpack(">H", data[i:i + 2])[0]
        if marker == 0xFF90:  # SOT: the first tile
            return segs
        length = struct.unpack(">H", data[i + 2:i + 4])[0]
        segs[marker] = data[i + 4:i + 2 + length]
        i += 2 + length


def cod_fields(segs):
    cod = segs[0xFF52]
    # Scod, progression, layers, MCT, decompositions, xcb, ycb, code-block style, transform
    return {"progression": cod[1], "layers": struct.unpack(">H", cod[2:4])[0], "mct": cod[4],
            "levels": cod[5], "style": cod[8], "transform": cod[9]}


def siz_fields(segs):
    siz = segs[0xFF51]
    rsiz, xs, ys, _, _, xt, yt = struct.unpack(">HIIIIII", siz[:26])
    return {"rsiz": rsiz, "size": (xs, ys), "tile": (xt, yt)}


@pytest.mark.parametrize("name,channels,dtype", [
    ("rgb8", 3, np.uint8), ("grey8", 1, np.uint8), ("grey16", 1, np.uint16), ("rgba8", 4, np.uint8),
])
def test_lossless_round_trip_is_exact(tmp_path, name, channels, dtype):
    a = smooth(300, 530, channels, dtype)
    src, ht, back = tmp_path / f"{name}.png", tmp_path / f"{name}.jp2", tmp_path / "back.tif"
    Image.fromarray(a).save(src)
    sipi("convert", "--htj2k", src, ht)
    sipi("convert", ht, back)
    got = np.asarray(Image.open(back))
    assert got.dtype == a.dtype and got.shape == a.shape and np.array_equal(got, a)
    assert "Files identical!" in sipi("compare", src, ht).stderr


@pytest.mark.parametrize("name,channels,dtype,ext", [("rgb8", 3, np.uint8, "ppm"), ("grey16", 1, np.uint16, "pgm")])
def test_openjph_decodes_it_to_the_same_pixels(tmp_path, name, channels, dtype, ext):
    # An independent decoder: OpenJPH's ojph_expand reads the codestream inside our JP2 boxes.
    a = smooth(257, 389, channels, dtype)
    src, ht, out = tmp_path / "src.png", tmp_path / "ht.jp2", tmp_path / f"out.{ext}"
    Image.fromarray(a).save(src)
    sipi("convert", "--htj2k", src, ht)
    subprocess.run(["ojph_expand", "-i", str(ht), "-o", str(out)], check=True, capture_output=True, timeout=60)
    if ext == "ppm":
        got = np.asarray(Image.open(out))
    else:  # 16-bit PGM: big-endian samples after a three-line header
        raw = open(out, "rb").read()
        body = raw.split(b"\n", 3)[3]
        got = np.frombuffer(body, dtype=">u2").reshape(a.shape)
    assert np.array_equal(got, a)


def test_codestream_is_ht_with_serving_tiles(tmp_path):
    src, ht = tmp_path / "src.png", tmp_path / "ht.jp2"
    Image.fromarray(smooth(1100, 2100, 3)).save(src)
    sipi("convert", "--htj2k", src, ht)
    segs = main_header(ht)
    siz, cod = siz_fields(segs), cod_fields(segs)
    assert siz["rsiz"] & 0x4000, "Rsiz does not announce HTJ2K"
    assert 0xFF50 in segs, "no CAP marker"
    assert cod["style"] & 0x40, "code-blocks are not HT"
    assert siz["size"] == (2100, 1100) and siz["tile"] == (256, 256)
    # Levels until the whole image is about 256 px: 2100 / 2^4 = 131.
    assert cod["levels"] == 4 and cod["transform"] == 1 and cod["mct"] == 1
    assert cod["progression"] == 2  # RPCL
    data = open(ht, "rb").read()
    assert data[:12] == b"\x00\x00\x00\x0cjP  \r\n\x87\n" and data[16:28] == b"ftypjp2 \x00\x00\x00\x00"
    jp2c = data.find(b"jp2c")
    assert struct.unpack(">I", data[jp2c - 4:jp2c])[0] == len(data) - (jp2c - 4)  # the box length is patched


def test_tile_size_and_levels_options(tmp_path):
    src, ht = tmp_path / "src.png", tmp_path / "ht.jp2"
    Image.fromarray(smooth(600, 700, 3)).save(src)
    sipi("convert", "--htj2k", "--Stiles", "{512,512}", "--Clevels", "3", "--Corder", "LRCP", src, ht)
    segs = main_header(ht)
    assert siz_fields(segs)["tile"] == (512, 512)
    assert cod_fields(segs)["levels"] == 3 and cod_fields(segs)["progression"] == 0


def test_cmodes_ht_is_htj2k(tmp_path):
    src = tmp_path / "src.png"
    Image.fromarray(smooth(200, 300, 3)).save(src)
    sipi("convert", "--htj2k", src, tmp_path / "a.jp2")
    sipi("convert", "--Cmodes", "HT", src, tmp_path / "b.jp2")
    assert open(tmp_path / "a.jp2", "rb").read() == open(tmp_path / "b.jp2", "rb").read()
    r = sipi("convert", "--Cmodes", "BYPASS", src, tmp_path / "c.jp2", ok=False)
    assert r.returncode != 0 and not (tmp_path / "c.jp2").exists()


def test_lossy_follows_quality_and_qstep(tmp_path):
    a = smooth(512, 768, 3)
    src = tmp_path / "src.png"
    Image.fromarray(a).save(src)
    sizes = {}
    for args, name in [([], "lossless"), (["--quality", "80"], "q80"), (["--quality", "40"], "q40"),
                       (["--qstep", "0.02"], "qstep")]:
        out = tmp_path / f"{name}.jp2"
        sipi("convert", "--htj2k", *args, src, out)
        sizes[name] = os.path.getsize(out)
        if name != "lossless":
            assert cod_fields(main_header(out))["transform"] == 0  # irreversible 9/7
            back = tmp_path / f"{name}.png"
            sipi("convert", out, back)
            quality = psnr(np.asarray(Image.open(back), dtype=np.float64), a.astype(np.float64))
            assert quality >= (40 if name == "q80" else 30), (name, quality)
    assert sizes["q40"] < sizes["q80"] < sizes["lossless"]
    assert sizes["qstep"] < sizes["q80"]


@pytest.mark.parametrize("args,message", [
    (["--rates", "20", "10"], "no quality layers or rates"),
    (["--Clayers", "3"], "no quality layers or rates"),
    (["--Cuse_sop", "yes"], "SOP/EPH"),
    (["--Cblk", "{128,64}"], "code-block size"),
])
def test_options_openjph_cannot_honour_are_refused(tmp_path, args, message):
    src, out = tmp_path / "src.png", tmp_path / "out.jp2"
    Image.fromarray(smooth(100, 100, 3)).save(src)
    r = sipi("convert", "--htj2k", *args, src, out, ok=False)
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], r.stderr
    assert not out.exists() and os.listdir(tmp_path) == ["src.png"]


def test_codestream_only_output_is_refused(tmp_path):
    src = tmp_path / "src.png"
    Image.fromarray(smooth(100, 100, 3)).save(src)
    r = sipi("convert", "--htj2k", src, tmp_path / "out.j2k", ok=False)
    assert r.returncode == 1 and "JP2 file" in r.stderr


def test_service_file_in_htj2k_verifies(tmp_path):
    src, sf = tmp_path / "master.png", tmp_path / "service.jp2"
    Image.fromarray(smooth(300, 400, 3)).save(src)
    sipi("convert", "service-file", "--htj2k", src, sf)
    assert cod_fields(main_header(sf))["style"] & 0x40
    assert "service file ok" in sipi("verify", "service-file", sf).stdout
    assert "Files identical!" in sipi("compare", src, sf).stderr


def test_server_answers_tiles_of_an_htj2k_file_exactly(tmp_path):
    a = smooth(700, 900, 3)
    images = tmp_path / "images"
    images.mkdir()
    Image.fromarray(a).save(tmp_path / "src.png")
    sipi("convert", "--htj2k", tmp_path / "src.png", images / "ht.jp2")
    srv = start_server(str(tmp_path), str(images))
    try:
        info = srv.get_json("/ht.jp2/info.json")[0]
        assert (info["width"], info["height"]) == (900, 700)
        assert info["tiles"][0]["width"] == 256
        for region, (x, y, w, h) in [("0,0,256,256", (0, 0, 256, 256)), ("512,256,256,256", (512, 256, 256, 256)),
                                     ("768,512,132,188", (768, 512, 132, 188)), ("full", (0, 0, 900, 700))]:
            status, _, body = srv.request(f"/ht.jp2/{region}/max/0/default.png")
            assert status == 200, region
            got = np.asarray(decode(body))
            assert np.array_equal(got, a[y:y + h, x:x + w]), region
    finally:
        stop_server(srv)


def test_lossy_short_last_tile_row_is_coded_right(tmp_path):
    # OpenJPH 0.9's irreversible path codes a tile row of at most 2^levels rows wrongly (up to
    # ~100 grey levels off). 552 = 2 × 256 + 40 rows: with 6 levels the last row of tiles is
    # 40 < 64 rows high, so the writer keeps 2^levels below 40 (5 levels), and every row is good.
    a = smooth(552, 700, 3)
    src = tmp_path / "src.png"
    Image.fromarray(a).save(src)
    out = tmp_path / "lossy.jp2"
    sipi("convert", "--htj2k", "--quality", "90", "--Clevels", "6", src, out)
    subprocess.run(["opj_decompress", "-i", str(out), "-o", str(tmp_path / "back.ppm")], check=True, capture_output=True)
    back = np.asarray(Image.open(tmp_path / "back.ppm"), dtype=np.int16)
    err = np.abs(back - a.astype(np.int16))
    assert err[512:].max() <= 4 and err[:512].max() <= 4, (err[512:].max(), err[:512].max())
    assert cod_fields(main_header(out))["levels"] == 5
    # Lossless keeps the levels asked for (the reversible path is exact at any tile height).
    sipi("convert", "--htj2k", "--Clevels", "6", src, tmp_path / "lossless.jp2")
    assert cod_fields(main_header(tmp_path / "lossless.jp2"))["levels"] == 6



def test_files_with_an_image_offset_are_served_and_converted_exactly(tmp_path):
    # An image offset on the reference grid (SIZ XOsiz/YOsiz): libvips 8.14's loader crashes on
    # such tiled files and shifts the pixels of the others, so sipi decodes them with OpenJPEG.
    # Classic and HT, tiled and not; the reference is the source, and OpenJPEG's own -r 1.
    a = smooth(300, 420, 3)
    Image.fromarray(a).save(tmp_path / "src.ppm")
    images = tmp_path / "images"
    images.mkdir()
    ppm = str(tmp_path / "src.ppm")
    for name, cmd in [("classic-tiled.jp2", ["opj_compress", "-i", ppm, "-d", "17,9", "-t", "256,256", "-n", "3"]),
                      ("classic.jp2", ["opj_compress", "-i", ppm, "-d", "17,9", "-n", "3"]),
                      ("ht-tiled.j2c", ["ojph_compress", "-i", ppm, "-reversible", "true", "-image_offset", "{17,9}",
                                        "-tile_size", "{256,256}", "-num_decomps", "2"]),
                      ("ht.j2c", ["ojph_compress", "-i", ppm, "-reversible", "true", "-image_offset", "{17,9}",
                                  "-num_decomps", "2"])]:
        subprocess.run([*cmd, "-o", str(images / name)], check=True, capture_output=True)
    srv = start_server(str(tmp_path), str(images), extra="cache_size = 0,")
    try:
        for name in ["classic-tiled.jp2", "classic.jp2", "ht-tiled.j2c", "ht.j2c"]:
            info = srv.get_json(f"/{name}/info.json")[0]
            assert (info["width"], info["height"]) == (420, 300), name
            for region, (x, y, w, h) in [("full", (0, 0, 420, 300)), ("250,100,150,120", (250, 100, 150, 120))]:
                status, _, body = srv.request(f"/{name}/{region}/max/0/default.png")
                assert status == 200, (name, region, body)
                assert np.array_equal(np.asarray(decode(body)), a[y:y + h, x:x + w]), (name, region)
            # The half-resolution level: ceil(437 / 2) - ceil(17 / 2) = 210 wide, as OpenJPEG makes it.
            ref = tmp_path / f"{name}-r1.ppm"
            subprocess.run(["opj_decompress", "-i", str(images / name), "-o", str(ref), "-r", "1"], check=True,
                           capture_output=True)
            want = np.asarray(Image.open(ref))
            assert want.shape == (150, 210, 3)
            status, _, body = srv.request(f"/{name}/full/210,/0/default.png")
            assert status == 200 and np.array_equal(np.asarray(decode(body)), want), name
            out = tmp_path / f"{name}.tif"
            sipi("convert", images / name, out)
            assert np.array_equal(np.asarray(Image.open(out)), a), name
    finally:
        stop_server(srv)
