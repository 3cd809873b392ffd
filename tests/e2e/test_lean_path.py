"""The lean path for small JPEG outputs (service/lean_render.cpp) against the libvips pipeline:
the same thumbnails and regions of a grey pyramidal TIFF, once as JPEG (lean: resampler + libjpeg) and
once as PNG (libvips resize + pngsave), at the same scaling quality. The difference is JPEG's own
loss plus resampling rounding (measured: mean ≤ 0.78, max 4); a shifted grid or a wrong kernel
would be far larger."""
import subprocess

import numpy as np
import pytest
from PIL import Image

from conftest import start_server, stop_server
from imgutil import decode


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    d = tmp_path_factory.mktemp("lean")
    y, x = np.mgrid[0:1500, 0:2000]
    # Grey, so that JPEG's own loss (no chroma subsampling) stays small next to resampling errors.
    grey = 128 + 60 * np.sin(x / 37.0) + 50 * np.cos(y / 53.0)
    Image.fromarray(grey.astype(np.uint8)).save(d / "src.png")
    images = d / "images"
    images.mkdir()
    subprocess.run(["vips", "tiffsave", str(d / "src.png"), str(images / "pyr.tif"), "--tile", "--pyramid",
                    "--compression", "deflate", "--tile-width", "256", "--tile-height", "256"], check=True)
    return images


@pytest.mark.parametrize("quality", ["medium", "high"])
def test_lean_jpeg_matches_the_libvips_pipeline(tmp_path, root, quality):
    srv = start_server(str(tmp_path), str(root),
                       extra=f"cache_size = 0, scaling_quality = {{ jpeg = '{quality}', png = '{quality}' }},")
    try:
        for region, size in [("full", "!200,200"), ("full", "333,"), ("100,50,900,700", "400,"), ("0,0,1000,1000", "300,300")]:
            got = {}
            for fmt in ("jpg", "png"):
                status, _, body = srv.request(f"/pyr.tif/{region}/{size}/0/default.{fmt}")
                assert status == 200, body
                got[fmt] = np.asarray(decode(body), dtype=np.int16)
            assert got["jpg"].shape == got["png"].shape, (region, size)
            diff = np.abs(got["jpg"] - got["png"])
            assert diff.mean() <= 1.0 and diff.max() <= 8, (region, size, diff.mean(), diff.max())
    finally:
        stop_server(srv)
