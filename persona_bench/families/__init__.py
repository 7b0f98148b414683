"""The registry of supported VLM families: name -> `Family` (one module per family).

`family_of(model_or_config)` maps a checkpoint to its family by `config.model_type`; an
architecture that no family covers is refused in one line that names the supported ones.
"""

from __future__ import annotations

from typing import Any

from persona_bench.errors import UserError
from persona_bench.families.base import Family, TinySize, Tokens
from persona_bench.families.gemma3 import Gemma3
from persona_bench.families.glm4v import Glm4v
from persona_bench.families.idefics3 import Idefics3
from persona_bench.families.llava import Llava
from persona_bench.families.llava_onevision import LlavaOnevision
from persona_bench.families.mllama import Mllama
from persona_bench.families.paligemma import PaliGemma
from persona_bench.families.qwen2_5_vl import Qwen25VL
from persona_bench.families.qwen3_vl import Qwen3VL

FAMILIES: dict[str, Family] = {
    f.name: f for f in (Llava(), Qwen25VL(), Qwen3VL(), Idefics3(), Gemma3(), LlavaOnevision(),
                        PaliGemma(), Mllama(), Glm4v())
}
BUILDABLE = [name for name, family in FAMILIES.items() if family.buildable]
DEFAULT = "llava"
BY_MODEL_TYPE: dict[str, Family] = {t: f for f in FAMILIES.values() for t in f.model_types}

__all__ = ["BUILDABLE", "BY_MODEL_TYPE", "DEFAULT", "FAMILIES", "Family", "TinySize", "Tokens",
           "family_of", "supported"]


def supported() -> str:
    return ", ".join(sorted(BY_MODEL_TYPE))


def family_of(thing: Any) -> Family:
    """The family of a model, a config or a `model_type` string."""
    config = getattr(thing, "config", thing)
    model_type = config if isinstance(config, str) else getattr(config, "model_type", None)
    family = BY_MODEL_TYPE.get(model_type)
    if family is None:
        raise UserError(f"unsupported architecture {model_type!r}; supported families: "
                        f"{supported()} (add one in persona_bench/families/)")
    return family
