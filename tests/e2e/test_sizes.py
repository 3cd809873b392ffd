"""Output dimensions for every size form, against a model written from the spec in this file."""
from fractions import Fraction

import pytest

from imgutil import decode

LIMITS = (4000, 3000, 6000000)  # max_width, max_height, max_area from conftest


def rnd(x):
    return int(Fraction(x) + Fraction(1, 2))


def fit(rw, rh):
    mw, mh, ma = LIMITS
    s = min(Fraction(mw, rw), Fraction(mh, rh))
    w, h = (mw, rnd(Fraction(rh * mw, rw))) if Fraction(mw, rw) <= Fraction(mh, rh) else (rnd(Fraction(rw * mh, rh)), mh)
    if w * h <= ma:
        return w, h
    best = None
    for major in range(1, max(mw, mh) + 2):
        if rw >= rh:
            c = (major, max(1, rnd(Fraction(rh * major, rw))))
        else:
            c = (max(1, rnd(Fraction(rw * major, rh))), major)
        if c[0] * c[1] > ma or c[0] > mw or c[1] > mh:
            break
        best = c
    return best


def expected(size, rw, rh):
    up = size.startswith("^")
    s = size[1:] if up else size
    mw, mh, ma = LIMITS
    if s == "max":
        if not up and rw <= mw and rh <= mh and rw * rh <= ma:
            return rw, rh
        return fit(rw, rh)
    if s.startswith("pct:"):
        p = Fraction(s[4:])
        return rnd(rw * p / 100), rnd(rh * p / 100)
    conf = s.startswith("!")
    a, b = (s[1:] if conf else s).split(",")
    if conf:
        w, h = int(a), int(b)
        if Fraction(w, rw) <= Fraction(h, rh):
            return w, rnd(Fraction(rh * w, rw))
        return rnd(Fraction(rw * h, rh)), h
    if a and b:
        return int(a), int(b)
    if a:
        return int(a), rnd(Fraction(rh * int(a), rw))
    return rnd(Fraction(rw * int(b), rh)), int(b)


REGIONS = {"full": (1600, 1200), "0,0,333,777": (333, 777), "1500,1100,300,300": (100, 100), "square": (1200, 1200)}
SIZES = ["max", "^max", "800,", ",600", "pct:50", "pct:33.3", "pct:0.5", "640,480", "123,456", "!500,500",
         "!300,900", "^2000,", "^,2500", "^pct:150", "^1700,1300", "^!3000,3000", "^400,", "1,", ",1", "!1,1"]


@pytest.mark.parametrize("region", sorted(REGIONS))
@pytest.mark.parametrize("size", SIZES)
def test_output_dimensions(server, region, size):
    rw, rh = REGIONS[region]
    want = expected(size, rw, rh)
    up = size.startswith("^")
    too_big_no_caret = not up and (want[0] > rw or want[1] > rh)
    over_limits = want[0] > LIMITS[0] or want[1] > LIMITS[1] or want[0] * want[1] > LIMITS[2]
    status, headers, body = server.request(f"/grid.png/{region}/{size}/0/default.png")
    if too_big_no_caret or over_limits or min(want) < 1:
        assert status == 400, (region, size, want, status)
        return
    assert status == 200, (region, size, body)
    assert decode(body).size == want, (region, size)
    # Canonical size in the Link header: w,h unless it equals what max (or ^max) gives.
    link = headers["link"]
    assert link.split(">")[0].split("/")[-3] == canonical(want, rw, rh), link


def canonical(want, rw, rh):
    larger = want[0] > rw or want[1] > rh
    if not larger and want == expected("max", rw, rh):
        return "max"
    if larger and want == expected("^max", rw, rh):
        return "^max"
    return ("^" if larger else "") + f"{want[0]},{want[1]}"


def test_confined_upscale_without_caret_is_400(server):
    status, _, _ = server.request("/grid.png/0,0,100,100/!200,200/0/default.png")
    assert status == 400


def test_tile_sizes_from_info_are_served(server):
    info, _ = server.get_json("/grid_pyr_deflate.tif/info.json")
    W, H = info["width"], info["height"]
    tile = info["tiles"][0]
    tw, th = tile["width"], tile.get("height", tile["width"])
    for sf in tile["scaleFactors"]:
        # The last tile of each row/column, as OpenSeadragon computes it.
        x = ((W - 1) // (tw * sf)) * tw * sf
        y = ((H - 1) // (th * sf)) * th * sf
        rw, rh = min(tw * sf, W - x), min(th * sf, H - y)
        ow, oh = -(-rw // sf), -(-rh // sf)
        status, _, body = server.request(f"/grid_pyr_deflate.tif/{x},{y},{rw},{rh}/{ow},{oh}/0/default.jpg")
        assert status == 200, (sf, x, y, rw, rh, ow, oh)
        assert decode(body).size == (ow, oh)
    for s in info["sizes"]:
        status, _, body = server.request(f"/grid_pyr_deflate.tif/full/{s['width']},{s['height']}/0/default.jpg")
        assert status == 200, s
        assert decode(body).size == (s["width"], s["height"])
