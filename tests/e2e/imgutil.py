import io
from fractions import Fraction

from PIL import Image


def decode(body):
    img = Image.open(io.BytesIO(body))
    img.load()
    return img


def close(a, b, tol):
    return all(abs(x - y) <= tol for x, y in zip(a, b))


def assert_pixel(img, xy, expected, tol):
    got = img.convert("RGB").getpixel(xy) if len(expected) == 3 else img.getpixel(xy)
    if isinstance(got, int):
        got = (got,)
    assert close(got, expected, tol), f"pixel {xy}: got {got}, expected {expected} ±{tol}"


def round_half_up(fr):
    return int(Fraction(fr) + Fraction(1, 2)) if fr >= 0 else None
