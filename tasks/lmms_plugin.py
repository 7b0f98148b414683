"""lmms-eval entry point (group ``lmms_eval.models``): registers ``--model persona_vlm``.

Import-free at module level: lmms-eval calls `manifest` while its model registry is being
built, and the backend (`tasks.persona_vlm.PersonaVLM`) is imported only when a run asks
for it.
"""

from __future__ import annotations

from typing import Any

MODEL_NAME = "persona_vlm"
CLASS_PATH = "persona_bench.tasks.persona_vlm.PersonaVLM"


def manifest() -> Any:
    from lmms_eval.models.registry_v2 import ModelManifest

    return ModelManifest(model_id=MODEL_NAME, simple_class_path=CLASS_PATH)
