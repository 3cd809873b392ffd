"""Every bad input: a one-line message on stderr, a non-zero exit, no output file, input untouched."""
import hashlib
import json
import os
import subprocess

import numpy as np
import pytest
from PIL import Image

from conftest import SIPI_BIN
from fixtures import grid_image


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("err")
    grid_image(200, 100).save(d / "ok.png")
    data = open(d / "ok.png", "rb").read()
    (d / "truncated.png").write_bytes(data[: len(data) // 2])
    (d / "garbage.tif").write_bytes(b"II*\x00" + os.urandom(300))
    (d / "text.jpg").write_text("not an image")
    (d / "empty.png").write_bytes(b"")
    os.makedirs(d / "adir", exist_ok=True)
    return d


def digest(p):
    return hashlib.sha256(open(p, "rb").read()).hexdigest()


CASES = [
    # (input name, output name, extra args, phase)
    ("missing.png", "o.jpg", [], "read"),
    ("truncated.png", "o.jpg", [], "read"),
    ("garbage.tif", "o.jpg", [], "read"),
    ("text.jpg", "o.png", [], "read"),
    ("empty.png", "o.jpg", [], "read"),
    ("adir", "o.jpg", [], "read"),
    ("ok.png", "o.bmp", [], "cli_args"),
    ("ok.png", "o.gif", [], "cli_args"),
    ("ok.png", "o.jpg", ["--format", "gif"], "cli_args"),
    ("ok.png", "o.jpg", ["--quality", "500"], "cli_args"),
    ("ok.png", "o.jpg", ["--mirror", "diagonal"], "cli_args"),
    ("ok.png", "o.jpg", ["--icc", "ProPhoto"], "cli_args"),
    ("ok.png", "o.jpg", ["--size", "huge"], "cli_args"),
    ("ok.png", "o.jpg", ["--size", "400,"], "cli_args"),          # upscaling without ^
    ("ok.png", "o.jpg", ["--region", "0", "0", "0", "10"], "cli_args"),
    ("ok.png", "o.jpg", ["--region", "500", "0", "10", "10"], "cli_args"),
    ("ok.png", "o.jp2", ["--Corder", "XYZ"], "cli_args"),
    ("ok.png", "o.jp2", ["--Clevels", "40"], "cli_args"),
    ("ok.png", "o.jp2", ["--Cblk", "{3,3}"], "cli_args"),
    ("ok.png", "o.jpg", ["--watermark", "/nonexistent.tif"], "read"),
    ("ok.png", "no/such/dir/o.jpg", [], "write"),
]


@pytest.mark.parametrize("src,dst,args,phase", CASES)
def test_bad_input(files, tmp_path, src, dst, args, phase):
    inp = files / src
    out = tmp_path / dst
    before = digest(inp) if inp.is_file() else None
    r = subprocess.run([SIPI_BIN, "convert", *args, str(inp), str(out)], capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("Error "), lines[0]
    assert not out.exists()
    assert not any(p.name.startswith(".") and "sipi" in p.name for p in tmp_path.iterdir()), list(tmp_path.iterdir())
    if before:
        assert digest(inp) == before
    # --json: exactly one JSON document on stdout naming the phase.
    r = subprocess.run([SIPI_BIN, "convert", "--json", *args, str(inp), str(out)], capture_output=True, text=True,
                       timeout=60)
    if r.stdout.strip():  # CLI11 itself rejects some values before sipi runs (exit 105 etc.)
        doc = json.loads(r.stdout)
        assert doc["status"] == "error" and doc["phase"] == phase, doc
        assert doc["error_message"]


def test_cli11_rejects_malformed_options(files, tmp_path):
    r = subprocess.run([SIPI_BIN, "convert", "--region", "1", "2", str(files / "ok.png"), str(tmp_path / "o.jpg")],
                       capture_output=True, text=True)
    assert r.returncode != 0 and not (tmp_path / "o.jpg").exists()
    r = subprocess.run([SIPI_BIN, "convert", str(files / "ok.png")], capture_output=True, text=True)
    assert r.returncode != 0


def test_output_onto_input_replaces_it(files, tmp_path):
    # DSP's top-left fix converts a file onto itself: written aside, then renamed over it.
    p = tmp_path / "same.png"
    grid_image(50, 50).save(p)
    before = np.asarray(Image.open(p).convert("RGB"))
    r = subprocess.run([SIPI_BIN, "convert", str(p), str(p)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert np.array_equal(np.asarray(Image.open(p).convert("RGB")), before)
    assert os.listdir(tmp_path) == ["same.png"]


def test_existing_output_survives_a_failed_conversion(files, tmp_path):
    out = tmp_path / "keep.jpg"
    out.write_bytes(b"previous")
    r = subprocess.run([SIPI_BIN, "convert", str(files / "truncated.png"), str(out)], capture_output=True, text=True)
    assert r.returncode != 0 and out.read_bytes() == b"previous"


def test_json_success_document(files, tmp_path):
    out = tmp_path / "ok.jp2"
    r = subprocess.run([SIPI_BIN, "convert", "--json", str(files / "ok.png"), str(out)], capture_output=True, text=True)
    doc = json.loads(r.stdout)
    assert doc["status"] == "ok" and doc["output_format"] == "jpx"  # SIPI's name for JPEG 2000
    assert doc["file_size_bytes"] == (files / "ok.png").stat().st_size  # SIPI: the input's size
    assert doc["image"] == {"width": 200, "height": 100, "channels": 3, "bps": 8, "colorspace": "RGB",
                            "icc_profile_type": "sRGB", "orientation": "TOPLEFT"}


def test_a_pyramidal_tiff_converts_without_warnings(tmp_path):
    # exiv2 calls the link from a TIFF's first directory to the next an "unexpected next pointer";
    # every pyramidal or multi-page TIFF has one, so it is no warning to print.
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (600, 800, 3), dtype=np.uint8)).save(tmp_path / "a.png")
    # Small tiles: a pyramid of six pages (exiv2 complains from the fifth directory on).
    subprocess.run(["vips", "tiffsave", str(tmp_path / "a.png"), str(tmp_path / "p.tif"), "--tile", "--pyramid",
                    "--tile-width", "16", "--tile-height", "16", "--compression", "deflate"], check=True,
                   capture_output=True)
    r = subprocess.run([SIPI_BIN, "convert", str(tmp_path / "p.tif"), str(tmp_path / "out.jp2")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stderr == "", r.stderr
