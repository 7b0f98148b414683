"""Procedural portrait renderer (Pillow only). PLACEHOLDER: being written by a helper."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Sequence

from PIL import Image

from persona_gen.renderers import RenderJob

_BG = {"teal": (0, 128, 128), "beige": (230, 220, 190), "lavender": (200, 180, 230),
       "grey": (150, 150, 150), "pink": (240, 180, 200), "mint": (180, 240, 200)}


def render_portrait(attrs: dict[str, str], variant: int, size: int, seed: int) -> Image.Image:
    return Image.new("RGB", (size, size), _BG[attrs["background"]])


def render_png(job: RenderJob) -> bytes:
    buf = io.BytesIO()
    render_portrait(job.attrs, job.variant, job.size, job.seed).save(buf, format="PNG")
    return buf.getvalue()


class ProceduralRenderer:
    def __init__(self, workers: int = 1, **_: object) -> None:
        self.workers = workers

    def render(
        self, jobs: Sequence[RenderJob], progress: Callable[[int], None] | None = None
    ) -> Iterator[bytes]:
        for job in jobs:
            yield render_png(job)
            if progress:
                progress(1)
