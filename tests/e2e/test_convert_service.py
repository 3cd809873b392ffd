"""Service files (Essentials packet), access files, verify, and SIPI's legacy packets. The packet
is decoded here from the protobuf wire format by hand and its digest recomputed with Pillow, so
the checks do not go through sipi's own reader."""
import base64
import hashlib
import json
import struct
import subprocess

import numpy as np
import pytest
from PIL import Image

from conftest import SIPI_BIN
from fixtures import ADOBE_RGB, grid_image

UUID = bytes.fromhex("7B28A646B9C34FB2900BB6855DF23882")
CMYK_ICC = "/usr/share/color/icc/ghostscript/default_cmyk.icc"


def sipi(*args, ok=True):
    r = subprocess.run([SIPI_BIN, *map(str, args)], capture_output=True, text=True, timeout=120)
    if ok:
        assert r.returncode == 0, r.stderr
    return r


def jp2_boxes(data):
    off, out = 0, []
    while off + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[off:off + 8])
        if length == 0:
            length = len(data) - off
        out.append((kind, data[off + 8:off + length]))
        off += length
    return out


def protobuf_fields(buf):
    """{field number: value} for varint (wire type 0) and length-delimited (2) fields."""
    fields, i = {}, 0
    def varint():
        nonlocal i
        shift = value = 0
        while True:
            b = buf[i]
            i += 1
            value |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return value
    while i < len(buf):
        key = varint()
        num, wire = key >> 3, key & 7
        if wire == 0:
            fields[num] = varint()
        elif wire == 2:
            n = varint()
            fields[num] = buf[i:i + n]
            i += n
        else:
            raise AssertionError(f"unexpected wire type {wire}")
    return fields


def pixel_sha256(path):
    im = Image.open(path)
    im.load()
    return hashlib.sha256(np.asarray(im).tobytes()).digest()


@pytest.fixture()
def master(tmp_path):
    p = tmp_path / "master scan.tif"
    grid_image(400, 300).save(p, icc_profile=open(ADOBE_RGB, "rb").read())
    subprocess.run(["exiftool", "-q", "-overwrite_original", "-Artist=Ada", str(p)], check=True)
    return p


def test_jp2_service_file_packet(master, tmp_path):
    out = tmp_path / "sf.jp2"
    sipi("convert", "service-file", master, out)
    boxes = jp2_boxes(out.read_bytes())
    kinds = [k for k, _ in boxes]
    assert kinds.index(b"uuid") == kinds.index(b"jp2h") + 1  # right after the header box
    payload = next(b for k, b in boxes if k == b"uuid" and b[:16] == UUID)[16:]
    f = protobuf_fields(payload)
    assert f[1] == 1                                          # version
    assert f[2] == b"master scan.tif" and f[3] == b"image/tiff"
    assert f[4] == 3                                          # SHA-256
    assert f[5] == pixel_sha256(out) == pixel_sha256(master)  # lossless, and the digest is the pixels'
    assert (f[8], f[9], f[14], f[15]) == (400, 300, 3, 8)
    assert f.get(6, 0) == 0                                   # an RGB matrix profile fits the colr box
    assert "Files identical!" in sipi("compare", master, out).stderr
    assert "service file ok" in sipi("verify", "service-file", out).stdout


def test_tiff_service_file_packet(master, tmp_path):
    out = tmp_path / "sf.tif"
    sipi("convert", "service-file", master, out)
    im = Image.open(out)
    f = protobuf_fields(bytes(im.tag_v2[65112]))
    assert f[2] == b"master scan.tif" and f[5] == pixel_sha256(master)
    assert im.n_frames >= 2                                    # pyramidal
    sipi("verify", "service-file", out)


def test_tampered_digest_is_detected(master, tmp_path):
    out = tmp_path / "sf.jp2"
    sipi("convert", "service-file", master, out)
    data = bytearray(out.read_bytes())
    pos = data.find(hashlib.sha256(np.asarray(Image.open(master)).tobytes()).digest())
    assert pos > 0
    data[pos] ^= 0xFF
    bad = tmp_path / "bad.jp2"
    bad.write_bytes(bytes(data))
    r = sipi("verify", "service-file", bad, ok=False)
    assert r.returncode == 1 and "does not match" in r.stderr


def test_access_file_has_no_packet_and_keeps_metadata(master, tmp_path):
    sf, af = tmp_path / "sf.jp2", tmp_path / "af.jpg"
    sipi("convert", "service-file", master, sf)
    sipi("convert", "access-file", "--size", "200,", sf, af)
    assert Image.open(af).size == (200, 150)
    sipi("verify", "access-file", af)
    assert sipi("verify", "service-file", af, ok=False).returncode == 1
    tags = subprocess.run(["exiftool", "-s3", "-Artist", "-ICC_Profile:ProfileDescription", str(af)],
                          capture_output=True, text=True).stdout.split("\n")
    assert tags[0] == "Ada" and tags[1] == "Compatible with Adobe RGB (1998)"
    # Plain conversions of a service file do not copy the packet either.
    plain = tmp_path / "plain.tif"
    sipi("convert", sf, plain)
    assert 65112 not in Image.open(plain).tag_v2


def test_access_file_needs_a_service_file(master, tmp_path):
    r = sipi("convert", "access-file", master, tmp_path / "x.jpg", ok=False)
    assert r.returncode == 1 and "not a service file" in r.stderr
    assert not (tmp_path / "x.jpg").exists()


def test_service_file_only_jp2_or_tiff(master, tmp_path):
    r = sipi("convert", "service-file", master, tmp_path / "x.png", ok=False)
    assert r.returncode == 1 and not (tmp_path / "x.png").exists()


def test_profile_jp2_cannot_hold_travels_in_the_packet(tmp_path):
    # A CMYK master with a CMYK (LUT-based) profile: JP2's colour box may only hold restricted
    # profiles, so the packet carries it, and converting back restores it.
    src = tmp_path / "cmyk.tif"
    grid_image(200, 100).convert("CMYK").save(src, icc_profile=open(CMYK_ICC, "rb").read())
    sf, back = tmp_path / "sf.jp2", tmp_path / "back.tif"
    sipi("convert", "service-file", src, sf)
    payload = next(b for k, b in jp2_boxes(sf.read_bytes()) if k == b"uuid" and b[:16] == UUID)[16:]
    f = protobuf_fields(payload)
    assert f[6] == 1 and f[7] == open(CMYK_ICC, "rb").read()
    sipi("convert", "access-file", sf, back)
    assert Image.open(back).info.get("icc_profile") == open(CMYK_ICC, "rb").read()
    assert Image.open(back).mode == "CMYK"


def test_legacy_tiff_packet_is_read(tmp_path):
    img = grid_image(120, 80)
    digest = hashlib.sha256(np.asarray(img).tobytes()).hexdigest().upper()
    icc = open(ADOBE_RGB, "rb").read()
    legacy = f"old scan.tif|image/tiff|SHA256|{digest}|USE_ICC|{base64.b64encode(icc).decode()}"
    src = tmp_path / "legacy.tif"
    img.save(src, tiffinfo={65111: legacy})
    out = sipi("verify", "service-file", src).stdout
    assert "old scan.tif" in out
    back = tmp_path / "back.png"
    sipi("convert", "access-file", src, back)
    assert Image.open(back).info.get("icc_profile") == icc


def test_legacy_j2k_comment_packet_is_read(tmp_path):
    img = grid_image(120, 80)
    png = tmp_path / "src.png"
    img.save(png)
    digest = hashlib.sha256(np.asarray(img).tobytes()).hexdigest()
    j2k = tmp_path / "legacy.j2k"
    subprocess.run(["opj_compress", "-i", str(png), "-o", str(j2k), "-C", f"SIPI:scan.tif|image/tiff|SHA256|{digest}"],
                   check=True, capture_output=True)
    out = sipi("verify", "service-file", j2k).stdout
    assert "scan.tif" in out and digest in out


def test_service_file_json(master, tmp_path):
    r = sipi("convert", "service-file", "--json", master, tmp_path / "sf.jp2")
    doc = json.loads(r.stdout)
    assert doc["status"] == "ok" and doc["output_format"] == "jpx"
