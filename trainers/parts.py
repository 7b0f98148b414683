"""The three parts of a VLM (vision tower, projector, language model) found by parameter name.

Hub VLMs name their parts differently (LLaVA `vision_tower` / `multi_modal_projector`,
Qwen-VL `visual` / `visual.merger`, Idefics3 `vision_model` / `connector`...). A parameter
belongs to the projector if its path names a projector module, else to the vision tower if
it names a vision module, else to the language model (embeddings and `lm_head` included).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from torch import nn

from persona_bench.errors import UserError

PARTS = ("vision_tower", "projector", "language_model")
PROJECTOR_KEYS = ("multi_modal_projector", "mm_projector", "connector", "merger",
                  "deepstack_merger_list", "image_newline", "embed_vision", "mlp1")
VISION_KEYS = ("vision_tower", "visual", "vision_model", "vision_encoder", "image_encoder",
               "vision_embed_tokens")
# Projection layers of common decoders, the default LoRA targets of the language model.
LORA_LAYERS = ("q_proj", "k_proj", "v_proj", "o_proj", "qkv_proj", "gate_proj", "up_proj",
               "gate_up_proj", "down_proj")


def part_of(name: str) -> str:
    """The part a parameter or module path belongs to."""
    components = set(name.split("."))
    if components.intersection(PROJECTOR_KEYS):
        return "projector"
    if components.intersection(VISION_KEYS):
        return "vision_tower"
    return "language_model"


def parameter_counts(model: nn.Module) -> dict[str, dict[str, int]]:
    """Total and trainable parameter count per part."""
    counts = {part: {"total": 0, "trainable": 0} for part in PARTS}
    for name, param in model.named_parameters():
        entry = counts[part_of(name)]
        entry["total"] += param.numel()
        entry["trainable"] += param.numel() if param.requires_grad else 0
    return counts


def check_parts(model: nn.Module) -> None:
    """Fail clearly when the parts cannot be told apart (an unusual VLM layout)."""
    counts = parameter_counts(model)
    if not counts["vision_tower"]["total"] or not counts["language_model"]["total"]:
        raise UserError(
            f"cannot find the vision tower and language model of {type(model).__name__} by "
            f"parameter name (looked for {', '.join(VISION_KEYS)}); it may not be a VLM, or "
            "add its module names to trainers/parts.py"
        )


def set_trainable(model: nn.Module, train: dict[str, bool]) -> None:
    """Freeze or unfreeze each part: `train` maps a part name to whether it is trained."""
    for name, param in model.named_parameters():
        param.requires_grad_(train[part_of(name)])


def part_roots(model: nn.Module, part: str) -> list[str]:
    """Highest module paths that lie wholly inside `part` (PEFT `modules_to_save` entries)."""
    roots: list[str] = []
    for name, module in model.named_modules():
        names = [f"{name}.{n}" if name else n for n, _ in module.named_parameters()]
        if not names or any(part_of(n) != part for n in names):
            continue
        if not any(name.startswith(f"{root}.") for root in roots):
            roots.append(name)
    return roots


def default_lora_targets(model: nn.Module) -> str:
    """Regex (PEFT full-match) over the language model's linear layers.

    The usual attention/MLP projections when the decoder has them, else every linear layer
    of the language model except the output head.
    """
    linear = [name for name, m in model.named_modules()
              if isinstance(m, nn.Linear) and part_of(name) == "language_model"]
    leaves = {name.rsplit(".", 1)[-1] for name in linear} - {"lm_head"}
    chosen = sorted(leaves.intersection(LORA_LAYERS) or leaves)
    excluded = "|".join(PROJECTOR_KEYS + VISION_KEYS)
    return rf"^(?!(?:.*\.)?(?:{excluded})\.).*\.(?:{'|'.join(chosen)})$"


def matching_modules(model: nn.Module, targets: str | Iterable[str]) -> list[str]:
    """Module paths that PEFT would adapt for `targets` (a regex, or names matched as suffixes)."""
    names = [name for name, _ in model.named_modules() if name]
    if isinstance(targets, str):
        if targets == "all-linear":
            return [n for n, m in model.named_modules() if isinstance(m, nn.Linear)]
        return [n for n in names if re.fullmatch(targets, n)]
    wanted = set(targets)
    return [n for n in names if n in wanted or any(n.endswith(f".{t}") for t in wanted)]
