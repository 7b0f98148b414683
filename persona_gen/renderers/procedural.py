"""Procedural portrait renderer: Pillow only, no model, no network.

Every portrait is a flat-colour cartoon bust on which each appearance attribute of
`persona_bench.persona_gen.vocab.APPEARANCE` can be read off: gender presentation (shoulders, neck,
brows, lips, lashes), age (wrinkles, eye bags, folds), skin tone, face shape, hair colour
and style, eye colour, facial hair, eyewear, headwear, earrings, clothing colour and
style, background colour.

How one image is made:

1. identity -> display list: `(attrs, seed)` gives a list of shapes in local units
   (1.0 = image width, origin at the head centre), cached per identity so the variants of
   a persona reuse it. The seed adds small identity-level jitter (eye spacing, mouth
   width, parting...), so pass the same seed for every variant of one persona.
2. variant -> view: `(seed, variant)` gives a pose (horizontal shift, head tilt), scale
   and crop, lighting (brightness, contrast, warmth, side shadow) and a lighter or darker
   shade of the same background hue.
3. raster: the shapes are drawn at `k x size` (k >= 2 supersampling), box-reduced by k
   (SSAA; see `_downscale`) and PNG-encoded with fixed settings, so the same inputs give
   byte-identical PNGs.
"""

from __future__ import annotations

import io
import math
import multiprocessing
import os
import random
from collections.abc import Callable, Iterator, Sequence
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw

from persona_bench.persona_gen.renderers import RenderJob
from persona_bench.persona_gen.vocab import APPEARANCE

# zlib level. PNG encoding of these images is bound by row filtering, not deflate:
# levels 1-3 take the same time (level 6: +45%) and 3 gives the smallest files of those.
PNG_COMPRESS_LEVEL = 3
HEAD_Y = 0.42  # where the head centre sits in the image at scale 1 (fraction of height)
TESSELLATION = 0.6  # vertices per curve, relative to the counts written below
ZOOM = 1.08  # local units -> image widths at scale 1

RGB = tuple[int, int, int]

# --------------------------------------------------------------------------- palettes

SKIN: dict[str, RGB] = {
    "pale": (250, 225, 212), "light": (236, 192, 158), "tan": (204, 146, 100),
    "brown": (146, 96, 62), "dark": (86, 54, 36),
}
HAIR: dict[str, RGB] = {
    "black": (30, 26, 28), "brown": (110, 64, 30), "blond": (236, 200, 112),
    "red": (190, 62, 24), "grey": (176, 176, 180), "blue": (40, 92, 220),
}
EYES: dict[str, RGB] = {
    "brown": (118, 66, 24), "blue": (40, 124, 236), "green": (38, 164, 64),
    "grey": (150, 160, 170),
}
CLOTHES: dict[str, RGB] = {
    "red": (206, 36, 42), "blue": (36, 82, 200), "green": (34, 150, 62),
    "yellow": (248, 208, 36), "purple": (128, 54, 172), "black": (32, 32, 36),
    "white": (246, 246, 246), "orange": (246, 128, 26),
}
BACKGROUND: dict[str, RGB] = {
    "teal": (0, 128, 128), "beige": (236, 212, 164), "lavender": (190, 170, 236),
    "grey": (150, 150, 150), "pink": (246, 172, 196), "mint": (180, 240, 200),
}
# Hat/headband colours: the one farthest from hair, skin and background is used.
ACCESSORY: tuple[RGB, ...] = (
    (210, 40, 40), (30, 60, 150), (30, 130, 60), (240, 200, 40), (60, 60, 64),
    (245, 245, 245), (240, 120, 30), (130, 50, 160),
)
GOLD: RGB = (240, 188, 36)
SILVER: RGB = (214, 220, 232)
FRAME: RGB = (28, 28, 34)
LIGHT_FRAME: RGB = (222, 196, 120)  # pale gold, for darker skin
LENS: RGB = (16, 16, 22)
WHITE: RGB = (255, 255, 255)
INK: RGB = (38, 24, 20)
SHADOW: RGB = (60, 30, 40)

_COLOURS = {
    "skin_tone": SKIN, "hair_color": HAIR, "eye_color": EYES, "clothing_color": CLOTHES,
    "background": BACKGROUND,
}
for _attr, _table in _COLOURS.items():  # the palettes cover the vocabulary exactly
    assert set(_table) == set(APPEARANCE[_attr]), _attr


def _mix(a: RGB, b: RGB, t: float) -> RGB:
    return tuple(round(x + (y - x) * t) for x, y in zip(a, b, strict=True))  # type: ignore[return-value]


def _scale(c: RGB, f: float) -> RGB:
    return tuple(min(255, round(x * f)) for x in c)  # type: ignore[return-value]


def _lum(c: RGB) -> float:
    return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]


def _detail(c: RGB, amount: float) -> RGB:
    """A shade of `c` that stands out on `c`: darker, or lighter when `c` is very dark."""
    return _mix(c, WHITE, amount * 0.9) if _lum(c) < 60 else _scale(c, 1 - amount)


def _dist(a: RGB, b: RGB) -> float:
    return math.dist(a, b)


# --------------------------------------------------------------------------- geometry

Pt = tuple[float, float]


@lru_cache(maxsize=1024)
def _unit(a0: float, a1: float, n: int, p: float = 2.0) -> tuple[tuple[float, float], ...]:
    """(x, y) on the unit superellipse of exponent p from angle a0 to a1, both included."""
    out = []
    for i in range(n + 1):
        t = math.radians(a0 + (a1 - a0) * i / n)
        c, s = math.cos(t), math.sin(t)
        if p != 2.0:
            c, s = math.copysign(abs(c) ** (2 / p), c), math.copysign(abs(s) ** (2 / p), s)
        out.append((c, s))
    return tuple(out)


def _segments(n: int) -> int:
    # Curves are drawn at >= 2x and filled scanline by scanline, at a cost that grows with
    # the vertex count: TESSELLATION trades smoothness (< 0.5 px off at 2x) for speed.
    return max(1, round(n * TESSELLATION))


def _arc(cx: float, cy: float, rx: float, ry: float, a0: float, a1: float, n: int) -> list[Pt]:
    """Points on an ellipse from angle a0 to a1 (degrees; 90 = down), both included."""
    return [(cx + rx * c, cy + ry * s) for c, s in _unit(a0, a1, _segments(n))]


def _ellipse(cx: float, cy: float, rx: float, ry: float, n: int = 0) -> list[Pt]:
    n = n or max(14, min(56, int(max(rx, ry) * 300)))
    return _arc(cx, cy, rx, ry, 0, 360, n)[:-1]


def _superellipse(a: float, b: float, p: float, taper: float, a0: float, a1: float,
                  n: int) -> list[Pt]:
    """Face-like outline: |x/a|^p + |y/b|^p = 1, narrowed towards the chin by `taper`."""
    return [(a * c * (1 - taper * s * s) if s > 0 else a * c, b * s)
            for c, s in _unit(a0, a1, _segments(n), p)]


@lru_cache(maxsize=16)
def _catmull_weights(steps: int) -> tuple[tuple[float, float, float, float], ...]:
    out = []
    for i in range(steps):
        t = i / steps
        t2, t3 = t * t, t * t * t
        out.append((0.5 * (-t3 + 2 * t2 - t), 0.5 * (3 * t3 - 5 * t2 + 2),
                    0.5 * (-3 * t3 + 4 * t2 + t), 0.5 * (t3 - t2)))
    return tuple(out)


def _smooth(pts: Sequence[Pt], steps: int = 3, closed: bool = False) -> list[Pt]:
    """Catmull-Rom spline through `pts`."""
    m = len(pts)
    if m < 3:
        return list(pts)
    weights = _catmull_weights(steps)
    out: list[Pt] = []
    for i in range(m if closed else m - 1):
        (x0, y0) = pts[(i - 1) % m] if closed or i > 0 else pts[0]
        (x1, y1), (x2, y2) = pts[i], pts[(i + 1) % m]
        (x3, y3) = pts[(i + 2) % m] if closed or i + 2 < m else pts[-1]
        for w0, w1, w2, w3 in weights:
            out.append((w0 * x0 + w1 * x1 + w2 * x2 + w3 * x3,
                        w0 * y0 + w1 * y1 + w2 * y2 + w3 * y3))
    if not closed:
        out.append(pts[-1])
    return out


def _mirror(pts: Sequence[Pt]) -> list[Pt]:
    return [(-x, y) for x, y in pts]


# --------------------------------------------------------------------------- display list
# Shapes are stored in local units (1.0 = image width, origin at the head centre) on two
# layers: BODY (variant scale and shift) and HEAD (the same plus a tilt about the chin).
# Each layer's points live in one array, so a variant transforms them in one product.

HEAD, BODY = 1, 0
# (ops, points per layer, palette (n x 3), line widths): ops refer to colours and widths
# by index, so that a variant lights the palette and scales the widths in one go.
_Identity = tuple[tuple[tuple, ...], tuple[np.ndarray, np.ndarray], np.ndarray, np.ndarray]


class _List:
    """Display list being built: ops index into the per-layer point lists."""

    def __init__(self) -> None:
        self.ops: list[tuple] = []
        self.points: tuple[list[Pt], list[Pt]] = ([], [])
        self.palette: dict[RGB, int] = {}
        self.widths: dict[float, int] = {}

    def _w(self, width: float) -> int:
        return self.widths.setdefault(width, len(self.widths))

    def _c(self, colour: RGB | None) -> int:
        """Palette index of a colour (-1: none); lighting is applied to the palette."""
        return -1 if colour is None else self.palette.setdefault(colour, len(self.palette))

    def _add(self, layer: int, pts: Sequence[Pt]) -> tuple[int, int]:
        store = self.points[layer]
        i0 = len(store)
        store.extend(pts)
        return i0, len(store)

    def poly(self, layer: int, pts: Sequence[Pt], fill: RGB | None, outline: RGB | None = None,
             width: float = 0.0) -> None:
        self.ops.append(("poly", layer, *self._add(layer, pts), self._c(fill),
                         self._c(outline), self._w(width)))

    def line(self, layer: int, pts: Sequence[Pt], colour: RGB, width: float) -> None:
        self.ops.append(("line", layer, *self._add(layer, pts), self._c(colour),
                         self._w(width)))

    def circle(self, layer: int, cx: float, cy: float, r: float, fill: RGB | None,
               outline: RGB | None = None, width: float = 0.0) -> None:
        self.ops.append(("circle", layer, *self._add(layer, [(cx, cy)]), r, self._c(fill),
                         self._c(outline), self._w(width)))

    def glass(self, layer: int, pts: Sequence[Pt], tint: RGB, alpha: int) -> None:
        """A translucent polygon (tinted lenses), blended over what is below."""
        self.ops.append(("glass", layer, *self._add(layer, pts), self._c(tint), alpha))

    def shade(self, layer: int, pts: Sequence[Pt], skin: RGB) -> None:
        """The face outline, darkened on the side away from the light (per variant)."""
        self.ops.append(("shade", layer, *self._add(layer, pts), self._c(skin)))

    def compile(self) -> _Identity:
        arrays = tuple(np.asarray(p or [(0.0, 0.0)], dtype=np.float64) for p in self.points)
        palette = np.asarray(list(self.palette) or [(0, 0, 0)], dtype=np.float64)
        widths = np.asarray(list(self.widths) or [0.0], dtype=np.float64)
        return tuple(self.ops), arrays, palette, widths  # type: ignore[return-value]


def _check(attrs: dict[str, str]) -> None:
    for key, values in APPEARANCE.items():
        if attrs.get(key) not in values:
            raise ValueError(f"appearance {key}={attrs.get(key)!r} is not one of {values}")


@lru_cache(maxsize=256)
def _identity(appearance: tuple[tuple[str, str], ...], seed: int) -> _Identity:
    """The display list of one identity (no pose, no lighting, no background)."""
    a = dict(appearance)
    _check(a)
    rng = random.Random(f"persona-bench:identity:{seed}")
    d = _List()
    gender, age = a["gender"], a["age"]
    skin = SKIN[a["skin_tone"]]
    hair = HAIR[a["hair_color"]]
    cloth = CLOTHES[a["clothing_color"]]
    bg = BACKGROUND[a["background"]]
    hair_line = _detail(hair, 0.35)
    skin_line = _scale(skin, 0.66 if _lum(skin) > 120 else 0.56 if _lum(skin) > 80 else 0.42)
    g = {"woman": 0.0, "person": 0.5, "man": 1.0}[gender]  # masculinity of the cues

    # --- face outline
    shape = a["face_shape"]
    fa, fb, fp, taper = {
        "oval": (0.136, 0.196, 2.0, 0.24),
        "round": (0.164, 0.170, 2.0, 0.04),
        "square": (0.152, 0.178, 4.2, 0.04),
    }[shape]
    fa *= (0.965 + 0.07 * g) * rng.uniform(0.985, 1.015)
    face = _superellipse(fa, fb, fp, taper, 0, 360, 72)[:-1]

    def half_width(y: float) -> float:
        x = fa * max(0.0, 1 - abs(y / fb) ** fp) ** (1 / fp)
        return x * (1 - taper * (y / fb) ** 2) if y > 0 else x

    # --- identity jitter
    eye_dx = 0.061 * rng.uniform(0.95, 1.05)
    eye_y = -0.004 + rng.uniform(-0.005, 0.005)
    mouth_y = 0.122 + rng.uniform(-0.004, 0.006)
    mouth_w = (0.047 + 0.006 * g) * rng.uniform(0.9, 1.1)
    smile = rng.uniform(0.0, 0.012)
    brow_tilt = rng.uniform(-0.006, 0.008)
    part = rng.choice((-1, 1)) * rng.uniform(0.2, 0.5)
    nose_len = rng.uniform(0.075, 0.09)

    style = a["hair_style"]
    headwear = a["headwear"]
    # (not from the clothes: each attribute's pixels stay its own)
    hat = max(ACCESSORY, key=lambda c: min(_dist(c, hair), _dist(c, bg), _dist(c, skin)))

    # --- back hair (behind everything of the person)
    # outer hair radii around the head; short hair hugs it
    ha, hb = (fa + 0.013, fb + 0.021) if style == "short" else (fa + 0.022, fb + 0.03)
    if style == "long":
        top = _superellipse(ha + 0.008, hb, fp, 0, 180, 360, 40)
        back = [*top, *_smooth([(ha + 0.03, 0.0), (ha + 0.05, 0.2), (ha + 0.07, 0.44)], 3),
                (0.0, 0.46), *_mirror(_smooth([(ha + 0.07, 0.44), (ha + 0.05, 0.2),
                                               (ha + 0.03, 0.0)], 3))]
        d.poly(HEAD, back, _detail(hair, 0.12), hair_line, 0.005)
    elif style == "curly":
        d.poly(HEAD, _ellipse(0, -0.015, ha + 0.04, hb + 0.02), hair)
        for i in range(17):
            t = math.radians(150 + 240 * i / 16)
            r = 0.05 if i % 2 else 0.043
            d.circle(HEAD, (ha + 0.035) * math.cos(t), -0.015 + (hb + 0.025) * math.sin(t), r,
                     hair, hair_line, 0.004)
        d.poly(HEAD, _ellipse(0, -0.015, ha + 0.035, hb + 0.02), hair)
    elif style == "bun":
        d.circle(HEAD, 0.0, -hb - 0.035, 0.058, hair, hair_line, 0.005)
        d.line(HEAD, _arc(0, -hb - 0.035, 0.036, 0.03, 200, 340, 8), hair_line, 0.005)

    # --- neck and hood (body layer)
    nw = 0.047 + 0.018 * g
    yb = 0.29  # neck base / neckline start
    clothing = a["clothing_style"]
    cl_line = _detail(cloth, 0.38)
    if clothing == "hoodie":
        d.poly(BODY, _ellipse(0, yb - 0.035, nw + 0.085, 0.085), _detail(cloth, 0.3), cl_line,
               0.005)
    neck = [(-nw, 0.05), (nw, 0.05), (nw * 1.1, yb + 0.08), (-nw * 1.1, yb + 0.08)]
    d.poly(BODY, neck, skin)
    d.poly(BODY, _ellipse(0, 0.17, nw, 0.05), _mix(skin, INK, 0.2))  # chin shadow
    if gender == "man":
        d.line(BODY, _arc(0, 0.235, 0.012, 0.008, 200, 340, 6), skin_line, 0.004)
    if age == "elderly":
        for y in (0.215, 0.255):
            d.line(BODY, _arc(0, y, nw * 0.8, 0.012, 30, 150, 8), skin_line, 0.004)

    # --- torso with the style's neckline
    sw = 0.29 + 0.085 * g  # shoulder half width
    drop = 0.085 - 0.045 * g  # sloped (woman) vs square (man) shoulders
    if clothing == "t-shirt":
        xn = nw + 0.024
        neckline = _arc(0, yb - 0.004, xn, 0.06, 180, 0, 16)
    elif clothing == "collared shirt":
        xn = nw + 0.012
        neckline = [(-xn, yb - 0.012), (0, yb + 0.09), (xn, yb - 0.012)]
    elif clothing == "hoodie":
        xn = nw + 0.045
        neckline = _arc(0, yb - 0.01, xn, 0.08, 180, 0, 16)
    else:  # suit jacket: deep V over a shirt and tie
        xn = nw + 0.016
        neckline = [(-xn, yb - 0.012), (0, yb + 0.34), (xn, yb - 0.012)]
        shirt = (42, 46, 56) if a["clothing_color"] == "white" else (246, 246, 246)
        d.poly(BODY, [(-xn - 0.01, yb - 0.04), (xn + 0.01, yb - 0.04), (0.06, 0.7), (-0.06, 0.7)],
               shirt)
        tie = (30, 40, 100) if a["clothing_color"] in ("red", "orange", "purple", "black") \
            else (150, 20, 40)
        d.poly(BODY, [(-0.017, yb + 0.028), (0.017, yb + 0.028), (0.012, yb + 0.06),
                      (-0.012, yb + 0.06)], tie)
        d.poly(BODY, [(-0.012, yb + 0.06), (0.012, yb + 0.06), (0.03, yb + 0.25),
                      (0, yb + 0.285), (-0.03, yb + 0.25)], tie)
        for sx in (-1, 1):
            d.poly(BODY, [(sx * (nw + 0.004), yb - 0.035), (sx * 0.004, yb + 0.03),
                          (sx * (nw + 0.03), yb + 0.035)], shirt, _detail(shirt, 0.45), 0.004)
    shoulder = _smooth([(xn, yb - 0.012), (sw * 0.55, yb + 0.012 + drop * 0.2),
                        (sw * 0.9, yb + drop * 0.7 + 0.02), (sw + 0.012, yb + drop + 0.07),
                        (sw + 0.03, yb + drop + 0.18), (sw + 0.05, 0.75)], 3)
    torso = [*_mirror(shoulder)[::-1], *neckline[1:-1], *shoulder]
    d.poly(BODY, torso, cloth, cl_line, 0.005)
    for sx in (-1, 1):  # arm creases
        d.line(BODY, [(sx * (sw - 0.06), yb + drop + 0.1), (sx * (sw - 0.05), yb + drop + 0.2),
                      (sx * (sw - 0.035), 0.75)], cl_line, 0.005)

    if clothing == "t-shirt":
        d.line(BODY, _arc(0, yb - 0.004, xn, 0.06, 180, 0, 16), _detail(cloth, 0.28), 0.016)
        d.line(BODY, _arc(0, yb - 0.004, xn + 0.008, 0.068, 175, 5, 16), cl_line, 0.004)
    elif clothing == "collared shirt":
        collar = _detail(cloth, -0.12) if _lum(cloth) < 200 else _detail(cloth, 0.06)
        for sx in (-1, 1):
            d.poly(BODY, [(sx * (nw - 0.002), yb - 0.05), (sx * (nw + 0.058), yb + 0.05),
                          (sx * 0.008, yb + 0.092), (sx * nw * 0.45, yb + 0.012)],
                   collar, cl_line, 0.0055)
        d.line(BODY, [(0, yb + 0.09), (0, 0.75)], cl_line, 0.005)
        for y in (yb + 0.14, yb + 0.22):
            d.circle(BODY, 0.012, y, 0.009, _detail(cloth, 0.25), cl_line, 0.003)
    elif clothing == "hoodie":
        rim = _arc(0, yb - 0.012, xn + 0.016, 0.094, 190, -10, 20)
        d.line(BODY, rim, _detail(cloth, 0.12), 0.03)
        d.line(BODY, _arc(0, yb - 0.012, xn + 0.032, 0.11, 188, -8, 20), cl_line, 0.005)
        d.line(BODY, _arc(0, yb - 0.012, xn, 0.078, 188, -8, 20), cl_line, 0.005)
        string = (250, 250, 250) if _lum(cloth) < 200 else (60, 60, 66)
        for sx in (-1, 1):
            d.line(BODY, [(sx * 0.03, yb + 0.075), (sx * 0.036, yb + 0.2)], string, 0.009)
            d.line(BODY, [(sx * 0.036, yb + 0.2), (sx * 0.037, yb + 0.235)], (150, 150, 156),
                   0.015)
    else:
        lapel = _detail(cloth, 0.16)
        for sx in (-1, 1):
            def edge(u: float, sx: int = sx) -> Pt:
                return (sx * xn * (1 - u), yb - 0.012 + u * 0.352)
            e0, e1, e2 = edge(0.0), edge(0.22), edge(0.78)
            notch = [(e1[0] + sx * 0.07, e1[1] - 0.015), (e1[0] + sx * 0.05, e1[1] + 0.01),
                     (e1[0] + sx * 0.065, e1[1] + 0.02)]
            d.poly(BODY, [e0, *notch, e2], lapel, cl_line, 0.005)
        d.poly(BODY, [(-sw * 0.62, yb + 0.2), (-sw * 0.38, yb + 0.19), (-sw * 0.47, yb + 0.165)],
               (250, 250, 250))
        d.line(BODY, [(-sw * 0.64, yb + 0.205), (-sw * 0.36, yb + 0.195)], cl_line, 0.005)

    # --- ears (under long hair), long hair front locks over the shoulders, face
    ear_y = 0.025
    ear_x = half_width(ear_y) + 0.006
    for sx in (-1, 1):
        d.poly(HEAD, _ellipse(sx * ear_x, ear_y, 0.024, 0.042, 20), skin, skin_line, 0.004)
        a0 = 200 if sx < 0 else -20  # inner rim, on the outer side of the ear
        d.line(HEAD, _arc(sx * ear_x, ear_y, 0.012, 0.026, a0, 90, 8), skin_line, 0.004)
    if style == "long":
        lock = _smooth([(fa * 0.55, -hb + 0.02), (ha + 0.022, -0.07), (ha + 0.04, 0.06),
                        (ha + 0.05, 0.2), (ha + 0.066, 0.34), (ha + 0.05, 0.45), (fa + 0.005, 0.41),
                        (fa - 0.02, 0.27), (fa * 0.8, 0.13), (fa * 0.75, 0.0)], 3, closed=True)
        for sx in (-1, 1):
            pts = lock if sx > 0 else _mirror(lock)
            d.poly(HEAD, pts, hair, hair_line, 0.005)
            d.line(HEAD, _smooth([(sx * (ha + 0.012), 0.02), (sx * (ha + 0.025), 0.2),
                                  (sx * (ha + 0.035), 0.38)], 3), hair_line, 0.004)
            d.line(HEAD, _smooth([(sx * (fa + 0.012), 0.12), (sx * (fa + 0.02), 0.26),
                                  (sx * (fa + 0.03), 0.36)], 3), hair_line, 0.004)
    d.poly(HEAD, face, skin, skin_line, 0.004)
    d.shade(HEAD, face, skin)

    # --- cheeks, age
    if gender == "woman":
        for sx in (-1, 1):
            d.poly(HEAD, _ellipse(sx * 0.083, 0.058, 0.03, 0.02, 16),
                   _mix(skin, (236, 70, 90), 0.25))
    wrinkle = 0.004 if age == "middle-aged" else 0.0052
    if age != "young":
        lines = ((-0.082, -0.095) if age == "middle-aged" else (-0.074, -0.088, -0.102))
        for y in lines:
            d.line(HEAD, _smooth([(-0.05, y + 0.003), (-0.02, y - 0.002), (0.01, y + 0.002),
                                  (0.05, y - 0.002)], 3), skin_line, wrinkle)
        for sx in (-1, 1):  # nasolabial folds
            end = 0.135 if age == "middle-aged" else 0.155
            d.line(HEAD, _smooth([(sx * 0.03, 0.062), (sx * 0.055, 0.095), (sx * 0.062, end)], 3),
                   skin_line, wrinkle)
            ox = sx * (eye_dx + 0.042)
            n_crow = 1 if age == "middle-aged" else 3
            for k in range(n_crow):
                dy = (k - (n_crow - 1) / 2) * 0.012
                d.line(HEAD, [(ox, eye_y + dy), (ox + sx * 0.02, eye_y + dy * 1.8)], skin_line,
                       wrinkle * 0.9)
    if age != "young":  # hollows under the cheekbones, deeper with age
        hollow = _mix(skin, skin_line, 0.16 if age == "middle-aged" else 0.3)
        for sx in (-1, 1):
            cx = sx * (fa * 0.74)
            d.poly(HEAD, _smooth([(cx, 0.03), (cx + sx * 0.026, 0.055), (cx + sx * 0.024, 0.1),
                                  (cx + sx * 0.006, 0.08)], 3, closed=True), hollow)
    if age == "elderly":
        for sx in (-1, 1):
            bags = [*_arc(sx * eye_dx, eye_y + 0.012, 0.034, 0.022, 10, 170, 10),
                    *_arc(sx * eye_dx, eye_y + 0.016, 0.03, 0.01, 170, 10, 8)]
            d.poly(HEAD, bags, _mix(skin, skin_line, 0.45))
            d.line(HEAD, _arc(sx * eye_dx, eye_y + 0.018, 0.03, 0.016, 20, 160, 10), skin_line,
                   0.0045)
            d.line(HEAD, [(sx * (mouth_w + 0.006), mouth_y + 0.008),
                          (sx * (mouth_w + 0.014), mouth_y + 0.05)], skin_line, 0.0045)

    # --- eyes, brows, nose
    iris = EYES[a["eye_color"]]
    for sx in (-1, 1):
        ex = sx * eye_dx
        d.poly(HEAD, _ellipse(ex, eye_y, 0.037, 0.023, 24), (252, 252, 250))
        d.circle(HEAD, ex, eye_y + 0.001, 0.0195, iris, _scale(iris, 0.55), 0.003)
        d.circle(HEAD, ex, eye_y + 0.001, 0.0085, (12, 10, 10))
        d.circle(HEAD, ex - 0.006, eye_y - 0.006, 0.0048, WHITE)
        lid_w = 0.0062 if gender == "woman" else 0.0048
        d.line(HEAD, _arc(ex, eye_y, 0.037, 0.023, 185, 355, 12), INK, lid_w)
        if age == "elderly":  # hooded lids
            d.line(HEAD, _arc(ex, eye_y - 0.004, 0.036, 0.024, 200, 340, 10), skin_line, 0.004)
        if gender == "woman":
            for ang, ln in ((200, 0.012), (215, 0.014), (232, 0.012)):
                t = math.radians(ang if sx < 0 else 180 - ang)
                x0, y0 = ex + 0.037 * math.cos(t), eye_y + 0.023 * math.sin(t)
                d.line(HEAD, [(x0, y0), (x0 + ln * math.cos(t) * 1.1, y0 + ln * math.sin(t))],
                       INK, 0.004)
        brow_w = 0.0065 + 0.0075 * g
        by = eye_y - 0.047
        arch = 0.012 * (1 - g) + 0.003
        brow = _smooth([(sx * (eye_dx - 0.035), by + 0.008 - brow_tilt),
                        (sx * eye_dx, by - arch), (sx * (eye_dx + 0.038), by + 0.006)], 3)
        d.line(HEAD, brow, _detail(hair, 0.15), brow_w)
    nose = _smooth([(0.007, eye_y + 0.025), (0.014, nose_len - 0.01), (0.018, nose_len),
                    (0.0, nose_len + 0.008), (-0.018, nose_len)], 3)
    d.line(HEAD, nose, skin_line, 0.0045)
    for sx in (-1, 1):
        d.circle(HEAD, sx * 0.011, nose_len + 0.001, 0.0045, _scale(skin_line, 0.85))

    # --- facial hair
    fh = a["facial_hair"]
    # facial hair in a hair colour close to the skin gets a dark outline to stand out
    fh_line = INK if _dist(hair, skin) < 90 else hair_line
    if fh == "beard":
        jaw = _superellipse(fa + 0.012, fb + 0.016, fp, taper, 8, 172, 30)
        inner = _smooth([(-fa * 0.93, 0.01), (-fa * 0.72, 0.075), (-0.064, 0.098),
                         (-0.02, nose_len + 0.012), (0.02, nose_len + 0.012), (0.064, 0.098),
                         (fa * 0.72, 0.075), (fa * 0.93, 0.01)], 3)
        d.poly(HEAD, [*jaw, *inner], hair, fh_line, 0.005)
        trng = random.Random(f"beard:{seed}")
        for _ in range(9):
            x = trng.uniform(-fa * 0.75, fa * 0.75)
            y = trng.uniform(0.12, 0.17) if abs(x) < 0.07 else trng.uniform(0.08, 0.15)
            d.line(HEAD, [(x, y), (x + 0.004, y + 0.012)], hair_line, 0.004)
    if fh in ("moustache", "beard"):
        top = mouth_y - 0.03
        must = _smooth([(-mouth_w - 0.014, mouth_y + 0.006), (-mouth_w * 0.7, top + 0.006),
                        (-0.012, top), (0, top + 0.005), (0.012, top), (mouth_w * 0.7, top + 0.006),
                        (mouth_w + 0.014, mouth_y + 0.006), (mouth_w * 0.6, mouth_y - 0.008),
                        (0, mouth_y - 0.006), (-mouth_w * 0.6, mouth_y - 0.008)], 3, closed=True)
        d.poly(HEAD, must, hair, fh_line, 0.0045)

    # --- mouth
    lip = _mix(skin, (196, 60, 84), 0.75 - 0.45 * g) if g < 1 else _mix(skin, (150, 60, 60), 0.28)
    mw, my = mouth_w, mouth_y
    upper = 0.013 - 0.006 * g
    lower = 0.019 - 0.01 * g
    if fh in ("moustache", "beard"):
        upper *= 0.4
    d.poly(HEAD, _smooth([(-mw, my - smile), (-mw * 0.45, my - upper), (0, my - upper * 0.6),
                          (mw * 0.45, my - upper), (mw, my - smile), (0, my + lower)], 3,
                         closed=True), lip)
    d.line(HEAD, _smooth([(-mw, my - smile), (0, my + 0.003), (mw, my - smile)], 3),
           _scale(lip, 0.55), 0.004)

    # --- front hair
    hairline_y = -0.135 if style == "bun" else -0.112
    outer = _superellipse(ha, hb, fp, 0, 180, 360, 44)
    side_y = {"bun": -0.01, "short": 0.005}.get(style, 0.03)
    hl = [(fa - 0.012, side_y), (fa * 0.95, -0.04), (fa * 0.8, hairline_y + 0.03),
          (fa * 0.45, hairline_y + 0.004), (part * fa, hairline_y - 0.006),
          (-fa * 0.45, hairline_y + 0.004), (-fa * 0.8, hairline_y + 0.03), (-fa * 0.95, -0.04),
          (-fa + 0.012, side_y)]
    hairline = _smooth(hl)
    if style == "spiky":
        pts: list[Pt] = [outer[0]]
        k = 9
        for i in range(k):
            t0 = 195 + 150 * i / k
            t1 = 195 + 150 * (i + 0.5) / k
            bx, by = _superellipse(ha, hb, fp, 0, t0, t0, 1)[0]
            tx, ty = _superellipse(ha, hb, fp, 0, t1, t1, 1)[0]
            ln = 0.075 if i % 2 else 0.06
            nrm = math.hypot(tx, ty)
            pts += [(bx, by), (tx + tx / nrm * ln, ty + ty / nrm * ln)]
        pts.append(outer[-1])
        outer = pts
    # outer runs left->top->right; hairline must run right->left to close the ring
    cap = [*outer, (ha, side_y + 0.005), *hairline, (-ha, side_y + 0.005)]
    d.poly(HEAD, cap, hair, hair_line, 0.005)
    if style == "curly":
        for i in range(9):
            x, y = hairline[2 + i * (len(hairline) - 5) // 8]
            d.circle(HEAD, x, y - 0.006, 0.02, hair, hair_line, 0.003)
        crng = random.Random(f"curls:{seed}")
        for _ in range(11):
            t = math.radians(crng.uniform(160, 380))
            r = crng.uniform(0.75, 1.08)
            cx, cy = (ha + 0.02) * r * math.cos(t), -0.02 + (hb + 0.01) * r * math.sin(t)
            if cy > hairline_y + 0.01 and abs(cx) < fa:
                continue
            a0 = crng.uniform(0, 360)
            d.line(HEAD, _arc(cx, cy, 0.012, 0.012, a0, a0 + 250, 7), hair_line, 0.004)
    elif style != "spiky":
        for sx in (-1, 1):  # strands
            d.line(HEAD, _smooth([(sx * 0.02 + part * fa * 0.5, -hb + 0.015),
                                  (sx * fa * 0.5, hairline_y - 0.035),
                                  (sx * fa * 0.8, hairline_y + 0.02)], 3), hair_line, 0.004)

    # --- headwear
    band_y = -0.082
    if headwear == "cap":
        dome = _arc(0, band_y, ha + 0.006, hb + 0.012 + band_y, 180, 360, 30)
        d.poly(HEAD, dome, hat, _detail(hat, 0.35), 0.005)
        for sx in (-1, 1):
            d.line(HEAD, _arc(0, band_y, (ha + 0.006) * 0.45, hb + 0.012 + band_y,
                              270, 270 + sx * 90, 8), _detail(hat, 0.3), 0.004)
        visor = [*_arc(0, band_y + 0.012, ha * 0.97, 0.06, 0, 180, 20),
                 *_arc(0, band_y + 0.02, ha * 0.93, 0.03, 180, 360, 14)]
        d.poly(HEAD, visor, _detail(hat, 0.25), _detail(hat, 0.5), 0.005)
        d.line(HEAD, _arc(0, band_y + 0.012, ha * 0.8, 0.045, 15, 165, 12), _detail(hat, 0.45),
               0.004)
        d.circle(HEAD, 0.0, -hb - 0.012, 0.012, _detail(hat, 0.25))
    elif headwear == "beanie":
        b_y = -0.06
        dome = _arc(0, b_y, ha + 0.012, hb + 0.03 + b_y, 180, 360, 30)
        d.poly(HEAD, dome, hat, _detail(hat, 0.35), 0.005)
        for i in range(1, 8):
            x = (ha + 0.012) * (i / 4 - 1) * 0.85
            d.line(HEAD, [(x, b_y - 0.04), (x * 0.6, -hb - 0.0)], _detail(hat, 0.18), 0.004)
        cuff = [(-ha - 0.02, b_y - 0.045), (ha + 0.02, b_y - 0.045), (ha + 0.022, b_y + 0.012),
                (-ha - 0.022, b_y + 0.012)]
        d.poly(HEAD, cuff, _detail(hat, 0.1), _detail(hat, 0.4), 0.005)
        for i in range(13):
            x = (ha + 0.015) * (i / 6 - 1)
            d.line(HEAD, [(x, b_y - 0.04), (x, b_y + 0.008)], _detail(hat, 0.35), 0.004)
        if style != "bun":
            d.circle(HEAD, 0.0, -hb - 0.045, 0.036, _detail(hat, -0.2) if _lum(hat) < 150
                     else _detail(hat, 0.12), _detail(hat, 0.4), 0.004)
    elif headwear == "headband":
        y0 = hairline_y - 0.024
        up = _smooth([(-ha - 0.004, y0 + 0.03), (-fa * 0.6, y0 + 0.002), (0, y0 - 0.006),
                      (fa * 0.6, y0 + 0.002), (ha + 0.004, y0 + 0.03)], 3)
        down = [(x, y + 0.034) for x, y in up]
        d.poly(HEAD, [*up, *down[::-1]], hat, _detail(hat, 0.4), 0.005)
        d.line(HEAD, [(x, y + 0.017) for x, y in up], _detail(hat, 0.22 if _lum(hat) > 60 else
                                                                  0.5), 0.006)

    # --- eyewear
    wear = a["eyewear"]
    frame = FRAME if _lum(skin) > 120 else LIGHT_FRAME  # frames must stand out on the skin
    if wear != "none":
        frame_w = 0.0075
        for sx in (-1, 1):
            ex = sx * eye_dx
            d.line(HEAD, [(sx * (eye_dx + 0.046), eye_y - 0.008),
                          (sx * (fa + 0.004), ear_y - 0.012)], frame, 0.006)
            if wear == "round glasses":
                d.circle(HEAD, ex, eye_y, 0.043, None, frame, frame_w)
            elif wear == "square glasses":
                sq = [(ex - 0.048, eye_y - 0.032), (ex + 0.048, eye_y - 0.032),
                      (ex + 0.048, eye_y + 0.032), (ex - 0.048, eye_y + 0.032)]
                d.poly(HEAD, sq, None, frame, frame_w)
            else:
                inner, outer_x = ex - sx * 0.044, ex + sx * 0.05
                lens = _smooth([(inner, eye_y - 0.03), (outer_x, eye_y - 0.034),
                                (outer_x - sx * 0.006, eye_y + 0.018),
                                (ex + sx * 0.02, eye_y + 0.036),
                                (inner + sx * 0.004, eye_y + 0.026)], 3, closed=True)
                d.glass(HEAD, lens, LENS, 165)  # dark, but the iris colour shows through
                d.poly(HEAD, lens, None, frame, 0.006)
                d.line(HEAD, [(ex - 0.022, eye_y - 0.014), (ex - 0.008, eye_y - 0.026)],
                       (120, 120, 130), 0.006)
        if wear == "round glasses":
            d.line(HEAD, _arc(0, eye_y - 0.005, eye_dx - 0.043, 0.012, 200, 340, 8), frame,
                   0.006)
        else:
            d.line(HEAD, [(-(eye_dx - 0.046), eye_y - 0.012), (eye_dx - 0.046, eye_y - 0.012)],
                   frame, 0.007)

    # --- earrings
    ring = SILVER if a["hair_color"] == "blond" else GOLD
    for sx in (-1, 1):
        lx, ly = sx * (ear_x + 0.004), ear_y + 0.036
        if a["earrings"] == "studs":
            d.circle(HEAD, lx, ly, 0.0145, ring, INK, 0.003)
            d.circle(HEAD, lx - 0.004, ly - 0.004, 0.004, WHITE)
        elif a["earrings"] == "hoops":
            d.circle(HEAD, lx + sx * 0.004, ly + 0.03, 0.03, None, INK, 0.012)
            d.circle(HEAD, lx + sx * 0.004, ly + 0.03, 0.028, None, ring, 0.0075)
    return d.compile()


# --------------------------------------------------------------------------- variants


def _view(seed: int, variant: int) -> dict[str, float]:
    """Pose, scale, crop, lighting and background shade of one variant."""
    rng = random.Random(f"persona-bench:variant:{seed}:{variant}")
    return {
        "dx": rng.uniform(-0.07, 0.07),
        "dy": rng.uniform(-0.035, 0.035),
        "scale": rng.uniform(0.88, 1.12),
        "tilt": rng.uniform(-8.0, 8.0),
        "brightness": rng.uniform(-16, 16),
        "contrast": rng.uniform(0.88, 1.12),
        "warmth": rng.uniform(-6, 6),
        "bg_shade": rng.choice((-1, 1)) * rng.uniform(0.05, 0.2),
        "light": rng.choice((-1, 1)) * rng.uniform(0.4, 1.0),
    }


def _light(colours: np.ndarray, v: dict[str, float]) -> list[RGB]:
    """Apply the variant's lighting (contrast, brightness, warmth) to rows of RGB."""
    shift = np.array([v["warmth"], 0.0, -v["warmth"]]) + 128 + v["brightness"]
    lit = np.clip(np.rint((colours - 128) * v["contrast"] + shift), 0, 255).astype(int)
    return [tuple(c) for c in lit.tolist()]


def _supersample(size: int) -> int:
    return 2 if size >= 128 else math.ceil(256 / size)


def _downscale(img: Image.Image, k: int) -> Image.Image:
    # A k x k box filter over a k-times supersampled drawing (SSAA). Image.LANCZOS gives
    # the same look on flat art but costs ~15x more (2.2 ms vs 0.15 ms at 448->224), more
    # than a whole PNG encode.
    return img.reduce(k)


def render_portrait(attrs: dict[str, str], variant: int, size: int = 224,
                    seed: int = 0) -> Image.Image:
    """The portrait of one identity (`attrs`, `seed`) in one `variant`, `size` x `size` RGB.

    `seed` fixes small identity details as well as the variant views, so use one seed per
    persona for all of its variants.
    """
    appearance = tuple((key, attrs[key]) for key in APPEARANCE if key in attrs)
    ops, arrays, palette, widths = _identity(appearance, seed)
    v = _view(seed, variant)
    k = _supersample(size)
    w = size * k
    base = BACKGROUND[attrs["background"]]
    t = v["bg_shade"]
    bg = _mix(base, WHITE, t) if t > 0 else _mix(base, (0, 0, 0), -t)
    amount = 0.07 + 0.07 * abs(v["light"])  # side shadow
    lit = _light(np.vstack([palette, bg, palette * (1 - amount) + np.array(SHADOW) * amount]), v)
    img = Image.new("RGB", (w, w), lit[len(palette)])
    draw = ImageDraw.Draw(img)

    # local -> canvas: body = scale + shift; head = body after a tilt about the chin
    s = v["scale"] * ZOOM * w
    ox = (0.5 + v["dx"]) * w
    oy = (0.5 + v["dy"]) * w + (HEAD_Y - 0.5) * v["scale"] * ZOOM * w
    th = math.radians(v["tilt"])
    cs, sn = math.cos(th) * s, math.sin(th) * s
    py = 0.2  # tilt pivot: under the chin
    affines = ((s, 0.0, ox, 0.0, s, oy),  # X = a x + b y + c, Y = d x + e y + f
               (cs, -sn, ox + sn * py, sn, cs, oy + py * s - cs * py))
    flat = []
    for (a, b, c, d, e, f), pts in zip(affines, arrays, strict=True):
        out = np.empty_like(pts)  # elementwise, not `@`: no BLAS calls in forked workers
        out[:, 0] = pts[:, 0] * a + pts[:, 1] * b + c
        out[:, 1] = pts[:, 0] * d + pts[:, 1] * e + f
        flat.append(out.ravel().tolist())
    # strokes at least ~0.75 output pixels wide, so that fine lines (wrinkles, frames)
    # survive the downscale of small images
    px = np.maximum(max(1, round(0.75 * k)), np.rint(widths * s)).astype(int).tolist()

    for op in ops:
        kind, layer, i0, i1 = op[0], op[1], op[2], op[3]
        xy = flat[layer][2 * i0 : 2 * i1]
        if kind == "poly":
            fill, outline, wd = op[4:]
            if fill >= 0:
                draw.polygon(xy, fill=lit[fill])
            if outline >= 0:  # a closed line: Pillow's wide outlines are slow
                draw.line(xy + xy[:2], fill=lit[outline], width=px[wd])
        elif kind == "line":
            colour, wd = op[4:]
            draw.line(xy, fill=lit[colour], width=px[wd])
        elif kind == "circle":
            r, fill, outline, wd = op[4:]
            x, y = xy
            rr = r * s
            draw.ellipse((x - rr, y - rr, x + rr, y + rr),
                         fill=lit[fill] if fill >= 0 else None,
                         outline=lit[outline] if outline >= 0 else None,
                         width=px[wd] if outline >= 0 else 0)
        elif kind == "glass":
            ImageDraw.Draw(img, "RGBA").polygon(xy, fill=(*lit[op[4]], op[5]))
        else:
            _side_shadow(draw, xy, v["light"] < 0, lit[len(palette) + 1 + op[4]])
    return _downscale(img, k)


def _side_shadow(draw: ImageDraw.ImageDraw, face_xy: list[float], right: bool,
                 colour: RGB) -> None:
    """Shade the `right` (or left) side of the face, the side away from the light.

    Drawn right after the face fill, so an opaque crescent in a darker skin colour.
    """
    pts = list(zip(face_xy[0::2], face_xy[1::2], strict=True))
    n = len(pts)
    cx = sum(p[0] for p in pts) / n
    # the outline starts at angle 0 (right) and runs through the bottom (90) to the top
    half = pts[n * 3 // 4 :] + pts[: n // 4 + 1] if right else pts[n // 4 : n * 3 // 4 + 1]
    inner = [(cx + (x - cx) * 0.62, y) for x, y in half[::-1]]
    draw.polygon([*half, *inner], fill=colour)


def render_png(job: RenderJob) -> bytes:
    buf = io.BytesIO()
    img = render_portrait(job.attrs, job.variant, job.size, job.seed)
    img.save(buf, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    return buf.getvalue()


MIN_JOBS_PER_WORKER = 16  # below this a process pool costs more than it saves


def _pool_context() -> multiprocessing.context.BaseContext:
    # fork: workers start in milliseconds and need not re-import the caller's __main__
    # (spawn/forkserver hang when it is not importable, e.g. `python -` or a notebook).
    if "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()


class ProceduralRenderer:
    """Renders jobs in order; `workers > 1` (or <= 0: all cores) uses a process pool."""

    def __init__(self, workers: int | None = 1, **_: object) -> None:
        self.workers = workers if workers and workers > 0 else (os.cpu_count() or 1)

    def render(
        self, jobs: Sequence[RenderJob], progress: Callable[[int], None] | None = None
    ) -> Iterator[bytes]:
        workers = min(self.workers, len(jobs) // MIN_JOBS_PER_WORKER)
        if workers <= 1:
            for job in jobs:
                yield render_png(job)
                if progress:
                    progress(1)
            return
        # Consecutive jobs (the variants of one persona) share a chunk, so each worker's
        # identity cache is reused.
        chunksize = max(1, min(64, len(jobs) // (workers * 8)))
        with _pool_context().Pool(workers) as pool:
            for png in pool.imap(render_png, jobs, chunksize):
                yield png
                if progress:
                    progress(1)
