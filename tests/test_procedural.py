"""The procedural portrait renderer: deterministic, variant-aware, every attribute drawn."""

from __future__ import annotations

import colorsys
import io
import itertools
import random

import numpy as np
import pytest
from PIL import Image

from persona_bench.persona_gen.renderers import RenderJob, get_renderer, procedural
from persona_bench.persona_gen.renderers.procedural import (
    BACKGROUND,
    ProceduralRenderer,
    render_png,
    render_portrait,
)
from persona_bench.persona_gen.vocab import APPEARANCE

# A plain look on which every other attribute is unobstructed (no sunglasses over the eyes,
# no hat over the hair...).
BASE = {
    "gender": "person", "age": "middle-aged", "skin_tone": "light", "face_shape": "oval",
    "hair_color": "brown", "hair_style": "short", "eye_color": "brown", "facial_hair": "none",
    "eyewear": "none", "headwear": "none", "earrings": "none", "clothing_color": "blue",
    "clothing_style": "t-shirt", "background": "beige",
}


def random_look(rng: random.Random) -> dict[str, str]:
    return {key: rng.choice(values) for key, values in APPEARANCE.items()}


def make_job(attrs: dict[str, str] = BASE, variant: int = 0, size: int = 64,
             seed: int = 7) -> RenderJob:
    return RenderJob(tuple((key, attrs[key]) for key in APPEARANCE), variant, size, seed)


def pixels(attrs: dict[str, str], variant: int = 0, size: int = 128, seed: int = 7) -> np.ndarray:
    return np.asarray(render_portrait(attrs, variant, size, seed), dtype=np.int16)


def decode(png: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(png))
    img.load()
    return img


def test_png_is_deterministic_and_rgb():
    job = make_job(size=96)
    first = render_png(job)
    procedural._identity.cache_clear()  # rebuilt from scratch: still the same bytes
    assert render_png(job) == first
    img = decode(first)
    assert img.format == "PNG" and img.mode == "RGB" and img.size == (96, 96)


def test_variants_differ_but_keep_the_size():
    pngs = [render_png(make_job(variant=v, size=80)) for v in range(8)]
    assert len(set(pngs)) == len(pngs)
    assert {decode(png).size for png in pngs} == {(80, 80)}


def hue_sat(rgb) -> tuple[float, float]:
    h, _, s = colorsys.rgb_to_hls(*(float(c) / 255 for c in rgb))
    return h * 360, s


def test_variants_keep_the_background_hue():
    """Variant lighting and shade change the background's brightness, not its hue."""
    for name, base in BACKGROUND.items():
        hue, sat = hue_sat(base)
        for variant in range(10):
            corner = pixels({**BASE, "background": name}, variant, size=32)[0, 0]
            h, s = hue_sat(corner)
            if sat < 0.05:  # grey stays grey
                assert s < 0.1, (name, variant, corner.tolist())
            else:
                assert abs((h - hue + 180) % 360 - 180) < 20, (name, variant, corner.tolist())
                assert s > 0.15, (name, variant, corner.tolist())


def test_seed_changes_variants_not_the_attributes():
    a, b = pixels(BASE, seed=1), pixels(BASE, seed=2)
    assert (a != b).any()
    # same clothes colour at the bottom centre whatever the seed
    assert np.abs(a[-3, 64] - b[-3, 64]).max() < 60


def test_different_appearances_give_different_images():
    rng = random.Random(0)
    looks = {tuple(sorted(random_look(rng).items())) for _ in range(40)}
    pngs = {render_png(make_job(dict(look))) for look in looks}
    assert len(pngs) == len(looks)


# Where a change of each attribute may show, as a band of image rows (fractions of the
# height) that holds every changed pixel, whatever the variant's pose, scale and crop.
ROWS = {
    "eye_color": (0.2, 0.6),
    "eyewear": (0.2, 0.62),
    "facial_hair": (0.3, 0.85),
    "earrings": (0.3, 0.8),
    "headwear": (0.0, 0.62),
    "clothing_color": (0.5, 1.0),
    "clothing_style": (0.45, 1.0),
}


@pytest.mark.parametrize("attribute", list(APPEARANCE))
def test_every_value_of_every_attribute_changes_the_picture(attribute):
    size = 128
    bases = [BASE, {**random_look(random.Random(1)), "eyewear": "none"},
             {**random_look(random.Random(2)), "eyewear": "none"}]
    for b, base in enumerate(bases):
        images = {value: pixels({**base, attribute: value}, variant=b, size=size, seed=b)
                  for value in APPEARANCE[attribute]}
        for x, y in itertools.combinations(APPEARANCE[attribute], 2):
            changed = np.abs(images[x] - images[y]).max(axis=2) > 24
            assert changed.sum() >= 8, f"{attribute}: {x!r} vs {y!r} look the same ({base})"
            rows = np.flatnonzero(changed.any(axis=1)) / size
            if attribute in ROWS:
                lo, hi = ROWS[attribute]
                assert lo <= rows.min() and rows.max() <= hi, (attribute, x, y, rows.min(),
                                                                rows.max())
            if attribute == "background":
                assert changed[0, 0] and changed[-1, -1]
            if attribute in ("hair_color", "hair_style", "headwear"):
                assert rows.min() < 0.35  # on top of the head


def test_sunglasses_still_show_the_eye_colour():
    looks = {c: pixels({**BASE, "eyewear": "sunglasses", "eye_color": c}) for c in
             APPEARANCE["eye_color"]}
    for x, y in itertools.combinations(looks, 2):
        assert (np.abs(looks[x] - looks[y]).max(axis=2) > 8).sum() >= 8


@pytest.mark.parametrize("size", [16, 64, 100, 224])
def test_size_option(size):
    img = decode(render_png(make_job(size=size)))
    assert img.size == (size, size)
    # the person is in the middle: blue clothes at the bottom, beige background in a corner
    arr = np.asarray(img, dtype=np.int16)
    assert arr[-2, size // 2, 2] > arr[-2, size // 2, 0] + 60
    assert arr[0, 0, 0] > arr[0, 0, 2] + 30


def test_bad_appearance_is_rejected():
    with pytest.raises(ValueError, match="hair_color"):
        render_portrait({**BASE, "hair_color": "green"}, 0, 64, 0)


def test_renderer_in_order_with_progress_and_same_bytes_on_two_workers():
    rng = random.Random(3)
    jobs = [make_job(random_look(rng), variant=v, size=48, seed=p)
            for p in range(12) for v in range(3)]
    assert len(jobs) >= 2 * procedural.MIN_JOBS_PER_WORKER  # the pool is really used
    expected = [render_png(job) for job in jobs]
    for workers in (1, 2):
        done: list[int] = []
        out = list(ProceduralRenderer(workers=workers).render(jobs, progress=done.append))
        assert out == expected
        assert sum(done) == len(jobs)


def test_get_renderer_builds_it_by_name():
    renderer = get_renderer("procedural", workers=1, t2i_model=None)
    assert isinstance(renderer, ProceduralRenderer)
    assert list(renderer.render([make_job(size=32)])) == [render_png(make_job(size=32))]
    assert ProceduralRenderer(workers=0).workers >= 1  # 0 / None: all cores
