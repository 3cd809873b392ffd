"""JPEG shrink-on-load levels: libvips rounds shrunk sizes down, and a 1×1 JPEG once aborted
the server through a libvips assertion (found by fuzz/fuzz_image)."""
import pytest
from PIL import Image

from conftest import start_server, stop_server
from imgutil import decode


@pytest.fixture(scope="module")
def jpegs(tmp_path_factory):
    work = tmp_path_factory.mktemp("jpeg")
    root = work / "images"
    root.mkdir()
    Image.new("RGB", (1, 1), (200, 10, 10)).save(root / "one.jpg")
    Image.new("RGB", (9, 9), (10, 200, 10)).save(root / "nine.jpg")
    Image.new("RGB", (1001, 999), (10, 10, 200)).save(root / "odd.jpg", quality=95)
    srv = start_server(str(work), str(root), extra="cache_size = 0,")
    yield srv
    stop_server(srv)


@pytest.mark.parametrize("name", ["one.jpg", "nine.jpg"])
@pytest.mark.parametrize("form", ["full/max/0/default.jpg", "full/1,/0/default.png", "full/!1,1/0/default.png",
                                  "0,0,1,1/1,/0/default.jpg", "full/pct:10/0/default.png"])
def test_tiny_jpegs(jpegs, name, form):
    status, _, _ = jpegs.request(f"/{name}/{form}")
    # 10 % of one pixel rounds to 0: under a pixel is a 400; 10 % of nine rounds to one pixel.
    assert status == (400 if (name, form) == ("one.jpg", "full/pct:10/0/default.png") else 200)
    assert jpegs.alive()


@pytest.mark.parametrize("region,size", [("1000,998,1,1", "1,"), ("500,500,501,499", "62,"), ("0,0,1001,999", "125,"),
                                         ("992,0,9,999", "1,"), ("full", "126,")])
def test_odd_sized_jpeg_edges_at_every_level(jpegs, region, size):
    status, _, body = jpegs.request(f"/odd.jpg/{region}/{size}/0/default.png")
    assert status == 200, body
    img = decode(body).convert("RGB")
    assert img.size[0] == int(size.rstrip(","))
    r, g, b = img.getpixel((0, 0))
    assert b > 150 and r < 60 and g < 60
