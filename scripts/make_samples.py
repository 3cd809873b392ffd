#!/usr/bin/python3
"""Regenerates the sample images shipped in images/samples (deterministic, no downloads).

  fractal.tif   4096×3072 Mandelbrot detail, tiled pyramidal TIFF (JPEG tiles, 256²)
  chart.jp2     3000×2000 test chart with labelled 250 px grid, JPEG 2000 (lossy, 5 levels)
  chart.jpg     the same chart as a baseline JPEG
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image, ImageDraw, ImageFont

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "images", "samples")


def mandelbrot(w, h):
    # A seahorse-valley window; smooth colouring by normalised iteration count.
    cx, cy, span = -0.7436447860, 0.1318252536, 0.0030
    xs = np.linspace(cx - span, cx + span, w, dtype=np.float64)
    ys = np.linspace(cy - span * h / w, cy + span * h / w, h, dtype=np.float64)
    c = xs[None, :] + 1j * ys[:, None]
    z = np.zeros_like(c)
    n = np.zeros(c.shape, dtype=np.float64)
    alive = np.ones(c.shape, dtype=bool)
    for i in range(400):
        z[alive] = z[alive] ** 2 + c[alive]
        esc = alive & (np.abs(z) > 4.0)
        n[esc] = i + 1 - np.log2(np.log(np.abs(z[esc])))
        alive &= ~esc
    t = np.where(alive, 0.0, n / 60.0)
    r = 0.5 + 0.5 * np.sin(6.2831 * (t + 0.00))
    g = 0.5 + 0.5 * np.sin(6.2831 * (t + 0.33))
    b = 0.5 + 0.5 * np.sin(6.2831 * (t + 0.67))
    rgb = np.stack([r, g, b], axis=-1)
    rgb[alive] = 0.02
    return (rgb * 255).astype(np.uint8)


def chart(w, h):
    img = Image.new("RGB", (w, h), (245, 245, 240))
    d = ImageDraw.Draw(img)
    try:
        font = ImageFont.truetype("DejaVuSans.ttf", 36)
    except OSError:
        font = ImageFont.load_default()
    step = 250
    for gx in range(0, w, step):
        for gy in range(0, h, step):
            hue = ((gx // step) * 37 + (gy // step) * 71) % 360
            colour = Image.new("HSV", (1, 1), (int(hue * 255 / 360), 90, 235)).convert("RGB").getpixel((0, 0))
            d.rectangle([gx + 4, gy + 4, gx + step - 4, gy + step - 4], fill=colour)
            d.text((gx + 20, gy + 20), f"{gx},{gy}", fill=(20, 20, 20), font=font)
    for gx in range(0, w + 1, step):
        d.line([(gx, 0), (gx, h)], fill=(0, 0, 0), width=3)
    for gy in range(0, h + 1, step):
        d.line([(0, gy), (w, gy)], fill=(0, 0, 0), width=3)
    return img


def run(*args):
    subprocess.run(args, check=True)


def main():
    os.makedirs(OUT, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        frac = os.path.join(tmp, "fractal.png")
        Image.fromarray(mandelbrot(4096, 3072)).save(frac)
        run("vips", "tiffsave", frac, os.path.join(OUT, "fractal.tif"), "--tile", "--tile-width", "256",
            "--tile-height", "256", "--pyramid", "--compression", "jpeg", "--Q", "82")
        ch = os.path.join(tmp, "chart.png")
        chart(3000, 2000).save(ch)
        run("vips", "jp2ksave", ch, os.path.join(OUT, "chart.jp2"), "--Q", "45", "--tile-width", "512",
            "--tile-height", "512")
        run("vips", "jpegsave", ch, os.path.join(OUT, "chart.jpg"), "--Q", "80")
    print("samples written to", os.path.normpath(OUT))


if __name__ == "__main__":
    sys.exit(main())
