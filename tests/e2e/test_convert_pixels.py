"""Converter pixels: lossless paths bit-exact (sipi compare and Pillow), lossy within a PSNR,
ICC conversions against lcms2 (Pillow's ImageCms), orientation 1–8, transforms, JPEG 2000 options."""
import json
import os
import subprocess

import numpy as np
import pytest
from PIL import Image, ImageCms

from cli_fixtures import as_array, psnr
from conftest import SIPI_BIN
from fixtures import ADOBE_RGB, cell_colour, grid_image, vips

CELL = 100


def sipi(*args, ok=True, cwd=None):
    r = subprocess.run([SIPI_BIN, *map(str, args)], capture_output=True, text=True, timeout=120, cwd=cwd)
    if ok:
        assert r.returncode == 0, r.stderr
    return r


@pytest.fixture(scope="module")
def src(tmp_path_factory):
    d = tmp_path_factory.mktemp("pix")
    grid_image(480, 360).save(d / "grid.png")
    vips("cast", str(d / "grid.png"), str(d / "g.v"), "ushort")
    vips("linear", str(d / "g.v"), str(d / "g2.v"), "257", "0")
    vips("cast", str(d / "g2.v"), str(d / "g3.v"), "ushort")
    vips("copy", str(d / "g3.v"), str(d / "grid16.png"), "--interpretation", "rgb16")
    grid_image(480, 360).save(d / "adobe.tif", icc_profile=open(ADOBE_RGB, "rb").read())
    grid_image(480, 360).convert("L").save(d / "gray.png")
    grid_image(480, 360).convert("CMYK").save(d / "cmyk.tif")
    return d


@pytest.mark.parametrize("ext", ["tif", "png", "jp2", "webp"])
def test_lossless_paths_are_bit_exact(src, tmp_path, ext):
    out, back = tmp_path / f"o.{ext}", tmp_path / "back.png"
    sipi("convert", src / "grid.png", out)
    r = sipi("compare", src / "grid.png", out)
    assert "Files identical!" in r.stderr
    assert np.array_equal(as_array(src / "grid.png"), as_array(out))  # independent decoder
    sipi("convert", out, back)
    assert np.array_equal(as_array(src / "grid.png"), as_array(back))


@pytest.mark.parametrize("ext", ["tif", "png", "jp2"])
def test_sixteen_bit_kept_bit_exact(src, tmp_path, ext):
    out = tmp_path / f"o16.{ext}"
    r = sipi("convert", "--json", src / "grid16.png", out)
    assert json.loads(r.stdout)["image"]["bps"] == 16
    sipi("compare", src / "grid16.png", out)
    # Independent of sipi's compare: the vips CLI's maximum absolute difference.
    vips("subtract", str(src / "grid16.png"), str(out), str(tmp_path / "d.v"))
    vips("abs", str(tmp_path / "d.v"), str(tmp_path / "a.v"))
    m = subprocess.run(["vips", "max", str(tmp_path / "a.v")], capture_output=True, text=True).stdout.strip()
    assert float(m) == 0


@pytest.mark.parametrize("ext,args,min_psnr", [
    ("jpg", [], 35), ("jpg", ["--quality", "95"], 40), ("webp", ["--quality", "80"], 32),
    ("jp2", ["--quality", "50"], 32), ("jp2", ["--rates", "20", "10"], 32)])
def test_lossy_paths_within_psnr(src, tmp_path, ext, args, min_psnr):
    out = tmp_path / f"lossy.{ext}"
    sipi("convert", *args, src / "grid.png", out)
    value = psnr(as_array(src / "grid.png"), as_array(out))
    assert min_psnr <= value < float("inf"), value


def lcms_reference(rgb, src_profile, dst_profile):
    im = Image.new("RGB", (1, 1), rgb)
    t = ImageCms.buildTransform(src_profile, dst_profile, "RGB", "RGB",
                                renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC)
    return ImageCms.applyTransform(im, t).getpixel((0, 0))


def test_icc_to_srgb_matches_lcms(src, tmp_path):
    out = tmp_path / "srgb.png"
    r = sipi("convert", "--icc", "sRGB", "--json", src / "adobe.tif", out)
    assert json.loads(r.stdout)["image"]["icc_profile_type"] == "sRGB"
    im = Image.open(out).convert("RGB")
    for col, row in [(1, 1), (3, 2), (4, 3)]:
        got = im.getpixel((col * CELL + 50, row * CELL + 50))
        want = lcms_reference(cell_colour(col, row), ImageCms.getOpenProfile(ADOBE_RGB), ImageCms.createProfile("sRGB"))
        assert all(abs(a - b) <= 2 for a, b in zip(got, want)), (got, want)


def test_icc_to_adobe_rgb_matches_lcms(src, tmp_path):
    out = tmp_path / "adobe.tif"
    sipi("convert", "--icc", "AdobeRGB", src / "grid.png", out)
    desc = subprocess.run(["exiftool", "-s3", "-ICC_Profile:ProfileDescription", str(out)], capture_output=True,
                          text=True).stdout.strip()
    assert desc == "Compatible with Adobe RGB (1998)"
    im = Image.open(out).convert("RGB")
    for col, row in [(1, 1), (3, 2)]:
        got = im.getpixel((col * CELL + 50, row * CELL + 50))
        want = lcms_reference(cell_colour(col, row), ImageCms.createProfile("sRGB"), ImageCms.getOpenProfile(ADOBE_RGB))
        assert all(abs(a - b) <= 2 for a, b in zip(got, want)), (got, want)


def test_icc_to_gray(src, tmp_path):
    out = tmp_path / "gray.jp2"
    r = sipi("convert", "--icc", "GRAY", "--json", src / "adobe.tif", out)
    info = json.loads(r.stdout)["image"]
    assert info["channels"] == 1 and info["colorspace"] == "MINISBLACK"
    assert Image.open(out).mode == "L"
    q = json.loads(sipi("query", "--json", out).stdout)
    assert q["image"]["icc_profile_type"] == "Gray D50" and q["icc_profile_description"] == "Gray D50 sRGB TRC"


def test_icc_none_strips_profile_keeps_pixels(src, tmp_path):
    out = tmp_path / "noicc.tif"
    sipi("convert", "--icc", "none", src / "adobe.tif", out)
    assert "ICC_Profile" not in subprocess.run(["exiftool", "-G", str(out)], capture_output=True, text=True).stdout
    assert np.array_equal(as_array(src / "adobe.tif"), as_array(out))


def test_gray_stays_gray(src, tmp_path):
    for ext in ["tif", "jpg", "jp2", "png", "webp"]:
        out = tmp_path / f"g.{ext}"
        r = sipi("convert", "--json", src / "gray.png", out)
        assert json.loads(r.stdout)["image"]["channels"] == 1 or ext == "webp", ext
        if ext != "webp":  # WebP has no grey mode; it stores R=G=B
            assert Image.open(out).mode == "L", ext


def test_cmyk_kept_in_tiff_and_converted_for_png(src, tmp_path):
    r = sipi("convert", "--json", src / "cmyk.tif", tmp_path / "c.tif")
    assert json.loads(r.stdout)["image"]["colorspace"] == "SEPARATED"
    r = sipi("convert", "--json", src / "cmyk.tif", tmp_path / "c.png")
    assert json.loads(r.stdout)["image"]["colorspace"] == "RGB"
    got = Image.open(tmp_path / "c.png").convert("RGB").getpixel((150, 150))
    assert max(abs(a - b) for a, b in zip(got, cell_colour(1, 1))) < 80


# Stored pixels S for EXIF orientation N, so that showing S with orientation N gives the grid.
INVERSE = {1: None, 2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
           4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_90,
           7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_270}


@pytest.mark.parametrize("orientation", range(1, 9))
def test_topleft_applies_orientation(tmp_path, orientation):
    from PIL import ImageOps
    upright = grid_image(400, 300)
    stored = upright if INVERSE[orientation] is None else upright.transpose(INVERSE[orientation])
    p = tmp_path / "o.jpg"
    stored.save(p, quality=95)
    subprocess.run(["exiftool", "-q", "-overwrite_original", f"-EXIF:Orientation#={orientation}", str(p)], check=True)
    assert ImageOps.exif_transpose(Image.open(p)).size == (400, 300)  # the fixture itself is right
    out = tmp_path / "upright.png"
    r = sipi("convert", "--topleft", "--json", p, out)
    assert json.loads(r.stdout)["image"]["orientation"] == "TOPLEFT"
    im = Image.open(out).convert("RGB")
    assert im.size == (400, 300)
    for col, row in [(0, 0), (3, 0), (0, 2), (3, 2), (1, 1)]:
        got = im.getpixel((col * CELL + 50, row * CELL + 50))
        assert all(abs(a - b) <= 10 for a, b in zip(got, cell_colour(col, row))), (orientation, col, row, got)
    tagval = subprocess.run(["exiftool", "-s3", "-n", "-EXIF:Orientation", str(out)], capture_output=True, text=True).stdout.strip()
    assert tagval in ("", "1")


def test_transforms(src, tmp_path):
    def conv(*args):
        out = tmp_path / "t.png"
        sipi("convert", *args, src / "grid.png", out)
        return Image.open(out).convert("RGB")
    im = conv("--region", "100", "100", "200", "100")
    assert im.size == (200, 100) and im.getpixel((50, 50)) == cell_colour(1, 1)
    assert conv("--size", "240,").size == (240, 180)
    assert conv("--size", "!100,100").size == (100, 75)
    assert conv("--scale", "50").size == (240, 180)
    assert conv("--reduce", "1").size == (240, 180)
    im = conv("--rotate", "90")
    assert im.size == (360, 480) and im.getpixel((360 - 50, 50)) == cell_colour(0, 0)
    im = conv("--mirror", "horizontal")
    assert im.getpixel((480 - 50, 50)) == cell_colour(0, 0)
    im = conv("--mirror", "vertical")
    assert im.getpixel((50, 360 - 50)) == cell_colour(0, 0)


def test_reduce_uses_jpeg2000_levels(src, tmp_path):
    jp2 = tmp_path / "levels.jp2"
    sipi("convert", "--Clevels", "3", src / "grid.png", jp2)
    out = tmp_path / "r.png"
    sipi("convert", "--reduce", "2", jp2, out)
    im = Image.open(out).convert("RGB")
    assert im.size == (120, 90)
    assert all(abs(a - b) <= 2 for a, b in zip(im.getpixel((37, 37)), cell_colour(1, 1)))


def test_jpeg2000_options_reach_the_codestream(src, tmp_path):
    out = tmp_path / "opts.jp2"
    sipi("convert", "--Clevels", "4", "--Stiles", "{256,256}", "--Corder", "LRCP", "--Cblk", "{32,32}",
         "--Cprecincts", "{128,128}", "--rates", "40", "20", "X", "--Cuse_sop", "yes", src / "grid.png", out)
    dump = subprocess.run(["opj_dump", "-i", str(out)], capture_output=True, text=True).stdout
    assert "tdx=256, tdy=256" in dump
    assert "numresolutions=5" in dump
    assert "prg=0" in dump                       # LRCP
    assert "numlayers=3" in dump
    assert "cblkw=2^5" in dump and "cblkh=2^5" in dump
    assert "preccintsize (w,h)=(7,7) (7,7) (7,7) (7,7) (7,7)" in dump  # 2^7 = 128 at every level
    assert "csty=0x3" in dump                    # user precincts + SOP markers
    # the last layer is lossless: decoding everything gives the source back
    assert "Files identical!" in sipi("compare", src / "grid.png", out).stderr
    q = json.loads(sipi("query", "--json", out).stdout)
    assert q["tile"] == [256, 256] and len(q["levels"]) == 5


def test_default_jpeg2000_is_tiled_with_levels_and_served_from_them(src, tmp_path):
    out = tmp_path / "default.jp2"
    sipi("convert", src / "grid.png", out)
    q = json.loads(sipi("query", "--json", out).stdout)
    assert len(q["levels"]) >= 2


def test_compare_reports_differences(src, tmp_path):
    a = tmp_path / "a.png"
    im = grid_image(480, 360)
    im.putpixel((10, 10), (0, 0, 0))
    im.save(a)
    # As SIPI: exit 255 (-1), the summary on stderr with the largest difference and where it is,
    # and the absolute difference image in the working directory.
    r = sipi("compare", src / "grid.png", a, ok=False, cwd=tmp_path)
    assert r.returncode == 255, r.stderr
    assert "Files differ: avg: " in r.stderr and "(10, 10) See diff.tif" in r.stderr
    diff = np.asarray(Image.open(tmp_path / "diff.tif"))
    expected = np.abs(np.asarray(grid_image(480, 360), dtype=int) - np.asarray(Image.open(a), dtype=int))
    assert diff.shape == expected.shape and (diff == expected).all()
    assert np.count_nonzero(diff.sum(axis=2)) == 1
    grid_image(100, 100).save(tmp_path / "small.png")
    r = sipi("compare", src / "grid.png", tmp_path / "small.png", ok=False)
    assert r.returncode == 255 and "Files differ in shape: 480x360x3 vs 100x100x3" in r.stderr
    r = sipi("compare", "--json", src / "grid.png", tmp_path / "missing.png", ok=False)
    assert r.returncode == 1 and "Error reading image" in r.stderr


def test_verify(src, tmp_path):
    assert sipi("verify", src / "grid.png").returncode == 0
    data = open(src / "grid.png", "rb").read()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    r = sipi("verify", tmp_path / "cut.png", ok=False)
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1
    # --json is accepted as SIPI accepts it (DSP passes it); the verdict is the same.
    assert sipi("verify", "--json", src / "grid.png").returncode == 0
    assert sipi("verify", "--json", tmp_path / "cut.png", ok=False).returncode == 1


def test_query_json_and_text(src):
    q = json.loads(sipi("query", "--json", src / "adobe.tif").stdout)
    assert q["format"] == "TIFF" and q["image"]["width"] == 480
    assert q["image"]["icc_profile_type"] == "AdobeRGB"
    assert q["icc_profile_description"] == "Compatible with Adobe RGB (1998)"
    text = sipi("query", src / "adobe.tif").stdout
    assert "480 x 360" in text and "Adobe RGB" in text


def test_watermark(src, tmp_path):
    wm = tmp_path / "wm.png"
    Image.new("L", (100, 100), 255).save(wm)
    out = tmp_path / "wm_out.png"
    sipi("convert", "--watermark", wm, src / "grid.png", out)
    a, b = as_array(src / "grid.png"), as_array(out)
    assert a.shape == b.shape
    centre, corner = (180, 240), (5, 5)   # a square mark fitted into a 480x360 image: 360x360 centred
    assert b[centre].mean() > a[centre].mean() + 20     # brightened where the mark is
    assert np.array_equal(a[corner], b[corner])         # untouched outside it


def test_icc_srgb_from_cmyk_lab_and_16_bit(src, tmp_path):
    # CMYK with an embedded CMYK profile: compared with lcms2's own CMYK → sRGB transform.
    cmyk_icc = "/usr/share/color/icc/ghostscript/default_cmyk.icc"
    cmyk = tmp_path / "cmyk_icc.tif"
    grid_image(300, 200).convert("CMYK").save(cmyk, icc_profile=open(cmyk_icc, "rb").read())
    out = tmp_path / "from_cmyk.png"
    r = sipi("convert", "--icc", "sRGB", "--json", cmyk, out)
    assert json.loads(r.stdout)["image"]["colorspace"] == "RGB"
    stored = Image.open(cmyk).getpixel((150, 150))
    t = ImageCms.buildTransform(ImageCms.getOpenProfile(cmyk_icc), ImageCms.createProfile("sRGB"), "CMYK", "RGB",
                                renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC)
    want = ImageCms.applyTransform(Image.new("CMYK", (1, 1), stored), t).getpixel((0, 0))
    got = Image.open(out).convert("RGB").getpixel((150, 150))
    assert all(abs(a - b) <= 3 for a, b in zip(got, want)), (got, want)

    # CIELab TIFF (no profile): converted to sRGB, the grid colours come back.
    lab = tmp_path / "lab.tif"
    vips("colourspace", str(src / "grid.png"), str(tmp_path / "lab.v"), "lab")
    vips("tiffsave", str(tmp_path / "lab.v"), str(lab))
    out = tmp_path / "from_lab.png"
    sipi("convert", "--icc", "sRGB", lab, out)
    got = Image.open(out).convert("RGB").getpixel((150, 150))
    assert all(abs(a - b) <= 3 for a, b in zip(got, cell_colour(1, 1))), got

    # 16-bit Adobe RGB → sRGB keeps 16 bits in TIFF, and matches the 8-bit result.
    a16 = tmp_path / "a16.tif"
    vips("copy", str(src / "grid16.png"), str(a16) + f"[profile={ADOBE_RGB}]")
    out16, out8 = tmp_path / "s16.tif", tmp_path / "s8.png"
    r = sipi("convert", "--icc", "sRGB", "--json", a16, out16)
    assert json.loads(r.stdout)["image"]["bps"] == 16
    sipi("convert", "--icc", "sRGB", src / "adobe.tif", out8)
    vips("cast", str(out16), str(tmp_path / "s16to8.v"), "uchar", "--shift")
    got16 = subprocess.run(["vips", "getpoint", str(tmp_path / "s16to8.v"), "150", "150"], capture_output=True,
                           text=True).stdout.split()
    got8 = Image.open(out8).convert("RGB").getpixel((150, 150))
    assert all(abs(float(a) - b) <= 2 for a, b in zip(got16, got8)), (got16, got8)


def test_rates_quoted_as_one_argument_are_several_layers(src, tmp_path):
    out = tmp_path / "quoted.jp2"
    sipi("convert", "--rates", "20 10 5", src / "grid.png", out)
    dump = subprocess.run(["opj_dump", "-i", str(out)], capture_output=True, text=True).stdout
    assert "numlayers=3" in dump
    r = sipi("convert", "--rates", "20abc", src / "grid.png", tmp_path / "bad.jp2", ok=False)
    assert r.returncode != 0 and not (tmp_path / "bad.jp2").exists()


def test_bigtiff_input_converts(src, tmp_path):
    big = tmp_path / "big.tif"
    subprocess.run(["vips", "tiffsave", str(src / "grid.png"), str(big), "--bigtiff", "--tile"], check=True)
    assert open(big, "rb").read(4) == b"II+\x00"
    sipi("convert", big, tmp_path / "out.png")
    assert "Files identical!" in sipi("compare", src / "grid.png", tmp_path / "out.png").stderr
