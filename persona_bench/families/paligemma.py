"""PaliGemma (`paligemma`): SigLIP tower, linear projector, Gemma decoder with prefix-LM attention.

Parts and LoRA targets only (found on a config-built model): training and evaluation of
Hub checkpoints use them; there is no tiny offline build, so the family is not in the test
matrix. Why not (transformers 5.23, TRL 1.16): `PaliGemmaProcessor` refuses any call
without images -- `ValueError: `images` are expected as arguments to a `PaliGemmaProcessor`
instance.` (`PaliGemmaProcessor.validate_inputs`,
transformers/models/paligemma/processing_paligemma.py). Two steps of the matrix make such
calls: TRL's prompt-completion collator tokenises the completions on their own
(`processor(text=completions)` in `DataCollatorForVisionLanguageModeling._collate_prompt_
completion`, trl/trainer/sft_trainer.py), so no SFT step runs, whatever the rows; and the
target half of img2text is text-only prompts (`text_only` is False below: such a prompt is
refused in one line). With images, the processor also rewrites every text (a BOS after the
last `<image>`, a newline at the end), so a ChatML prompt would not be the trained one.
"""

from __future__ import annotations

from persona_bench.families.base import Family


class PaliGemma(Family):
    name = "paligemma"
    model_types = ("paligemma",)
    summary = "Hub checkpoints only (parts and LoRA targets; no tiny build, not in the matrix)"
    projector_keys = ("multi_modal_projector",)
    vision_keys = ("vision_tower",)
    text_only = False  # PaliGemmaProcessor raises without images
    buildable = False
