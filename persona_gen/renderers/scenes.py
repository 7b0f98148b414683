"""Procedural scenes of coloured shapes: the out-of-distribution image-text data.

The `augment_ood` arm needs image-text pairs that are not persons but are made the same
way as the portraits (Pillow, no model, byte-identical PNGs for the same inputs), so that
the only difference from `augment_id` is the distribution. A scene is a plain background
and 1-9 flat shapes, each in its own cell of a 3 x 3 grid, so that every shape can be
named unambiguously by its cell ("the shape in the top left").
"""

from __future__ import annotations

import io
import math
import random
from dataclasses import dataclass, replace

from PIL import Image, ImageDraw

from persona_bench.persona_gen.renderers.procedural import PNG_COMPRESS_LEVEL

RGB = tuple[int, int, int]

SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "star", "diamond", "hexagon",
                           "cross", "heart")
COLOURS: dict[str, RGB] = {
    "red": (214, 38, 40), "blue": (38, 78, 206), "green": (34, 150, 62),
    "yellow": (248, 208, 36), "purple": (128, 54, 172), "orange": (246, 128, 26),
    "black": (28, 28, 32), "white": (250, 250, 250),
}
# Background names share no word with shape colours, so a colour answer is never ambiguous.
BACKGROUNDS: dict[str, RGB] = {
    "grey": (150, 150, 150), "beige": (222, 198, 150), "teal": (0, 120, 124),
    "pink": (240, 160, 190), "navy": (20, 30, 80), "olive": (120, 124, 40),
}
SIZES: dict[str, float] = {"small": 0.42, "medium": 0.66, "large": 0.9}  # of a cell
CELLS: tuple[str, ...] = ("top left", "top", "top right", "left", "centre", "right",
                          "bottom left", "bottom", "bottom right")
MAX_SHAPES = len(CELLS)
SUPERSAMPLE = 4  # drawn at 4x and box-reduced, as the portraits are (anti-aliased edges)


@dataclass(frozen=True)
class Shape:
    kind: str
    colour: str
    size: str
    cell: int  # index into CELLS
    dx: float = 0.0  # jitter inside the cell, fraction of a cell
    dy: float = 0.0
    turn: float = 0.0  # rotation in degrees


@dataclass(frozen=True)
class Scene:
    background: str
    shapes: tuple[Shape, ...]  # in reading order of their cells

    def first(self, n: int) -> Scene:
        """The same scene with only its first `n` sampled shapes (kept in reading order)."""
        return Scene(self.background, tuple(sorted(self.shapes[:n], key=lambda s: s.cell)))


def _shape(rng: random.Random, cell: int) -> Shape:
    return Shape(rng.choice(SHAPES), rng.choice(list(COLOURS)), rng.choice(list(SIZES)), cell,
                 rng.uniform(-0.08, 0.08), rng.uniform(-0.08, 0.08), rng.uniform(-15, 15))


def sample_scene(rng: random.Random, n: int = MAX_SHAPES) -> Scene:
    """A random scene of `n` shapes in distinct cells, in sampling order (use `first`)."""
    if not 1 <= n <= MAX_SHAPES:
        raise ValueError(f"a scene has 1 to {MAX_SHAPES} shapes (got {n})")
    background = rng.choice(list(BACKGROUNDS))
    return Scene(background, tuple(_shape(rng, c) for c in rng.sample(range(MAX_SHAPES), n)))


def perturb(scene: Scene, rng: random.Random) -> Scene:
    """A near miss: one shape's kind, colour or size changed (a hard negative caption)."""
    i = rng.randrange(len(scene.shapes))
    old = scene.shapes[i]
    field = rng.choice(("kind", "colour", "size"))
    pool = {"kind": SHAPES, "colour": tuple(COLOURS), "size": tuple(SIZES)}[field]
    new = replace(old, **{field: rng.choice([v for v in pool if v != getattr(old, field)])})
    return Scene(scene.background, (*scene.shapes[:i], new, *scene.shapes[i + 1:]))


def _polygon(kind: str, cx: float, cy: float, r: float, turn: float) -> list[tuple[float, float]]:
    """Outline of `kind` with circumradius `r` (y grows downward)."""
    if kind == "square":
        pts = [(r * 0.75 * sx, r * 0.75 * sy) for sx, sy in ((-1, -1), (1, -1), (1, 1), (-1, 1))]
    elif kind == "triangle":
        pts = [(r * math.cos(a), r * math.sin(a) + r * 0.15)
               for a in (math.radians(d) for d in (-90, 30, 150))]
    elif kind == "star":
        pts = [((r if k % 2 == 0 else r * 0.45) * math.cos(math.radians(-90 + 36 * k)),
                (r if k % 2 == 0 else r * 0.45) * math.sin(math.radians(-90 + 36 * k)))
               for k in range(10)]
    elif kind == "diamond":
        pts = [(0.0, -r), (r * 0.7, 0.0), (0.0, r), (-r * 0.7, 0.0)]
    elif kind == "hexagon":
        pts = [(r * math.cos(math.radians(60 * k)), r * math.sin(math.radians(60 * k)))
               for k in range(6)]
    elif kind == "cross":
        a, b = r * 0.8, r * 0.28
        pts = [(-b, -a), (b, -a), (b, -b), (a, -b), (a, b), (b, b), (b, a), (-b, a), (-b, b),
               (-a, b), (-a, -b), (-b, -b)]
    elif kind == "heart":
        pts = [(r * 0.8 * math.sin(t) ** 3,
                -r * 0.8 * (13 * math.cos(t) - 5 * math.cos(2 * t) - 2 * math.cos(3 * t)
                            - math.cos(4 * t)) / 16 - r * 0.1)
               for t in (2 * math.pi * k / 40 for k in range(40))]
    else:
        raise ValueError(f"unknown shape {kind!r}")
    c, s = math.cos(math.radians(turn)), math.sin(math.radians(turn))
    return [(cx + x * c - y * s, cy + x * s + y * c) for x, y in pts]


def render_scene(scene: Scene, size: int = 224) -> Image.Image:
    """The scene as a `size` x `size` RGB image."""
    w = size * SUPERSAMPLE
    img = Image.new("RGB", (w, w), BACKGROUNDS[scene.background])
    draw = ImageDraw.Draw(img)
    cell = w / 3
    for sh in scene.shapes:
        row, col = divmod(sh.cell, 3)
        cx, cy = (col + 0.5 + sh.dx) * cell, (row + 0.5 + sh.dy) * cell
        r = SIZES[sh.size] * cell / 2
        fill = COLOURS[sh.colour]
        if sh.kind == "circle":
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fill)
        else:
            draw.polygon(_polygon(sh.kind, cx, cy, r, sh.turn), fill=fill)
    return img.reduce(SUPERSAMPLE)


def scene_png(scene: Scene, size: int = 224) -> bytes:
    """PNG bytes of `render_scene`, with the portraits' fixed encoder settings."""
    buf = io.BytesIO()
    render_scene(scene, size).save(buf, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    return buf.getvalue()


# --------------------------------------------------------------------------- captions

NUMBERS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def _a(word: str) -> str:
    return f"an {word}" if word[0] in "aeiou" else f"a {word}"


def _noun(sh: Shape) -> str:
    return f"{sh.size} {sh.colour} {sh.kind}"


def where(sh: Shape) -> str:
    """The shape's place in words ("at the top left", "in the centre")."""
    return "in the centre" if CELLS[sh.cell] == "centre" else f"at the {CELLS[sh.cell]}"


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _style_0(s: Scene) -> str:
    shapes = _join([f"{_a(_noun(sh))} {where(sh)}" for sh in s.shapes])
    return f"{shapes[0].upper()}{shapes[1:]}, on {_a(s.background)} background."


def _style_1(s: Scene) -> str:
    return (f"On {_a(s.background)} background: "
            + "; ".join(f"{CELLS[sh.cell]}, {_a(_noun(sh))}" for sh in s.shapes) + ".")


def _style_2(s: Scene) -> str:
    n = len(s.shapes)
    count = "one shape" if n == 1 else f"{NUMBERS[n]} shapes"
    return (f"This scene shows {count} on {_a(s.background)} background. "
            + " ".join(f"There is {_a(_noun(sh))} {where(sh)}." for sh in s.shapes))


CAPTION_STYLES = (_style_0, _style_1, _style_2)


def caption(scene: Scene, style: int) -> str:
    """The scene in words, in one of `CAPTION_STYLES` (each names every shape and cell)."""
    return CAPTION_STYLES[style % len(CAPTION_STYLES)](scene)
