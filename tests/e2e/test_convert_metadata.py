"""The round-trip matrix: every source format × every target format, each field read back with
exiftool and compared. A field survives exactly when both formats can hold it."""
import os
import subprocess

import pytest

from cli_fixtures import FIELDS, FORMATS, HOLDS, make_sources, read_fields
from conftest import SIPI_BIN


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    return make_sources(str(tmp_path_factory.mktemp("tagged")))


def test_sources_carry_every_field_their_format_holds(sources):
    for fmt, path in sources.items():
        got = read_fields(path)
        for key, (kind, value) in FIELDS.items():
            if kind in HOLDS[fmt]:
                assert got.get(key) == value, (fmt, key, got.get(key))


@pytest.mark.parametrize("src", FORMATS)
@pytest.mark.parametrize("dst", FORMATS + ["j2k"])
def test_round_trip(sources, tmp_path, src, dst):
    out = tmp_path / f"out.{dst}"
    r = subprocess.run([SIPI_BIN, "convert", sources[src], str(out)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    got = read_fields(str(out))
    for key, (kind, value) in FIELDS.items():
        if kind in HOLDS[src] and kind in HOLDS[dst]:
            assert got.get(key) == value, f"{src}→{dst}: {key} = {got.get(key)!r}, expected {value!r}"
        elif kind not in HOLDS[dst]:
            assert key not in got, f"{src}→{dst}: {key} present but {dst} is documented not to hold it"


@pytest.mark.parametrize("src", FORMATS)
def test_round_trip_htj2k(sources, tmp_path, src):
    # The HTJ2K row: the same JP2 boxes as classic JPEG 2000 around another codestream, so the
    # same fields survive, and they survive the way back to TIFF too.
    out, back = tmp_path / "out.jp2", tmp_path / "back.tif"
    r = subprocess.run([SIPI_BIN, "convert", "--htj2k", sources[src], str(out)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    data = out.read_bytes()
    cod = data.find(b"\xff\x52", data.find(b"\xff\x4f\xff\x51"))
    assert data[cod + 12] & 0x40, "not an HT codestream"
    got = read_fields(str(out))
    for key, (kind, value) in FIELDS.items():
        if kind in HOLDS[src] and kind in HOLDS["jp2"]:
            assert got.get(key) == value, f"{src}→htj2k: {key} = {got.get(key)!r}, expected {value!r}"
        elif kind not in HOLDS["jp2"]:
            assert key not in got, f"{src}→htj2k: {key} present"
    r = subprocess.run([SIPI_BIN, "convert", str(out), str(back)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    again = read_fields(str(back))
    for key, (kind, value) in FIELDS.items():
        if kind in HOLDS[src] and kind in HOLDS["jp2"]:
            assert again.get(key) == value, f"{src}→htj2k→tif: {key}"


@pytest.mark.parametrize("dst", ["jpg", "tif", "png", "jp2"])
def test_second_generation_keeps_everything(sources, tmp_path, dst):
    # tif → dst → tif: nothing is lost on the way back either.
    mid, back = tmp_path / f"mid.{dst}", tmp_path / "back.tif"
    for a, b in [(sources["tif"], mid), (str(mid), back)]:
        r = subprocess.run([SIPI_BIN, "convert", str(a), str(b)], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
    got = read_fields(str(back))
    for key, (kind, value) in FIELDS.items():
        assert got.get(key) == value, (dst, key)


def test_skipmeta_drops_everything(sources, tmp_path):
    out = tmp_path / "bare.jpg"
    r = subprocess.run([SIPI_BIN, "convert", "--skipmeta", sources["tif"], str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert read_fields(str(out)) == {}


def test_pyramid_tiff_keeps_metadata_and_levels(sources, tmp_path):
    from PIL import Image
    out = tmp_path / "pyr.tif"
    r = subprocess.run([SIPI_BIN, "convert", "--Ctiff_pyramid", sources["jp2"], str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    got = read_fields(str(out))
    assert got.get("EXIF:Artist") == "Ada Lovelace" and got.get("XMP-dc:Title") == "XMP title"
    im = Image.open(out)
    sizes = []
    for i in range(im.n_frames):
        im.seek(i)
        sizes.append(im.size)
    assert sizes[0] == (480, 360) and len(sizes) >= 2 and sizes[1] == (240, 180), sizes
    q = subprocess.run([SIPI_BIN, "query", "--json", str(out)], capture_output=True, text=True)
    import json
    info = json.loads(q.stdout)
    assert info["tile"] == [256, 256] and len(info["levels"]) >= 2


def test_malformed_exif_is_reported_and_skipped(tmp_path):
    from fixtures import grid_image
    src = tmp_path / "bad_exif.jpg"
    grid_image(64, 48).save(src, quality=90)
    data = open(src, "rb").read()
    # An APP1 "Exif" segment whose TIFF header is garbage, right after SOI.
    payload = b"Exif\x00\x00" + b"XX\x2a\x00" + bytes(range(40))
    seg = b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload
    src.write_bytes(data[:2] + seg + data[2:])
    out = tmp_path / "out.tif"
    r = subprocess.run([SIPI_BIN, "convert", str(src), str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert out.exists()
    assert "Warning: metadata skipped" in r.stderr
