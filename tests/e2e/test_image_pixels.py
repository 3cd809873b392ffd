"""Pixels after region, scaling, rotation, mirroring and each quality, on every source format."""
import pytest

from fixtures import CELL, H, W, cell_colour
from imgutil import assert_pixel, decode

# identifier → tolerance per channel (lossless sources exact, JPEG-coded ones within 12).
SOURCES = {
    "grid.png": 0,
    "grid.webp": 0,
    "grid_pyr_deflate.tif": 0,
    "grid_subifd.tif": 0,
    "grid_strip_lzw.tif": 0,
    "grid_bigtiff.tif": 0,
    "grid.jp2": 0,
    "grid_untiled.j2k": 0,
    "grid16.png": 0,
    "grid_pyr_jpeg.tif": 12,
    "grid.jpg": 12,
    "png_named.jpg": 0,
    "grid16.tif": 0,
    "grid_lab.tif": 3,
    "grid_progressive.jpg": 12,
    "grid_ycbcr.tif": 12,
    "grid_palette.png": 0,
    "grid_planar.tif": 0,
}


@pytest.mark.parametrize("ident", sorted(SOURCES))
def test_region_crop_is_exact_cells(server, ident):
    tol = SOURCES[ident]
    # Two cells wide, one high, starting at cell (3, 2): check the centre of each cell.
    status, headers, body = server.request(f"/{ident}/{3 * CELL},{2 * CELL},{2 * CELL},{CELL}/max/0/default.png")
    assert status == 200, body
    img = decode(body)
    assert img.size == (2 * CELL, CELL)
    assert_pixel(img, (50, 50), cell_colour(3, 2), tol)
    assert_pixel(img, (150, 50), cell_colour(4, 2), tol)


@pytest.mark.parametrize("ident", sorted(SOURCES))
def test_downscale_keeps_cell_layout(server, ident):
    tol = SOURCES[ident] + 2
    # The whole image at 1/4: each cell becomes 25 px; sample cell centres away from edges.
    status, _, body = server.request(f"/{ident}/full/{W // 4},/0/default.png")
    assert status == 200, body
    img = decode(body)
    assert img.size == (W // 4, H // 4)
    for col, row in [(0, 0), (5, 3), (15, 11), (9, 7)]:
        assert_pixel(img, (col * 25 + 12, row * 25 + 12), cell_colour(col, row), tol)


def test_tile_from_reduced_level(server):
    # An OpenSeadragon-style tile at scale factor 4: region 1024² → 256².
    status, _, body = server.request("/grid_pyr_deflate.tif/0,0,1024,1024/256,256/0/default.png")
    assert status == 200
    img = decode(body)
    assert img.size == (256, 256)
    assert_pixel(img, (12, 12), cell_colour(0, 0), 2)
    assert_pixel(img, (140, 240), cell_colour(5, 9), 2)
    # The right-edge tile at the same level: 576 px left of the region → 144 px.
    status, _, body = server.request("/grid_pyr_deflate.tif/1024,0,576,1024/144,256/0/default.png")
    img = decode(body)
    assert img.size == (144, 256)
    assert_pixel(img, (140, 240), cell_colour(15, 9), 2)


@pytest.mark.parametrize("ident,expected", [
    ("marked.tif", None),
])
def test_reduced_pyramid_level_is_decoded_not_full(server, ident, expected):
    # marked.tif: full level red, 1/2 level green, 1/4 level blue. The level that is decoded
    # shows in the colour: proof that a small output never decodes the full level.
    cases = [("full/max/0/default.png", (200, 30, 30)),       # 2048 → full level
             ("full/1024,/0/default.png", (30, 200, 30)),     # exactly the 1/2 level
             ("full/1000,/0/default.png", (30, 200, 30)),     # smallest level ≥ 1000 is 1/2
             ("full/512,/0/default.png", (30, 30, 200)),      # the 1/4 level
             ("full/100,/0/default.png", (30, 30, 200)),      # below the smallest level: from it
             ("0,0,512,512/128,/0/default.png", (30, 30, 200)),
             ("0,0,512,512/512,/0/default.png", (200, 30, 30))]
    for tail, colour in cases:
        status, _, body = server.request(f"/{ident}/{tail}")
        assert status == 200, tail
        img = decode(body)
        assert_pixel(img, (img.width // 2, img.height // 2), colour, 2)


def test_rotation_by_90s_moves_corners(server):
    # Region: 2×2 cells at (0,0). Top-left cell A=(0,0), top-right B=(1,0), bottom-left C=(0,1).
    A, B, C, D = cell_colour(0, 0), cell_colour(1, 0), cell_colour(0, 1), cell_colour(1, 1)
    expect = {
        "0": (A, B, C, D),      # top-left, top-right, bottom-left, bottom-right
        "90": (C, A, D, B),
        "180": (D, C, B, A),
        "270": (B, D, A, C),
        "!0": (B, A, D, C),
        "!90": (D, B, C, A),
        "!180": (C, D, A, B),
        "!270": (A, C, B, D),
        "360": (A, B, C, D),
    }
    for rot, (tl, tr, bl, br) in expect.items():
        status, _, body = server.request(f"/grid.png/0,0,200,200/max/{rot}/default.png")
        assert status == 200, rot
        img = decode(body)
        assert img.size == (200, 200)
        for xy, colour in [((50, 50), tl), ((150, 50), tr), ((50, 150), bl), ((150, 150), br)]:
            assert_pixel(img, xy, colour, 0)


def test_rotation_90_swaps_dimensions(server):
    status, _, body = server.request("/grid.png/0,0,300,100/max/90/default.png")
    assert status == 200
    assert decode(body).size == (100, 300)


def test_arbitrary_rotation_png_has_transparent_corners(server):
    status, _, body = server.request("/grid.png/0,0,200,100/max/30/default.png")
    assert status == 200
    img = decode(body)
    # Bounding box of a 200×100 rectangle rotated 30°: 200cos30+100sin30 = 223.2, 200sin30+100cos30 = 186.6
    assert abs(img.width - 224) <= 1 and abs(img.height - 187) <= 1, img.size
    assert img.mode == "RGBA"
    assert img.getpixel((0, 0))[3] == 0
    assert img.getpixel((img.width - 1, img.height - 1))[3] == 0
    assert img.getpixel((img.width // 2, img.height // 2))[3] == 255


def test_arbitrary_rotation_jpg_has_white_corners(server):
    status, _, body = server.request("/grid.png/0,0,200,100/max/45/default.jpg")
    assert status == 200
    img = decode(body)
    assert img.mode == "RGB"
    assert_pixel(img, (0, 0), (255, 255, 255), 8)


def test_mirroring_with_arbitrary_rotation(server):
    status, _, body = server.request("/grid.png/0,0,200,100/max/!30/default.png")
    assert status == 200
    assert decode(body).mode == "RGBA"


def test_quality_gray(server):
    status, _, body = server.request(f"/grid.png/{5 * CELL},{5 * CELL},{CELL},{CELL}/max/0/gray.png")
    assert status == 200
    img = decode(body)
    assert img.mode == "L"
    r, g, b = cell_colour(5, 5)
    # libvips converts through CIE L* to sRGB grey; compare with Rec.709 luma within 6.
    luma = 0.2126 * r + 0.7152 * g + 0.0722 * b
    assert abs(img.getpixel((50, 50)) - luma) <= 6, (img.getpixel((50, 50)), luma)


def test_quality_bitonal(server):
    status, _, body = server.request("/grid.png/full/400,/0/bitonal.png")
    assert status == 200
    img = decode(body)
    assert img.mode in ("1", "L")
    values = set(img.convert("L").getdata())
    assert values <= {0, 255} and len(values) == 2, values
    # Dark cell (0,0) → black; a bright cell → white.
    assert img.convert("L").getpixel((12, 12)) == (0 if sum(cell_colour(0, 0)) / 3 < 128 else 255)


def test_quality_color_on_gray_source(server):
    status, _, body = server.request("/gray.png/0,0,100,100/max/0/color.png")
    assert status == 200
    img = decode(body)
    assert img.mode == "RGB"
    r, g, b = img.getpixel((50, 50))
    assert r == g == b


def test_quality_default_keeps_gray_gray(server):
    status, _, body = server.request("/gray.png/0,0,100,100/max/0/default.png")
    assert decode(body).mode == "L"


def test_rgba_source_keeps_alpha_in_png_and_flattens_in_jpg(server):
    status, _, body = server.request("/rgba.png/0,0,100,100/max/0/default.png")
    img = decode(body)
    assert img.mode == "RGBA" and img.getpixel((50, 50))[3] == 200
    status, _, body = server.request("/rgba.png/0,0,100,100/max/0/default.jpg")
    assert status == 200
    assert decode(body).mode == "RGB"


@pytest.mark.parametrize("ident", ["cmyk.jpg", "cmyk.tif"])
def test_cmyk_sources_become_rgb(server, ident):
    status, _, body = server.request(f"/{ident}/{7 * CELL},{4 * CELL},{CELL},{CELL}/max/0/default.png")
    assert status == 200, body
    img = decode(body)
    assert img.mode == "RGB"
    # Pillow's naive RGB→CMYK is not colour-managed; libvips uses a real CMYK profile, so only
    # require the hue ordering of the channels to survive, and no channel to be far off.
    got = img.getpixel((50, 50))
    want = cell_colour(7, 4)
    assert max(abs(a - b) for a, b in zip(got, want)) < 80, (got, want)


@pytest.mark.parametrize("ident", ["adobe.png", "adobe.tif"])
def test_embedded_icc_profile_is_converted_to_srgb(server, ident):
    from PIL import ImageCms
    import fixtures
    col, row = 9, 6
    status, _, body = server.request(f"/{ident}/{col * CELL},{row * CELL},{CELL},{CELL}/max/0/default.png")
    assert status == 200, body
    got = decode(body).convert("RGB").getpixel((50, 50))
    # Reference: lcms2 (through Pillow's ImageCms) converting the same pixel Adobe RGB → sRGB.
    from PIL import Image
    src = Image.new("RGB", (1, 1), cell_colour(col, row))
    transform = ImageCms.buildTransform(ImageCms.getOpenProfile(fixtures.ADOBE_RGB), ImageCms.createProfile("sRGB"),
                                        "RGB", "RGB", renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC)
    want = ImageCms.applyTransform(src, transform).getpixel((0, 0))
    assert all(abs(a - b) <= 4 for a, b in zip(got, want)), (got, want, cell_colour(col, row))
    assert got != cell_colour(col, row)  # the conversion really changed something


def test_sixteen_bit_source_scaled_to_eight(server):
    status, _, body = server.request(f"/grid16.png/{2 * CELL},{CELL},{CELL},{CELL}/max/0/default.png")
    img = decode(body)
    assert img.mode == "RGB"
    assert_pixel(img, (50, 50), cell_colour(2, 1), 1)


def test_multipage_tiff_page_selector(server):
    for page, colour, width in [(1, (255, 0, 0), 300), (2, (0, 255, 0), 310), (3, (0, 0, 255), 320)]:
        status, _, body = server.request(f"/multipage.tif@{page}/full/max/0/default.png")
        assert status == 200, page
        img = decode(body)
        assert img.size == (width, 200)
        assert_pixel(img, (10, 10), colour, 0)
    info, _ = server.get_json("/multipage.tif@2/info.json")
    assert info["width"] == 310 and info["numpages"] == 3
    assert info["id"].endswith("/multipage.tif@2")
    status, _, _ = server.request("/multipage.tif@4/full/max/0/default.png")
    assert status == 404


@pytest.mark.parametrize("fmt,mime,mode_ok", [
    ("jpg", "image/jpeg", {"RGB"}), ("png", "image/png", {"RGB"}), ("webp", "image/webp", {"RGB"}),
    ("tif", "image/tiff", {"RGB"}), ("jp2", "image/jp2", {"RGB"}), ("gif", "image/gif", {"P", "RGB", "L"}),
])
def test_every_output_format_decodes(server, fmt, mime, mode_ok):
    status, headers, body = server.request(f"/grid.png/{3 * CELL},{3 * CELL},{CELL},{CELL}/max/0/default.{fmt}")
    assert status == 200
    assert headers["content-type"] == mime
    img = decode(body)
    assert img.size == (CELL, CELL)
    assert img.mode in mode_ok
    tol = 0 if fmt in ("png", "tif") else 14
    assert_pixel(img.convert("RGB"), (50, 50), cell_colour(3, 3), tol)


def test_square_region(server):
    status, _, body = server.request("/grid.png/square/max/0/default.png")
    img = decode(body)
    assert img.size == (H, H)
    # Centred: x offset (1600-1200)/2 = 200 → the first column is cell 2.
    assert_pixel(img, (50, 50), cell_colour(2, 0), 0)


def test_pct_region(server):
    status, _, body = server.request("/grid.png/pct:25,50,12.5,25/max/0/default.png")
    img = decode(body)
    assert img.size == (200, 300)
    assert_pixel(img, (50, 50), cell_colour(4, 6), 0)


def test_region_past_edge_is_clipped(server):
    status, _, body = server.request("/grid.png/1500,1100,500,500/max/0/default.png")
    assert status == 200
    assert decode(body).size == (100, 100)


def test_prefix_and_encoded_slash_identifiers(server):
    for path in ["/sub/prefixed.png/0,0,100,100/max/0/default.png",
                 "/sub/deeper/nested.png/0,0,100,100/max/0/default.png",
                 "/sub%2Fdeeper%2Fnested.png/0,0,100,100/max/0/default.png",
                 "/name%20with%20space.png/0,0,100,100/max/0/default.png",
                 "/inside_link.png/0,0,100,100/max/0/default.png"]:
        status, _, body = server.request(path)
        assert status == 200, path
        assert_pixel(decode(body), (50, 50), cell_colour(0, 0), 0)


@pytest.mark.parametrize("ident", ["grid.png", "grid.jpg", "grid_pyr_deflate.tif", "grid_strip_lzw.tif", "grid.jp2"])
@pytest.mark.parametrize("rot", ["90", "180", "!270", "22.5"])
def test_whole_image_rotations(server, ident, rot):
    # Whole-image requests read the level differently (sequentially when nothing reorders rows).
    status, _, body = server.request(f"/{ident}/full/400,/{rot}/default.png")
    assert status == 200, body
    img = decode(body)
    if rot in ("90", "!270"):
        assert img.size == (300, 400)
    elif rot == "180":
        assert img.size == (400, 300)
        assert_pixel(img, (400 - 12, 300 - 12), cell_colour(0, 0), 14)


@pytest.mark.parametrize("ident,tol", [("gray16.tif", 1), ("gray_alpha.png", 0), ("bilevel.tif", 0)])
def test_grey_sources_stay_grey(server, ident, tol):
    from PIL import Image
    import io
    status, _, body = server.request(f"/{ident}/{4 * CELL},{3 * CELL},{CELL},{CELL}/max/0/default.png")
    assert status == 200, body
    img = decode(body)
    assert img.mode in ("L", "LA"), img.mode
    status, _, ref = server.request(f"/gray.png/{4 * CELL},{3 * CELL},{CELL},{CELL}/max/0/default.png")
    want = decode(ref).getpixel((50, 50))
    got = img.getpixel((50, 50))
    got = got[0] if isinstance(got, tuple) else got
    if ident == "bilevel.tif":
        want = 255 if want >= 128 else 0
    assert abs(got - want) <= tol, (got, want)
