"""Sources for the converter tests, made with Pillow and tagged with exiftool (independent of sipi)."""
import json
import os
import subprocess

import numpy as np
from PIL import Image

from fixtures import ADOBE_RGB, grid_image

FORMATS = ["jpg", "tif", "png", "webp", "jp2"]
# What each format holds, as sipi documents it (docs/user-guide.md, "Metadata by format").
HOLDS = {
    "jpg": {"exif", "iptc", "xmp", "icc"},
    "tif": {"exif", "iptc", "xmp", "icc"},
    "png": {"exif", "iptc", "xmp", "icc"},
    "webp": {"exif", "xmp", "icc"},
    "jp2": {"exif", "iptc", "xmp", "icc"},
    "j2k": set(),
}
# exiftool tag → (kind, expected value)
FIELDS = {
    "EXIF:Artist": ("exif", "Ada Lovelace"),
    "EXIF:Copyright": ("exif", "CC0 1.0"),
    "EXIF:Make": ("exif", "SipiCam"),
    "EXIF:DateTimeOriginal": ("exif", "2020:01:02 03:04:05"),
    "IPTC:ObjectName": ("iptc", "Test object"),
    "IPTC:Keywords": ("iptc", ["alpha", "beta"]),
    "IPTC:By-line": ("iptc", "Ada"),
    "XMP-dc:Title": ("xmp", "XMP title"),
    "XMP-dc:Creator": ("xmp", ["XMP creator"]),
    "ICC_Profile:ProfileDescription": ("icc", "Compatible with Adobe RGB (1998)"),
}


def exiftool(*args):
    return subprocess.run(["exiftool", *args], capture_output=True, text=True, check=True).stdout


def read_fields(path):
    out = json.loads(exiftool("-j", "-G1", "-a", "-struct", "-EXIF:all", "-IPTC:all", "-XMP-dc:all",
                              "-ICC_Profile:ProfileDescription", path))[0]
    found = {}
    for key in FIELDS:
        group, name = key.split(":")
        for k, v in out.items():
            g, n = k.split(":") if ":" in k else ("", k)
            if n != name:
                continue
            if (group == "EXIF" and g in ("IFD0", "ExifIFD")) or (group == "IPTC" and g == "IPTC") or \
               (group == "XMP-dc" and g == "XMP-dc") or (group == "ICC_Profile" and g == "ICC_Profile"):
                found[key] = v
    return found


def tag(path):
    args = ["-q", "-overwrite_original", "-Artist=Ada Lovelace", "-Copyright=CC0 1.0", "-EXIF:Make=SipiCam",
            "-EXIF:DateTimeOriginal=2020:01:02 03:04:05", "-XMP-dc:Title=XMP title", "-XMP-dc:Creator=XMP creator"]
    if not path.endswith(".webp"):
        args += ["-IPTC:ObjectName=Test object", "-IPTC:Keywords=alpha", "-IPTC:Keywords=beta", "-IPTC:By-line=Ada"]
    if path.endswith(".jp2"):
        args += [f"-ICC_Profile<={ADOBE_RGB}"]
    subprocess.run(["exiftool", *args, path], capture_output=True, check=True)


def make_sources(root):
    """grid.<fmt> for every format, each with EXIF, IPTC (not WebP), XMP and an Adobe RGB profile."""
    os.makedirs(root, exist_ok=True)
    img = grid_image(480, 360)
    icc = open(ADOBE_RGB, "rb").read()
    paths = {}
    for fmt in FORMATS:
        p = os.path.join(root, f"tagged.{fmt}")
        if fmt == "jpg":
            img.save(p, quality=95, icc_profile=icc)
        elif fmt == "tif":
            img.save(p, icc_profile=icc, compression="tiff_deflate")
        elif fmt == "png":
            img.save(p, icc_profile=icc)
        elif fmt == "webp":
            img.save(p, lossless=True, icc_profile=icc)
        else:
            img.save(p, irreversible=False)
        tag(p)
        paths[fmt] = p
    return paths


def as_array(path):
    im = Image.open(path)
    im.load()
    return np.asarray(im.convert("RGB"), dtype=np.float64)


def psnr(a, b):
    mse = np.mean((a - b) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)
