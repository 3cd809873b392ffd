#!/usr/bin/python3
"""Deterministic synthetic 'photographs' for bench/iiif_load.sh.

The pixels are a lazy libvips pipeline (through GObject introspection, so nothing but
Debian's python3-gi and gir1.2-vips-8.0 is needed) that streams into the savers: a
40000x40000 image never sits in memory. Everything is seeded, so the same version of this
file writes the same pixels.

  make_images.py master  W H SEED OUT.tif    # lossless tiled TIFF (input of sipi convert)
  make_images.py variant IN.tif KIND OUT       # KIND: tif-jpeg tif-deflate jpg png
"""
import sys

import gi

gi.require_version("Vips", "8.0")
from gi.repository import GObject, Vips  # noqa: E402

VERSION = "1"  # bump when the pixels or the variants change
# JPEG quality of the TIFF tiles and of the baseline JPEG. Not 90: from Q 90 on, libvips writes
# TIFF JPEG tiles as RGB without chroma subsampling (photometric RGB, about 3x the bytes), which
# few real pyramids are; at 89 they are the usual YCbCr 4:2:0.
JPEG_Q = 89


def run(name, **props):
    """Builds libvips operation `name` with `props`; returns the operation (for its outputs)."""
    op = Vips.Operation.new(name)
    for key, value in props.items():
        GObject.Object.set_property(op, key.replace("_", "-"), value)
    built = Vips.cache_operation_build(op)
    if built is None:
        raise SystemExit(f"make_images: vips {name} failed: {Vips.error_buffer()}")
    return built


def out(name, **props):
    return GObject.Object.get_property(run(name, **props), "out")


def photo(width, height, seed):
    """Three correlated bands of multi-scale texture, cellular edges and grain."""
    big = max(width, height)
    layers = [
        out("perlin", width=width, height=height, cell_size=max(64, big // 5), seed=seed + 1),
        out("perlin", width=width, height=height, cell_size=211, seed=seed + 2),
        out("perlin", width=width, height=height, cell_size=37, seed=seed + 3),
        out("perlin", width=width, height=height, cell_size=7, seed=seed + 4),
        out("worley", width=width, height=height, cell_size=149, seed=seed + 5),
        out("gaussnoise", width=width, height=height, sigma=1.0, mean=0.0, seed=seed + 6),
    ]
    stack = out("bandjoin", **{"in": Vips.ArrayImage.new(layers)})
    # rows: R, G, B; columns: the layers above (worley is a distance in pixels, 0..~150)
    mix = [
        1.00, 0.80, 0.55, 0.30, 0.0060, 0.060,
        0.85, 0.90, 0.50, 0.30, 0.0050, 0.060,
        0.60, 0.70, 0.65, 0.32, 0.0075, 0.070,
    ]
    matrix = Vips.Image.new_matrix_from_array(len(layers), 3, mix)
    colour = out("recomb", **{"in": stack, "m": matrix})
    scaled = out("linear", **{"in": colour, "a": Vips.ArrayDouble.new([105.0, 100.0, 110.0]),
                               "b": Vips.ArrayDouble.new([95.0, 92.0, 80.0]), "uchar": True})
    return out("copy", **{"in": scaled, "interpretation": Vips.Interpretation.SRGB})


def master(width, height, seed, path):
    """Lossless tiled TIFF, Deflate: small enough to stay a classic TIFF (sipi convert reads no
    BigTIFF) even at 40000x40000."""
    run("tiffsave", **{"in": photo(width, height, seed), "filename": path, "tile": True,
                       "tile_width": 256, "tile_height": 256,
                       "compression": Vips.ForeignTiffCompression.DEFLATE,
                       "predictor": Vips.ForeignTiffPredictor.HORIZONTAL})


def variant(src, kind, path):
    image = out("tiffload", filename=src, access=Vips.Access.SEQUENTIAL) if kind in ("jpg", "png") \
        else out("tiffload", filename=src)
    big = image.get_width() * image.get_height() * 3 > 3_000_000_000  # Deflate may pass 4 GB
    if kind == "tif-jpeg":
        run("tiffsave", **{"in": image, "filename": path, "tile": True, "tile_width": 256, "tile_height": 256,
                           "pyramid": True, "compression": Vips.ForeignTiffCompression.JPEG, "Q": JPEG_Q})
    elif kind == "tif-deflate":
        run("tiffsave", **{"in": image, "filename": path, "tile": True, "tile_width": 256, "tile_height": 256,
                           "pyramid": True, "compression": Vips.ForeignTiffCompression.DEFLATE,
                           "predictor": Vips.ForeignTiffPredictor.HORIZONTAL, "bigtiff": big})
    elif kind == "jpg":
        run("jpegsave", **{"in": image, "filename": path, "Q": JPEG_Q})
    elif kind == "png":
        run("pngsave", **{"in": image, "filename": path, "compression": 6})
    else:
        raise SystemExit(f"make_images: unknown variant {kind}")


def main(argv):
    Vips.init(argv[0])
    if len(argv) == 6 and argv[1] == "master":
        master(int(argv[2]), int(argv[3]), int(argv[4]), argv[5])
    elif len(argv) == 5 and argv[1] == "variant":
        variant(argv[2], argv[3], argv[4])
    elif len(argv) == 2 and argv[1] == "version":
        print(VERSION)
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
