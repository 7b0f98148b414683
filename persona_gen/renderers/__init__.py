"""Portrait renderers, picked by name (`--renderer`).

A renderer turns `RenderJob`s into PNG bytes, in job order. Each is one module with one
class; `RENDERERS` maps the CLI name to ``"module:Class"`` so that heavy imports
(diffusers, torch) happen only when that renderer is chosen.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from persona_bench.errors import UserError


@dataclass(frozen=True)
class RenderJob:
    """One portrait: who (appearance), which variant, at which size, from which seed."""

    appearance: tuple[tuple[str, str], ...]  # (attribute, value) pairs in vocab order
    variant: int
    size: int
    seed: int

    @property
    def attrs(self) -> dict[str, str]:
        return dict(self.appearance)


class Renderer(Protocol):
    def render(
        self, jobs: Sequence[RenderJob], progress: Callable[[int], None] | None = None
    ) -> Iterator[bytes]:
        """Yield one PNG per job, in order; call `progress(n)` as images complete."""
        ...


RENDERERS: dict[str, str] = {
    "procedural": "persona_bench.persona_gen.renderers.procedural:ProceduralRenderer",
    "diffusers": "persona_bench.persona_gen.renderers.diffusion:DiffusersRenderer",
}


def get_renderer(name: str, **options) -> Renderer:
    if name not in RENDERERS:
        raise UserError(f"unknown renderer {name!r}; use one of: {', '.join(RENDERERS)}")
    module, cls = RENDERERS[name].split(":")
    return getattr(importlib.import_module(module), cls)(**options)
