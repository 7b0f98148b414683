"""PaliGemma (`paligemma`): SigLIP tower, linear projector, Gemma decoder with prefix-LM attention.

Parts and LoRA targets only (found on a config-built model): training and evaluation of
Hub checkpoints use them; there is no tiny offline build, so the family is not in the test
matrix.
"""

from __future__ import annotations

from persona_bench.families.base import Family


class PaliGemma(Family):
    name = "paligemma"
    model_types = ("paligemma",)
    summary = "Hub checkpoints only (parts and LoRA targets; no tiny build, not in the matrix)"
    projector_keys = ("multi_modal_projector",)
    vision_keys = ("vision_tower",)
    buildable = False
