"""GLM-4.1V (`glm4v`): ViT with a downsampling conv and a patch merger, GLM-4 decoder.

Parts and LoRA targets only (found on a config-built model): training and evaluation of
Hub checkpoints use them; there is no tiny offline build, so the family is not in the test
matrix.
"""

from __future__ import annotations

from persona_bench.families.base import Family


class Glm4v(Family):
    name = "glm4v"
    model_types = ("glm4v",)
    summary = "Hub checkpoints only (parts and LoRA targets; no tiny build, not in the matrix)"
    projector_keys = ("merger",)
    vision_keys = ("visual",)
    buildable = False
