"""Llama 3.2 Vision (`mllama`): tiled ViT, projector, cross-attention layers in the Llama decoder.

Parts and LoRA targets only (found on a config-built model): training and evaluation of
Hub checkpoints use them; there is no tiny offline build, so the family is not in the test
matrix.
"""

from __future__ import annotations

from persona_bench.families.base import Family


class Mllama(Family):
    name = "mllama"
    model_types = ("mllama",)
    summary = "Hub checkpoints only (parts and LoRA targets; no tiny build, not in the matrix)"
    projector_keys = ("multi_modal_projector",)
    vision_keys = ("vision_model",)
    buildable = False
