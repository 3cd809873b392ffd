"""Test images, generated at test time (nothing binary is committed).

The grid image is COLS x ROWS cells of CELL px; cell (col, row) has the colour cell_colour(col, row),
so any region, scale, rotation or mirror can be checked by sampling pixels.
"""
import os
import shutil
import subprocess

import numpy as np
from PIL import Image

CELL = 100
COLS, ROWS = 16, 12
W, H = COLS * CELL, ROWS * CELL  # 1600 x 1200
ADOBE_RGB = "/usr/share/color/icc/compatibleWithAdobeRGB1998.icc"


def cell_colour(col, row):
    return ((col * 16 + 8) % 256, (row * 21 + 10) % 256, ((col + row) * 37 + 60) % 256)


def grid_image(w=W, h=H):
    cols = np.arange(w) // CELL
    rows = np.arange(h) // CELL
    c, r = np.meshgrid(cols, rows)
    rgb = np.stack([(c * 16 + 8) % 256, (r * 21 + 10) % 256, ((c + r) * 37 + 60) % 256], axis=-1)
    return Image.fromarray(rgb.astype(np.uint8), "RGB")


def vips(*args):
    subprocess.run(["vips", *args], check=True, capture_output=True)


def make_all(root):
    """Writes every fixture under `root` and returns a dict name -> relative identifier."""
    os.makedirs(os.path.join(root, "sub", "deeper"), exist_ok=True)
    grid = grid_image()
    p = lambda name: os.path.join(root, name)  # noqa: E731
    grid.save(p("grid.png"))
    grid.save(p("grid.jpg"), quality=95)
    grid.save(p("grid.webp"), lossless=True)
    vips("tiffsave", p("grid.png"), p("grid_pyr_deflate.tif"), "--tile", "--tile-width", "256",
         "--tile-height", "256", "--pyramid", "--compression", "deflate")
    vips("tiffsave", p("grid.png"), p("grid_pyr_jpeg.tif"), "--tile", "--tile-width", "256",
         "--tile-height", "256", "--pyramid", "--compression", "jpeg", "--Q", "95")
    vips("tiffsave", p("grid.png"), p("grid_subifd.tif"), "--tile", "--pyramid", "--subifd",
         "--compression", "deflate")
    vips("tiffsave", p("grid.png"), p("grid_strip_lzw.tif"), "--compression", "lzw")
    vips("tiffsave", p("grid.png"), p("grid_bigtiff.tif"), "--tile", "--bigtiff")
    vips("jp2ksave", p("grid.png"), p("grid.jp2"), "--lossless", "--tile-width", "512", "--tile-height", "512")
    vips("jp2ksave", p("grid.png"), p("grid_untiled.j2k"), "--lossless", "--tile-width", "2048",
         "--tile-height", "2048")
    shutil.copy(p("grid.png"), p("sub/deeper/nested.png"))
    shutil.copy(p("grid.png"), p("sub/prefixed.png"))
    shutil.copy(p("grid.png"), p("name with space.png"))

    # 16-bit: grid values scaled to 16 bits (v * 257) must come back as v.
    vips("cast", p("grid.png"), p("g16.v"), "ushort")
    vips("linear", p("g16.v"), p("g16b.v"), "257", "0")
    vips("cast", p("g16b.v"), p("g16c.v"), "ushort")
    vips("copy", p("g16c.v"), p("grid16.png"), "--interpretation", "rgb16")
    for f in ("g16.v", "g16b.v", "g16c.v"):
        os.remove(p(f))

    vips("tiffsave", p("grid16.png"), p("grid16.tif"), "--compression", "deflate")
    vips("colourspace", p("grid.png"), p("lab.v"), "lab")
    vips("tiffsave", p("lab.v"), p("grid_lab.tif"))
    os.remove(p("lab.v"))
    grid.save(p("grid_progressive.jpg"), quality=95, progressive=True)
    grid.save(p("grid_ycbcr.tif"), compression="jpeg", quality=95)
    grid.convert("P", palette=Image.ADAPTIVE, colors=256).save(p("grid_palette.png"))
    grid.save(p("grid_planar.tif"), compression="tiff_lzw")
    grid.convert("L").save(p("gray.png"))
    vips("colourspace", p("gray.png"), p("gray16.v"), "grey16")
    vips("tiffsave", p("gray16.v"), p("gray16.tif"))
    os.remove(p("gray16.v"))
    grid.convert("L").point(lambda v: 255 if v >= 128 else 0).convert("1").save(p("bilevel.tif"), compression="group4")
    gray_alpha = Image.merge("LA", (grid.convert("L"), Image.new("L", grid.size, 128)))
    gray_alpha.save(p("gray_alpha.png"))
    rgba = grid.convert("RGBA")
    rgba.putalpha(200)
    rgba.save(p("rgba.png"))
    grid.convert("CMYK").save(p("cmyk.jpg"), quality=95)
    grid.convert("CMYK").save(p("cmyk.tif"))
    # An Adobe RGB image: the server must convert its pixels to sRGB.
    grid.save(p("adobe.png"), icc_profile=open(ADOBE_RGB, "rb").read())
    grid.save(p("adobe.tif"), icc_profile=open(ADOBE_RGB, "rb").read())

    # Multi-page document: three pages of different flat colours and sizes.
    pages = [Image.new("RGB", (300 + 10 * i, 200), c) for i, c in
             enumerate([(255, 0, 0), (0, 255, 0), (0, 0, 255)])]
    pages[0].save(p("multipage.tif"), save_all=True, append_images=pages[1:])

    # A pyramid whose reduced levels are deliberately different from the full level: a response
    # coloured like a reduced level proves that level (and not the full image) was decoded.
    make_marked_pyramid(root)

    # Broken files.
    with open(p("grid.png"), "rb") as f:
        data = f.read()
    with open(p("truncated.png"), "wb") as f:
        f.write(data[: len(data) // 3])
    with open(p("garbage.tif"), "wb") as f:
        f.write(b"II*\x00" + os.urandom(200))
    with open(p("notanimage.txt"), "w") as f:
        f.write("hello")
    with open(p("empty.jpg"), "wb"):
        pass
    shutil.copy(p("grid.png"), p("png_named.jpg"))  # wrong extension: sniffed, not trusted
    os.makedirs(p("adir"), exist_ok=True)


def make_marked_pyramid(root):
    full = Image.new("RGB", (2048, 2048), (200, 30, 30))      # red at full resolution
    half = Image.new("RGB", (1024, 1024), (30, 200, 30))      # green at 1/2
    quarter = Image.new("RGB", (512, 512), (30, 30, 200))     # blue at 1/4
    full.save(os.path.join(root, "marked.tif"), save_all=True, append_images=[half, quarter],
              compression="tiff_deflate")
