"""The three parts of a VLM (vision tower, projector, language model) found by parameter name.

Hub VLMs name their parts differently (LLaVA `vision_tower` / `multi_modal_projector`,
Qwen-VL `visual` / `visual.merger`, Idefics3 `vision_model` / `connector`...): each family
in `persona_bench.families` declares its own names. A parameter belongs to the projector if its
path names a projector module, else to the vision tower if it names a vision module, else
to the language model (embeddings and `lm_head` included).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from torch import nn

from persona_bench.errors import UserError
from persona_bench.families import family_of

PARTS = ("vision_tower", "projector", "language_model")


def part_of(model: nn.Module, name: str) -> str:
    """The part a parameter or module path of `model` belongs to."""
    return family_of(model).part_of(name)


def parameter_counts(model: nn.Module) -> dict[str, dict[str, int]]:
    """Total and trainable parameter count per part."""
    family = family_of(model)
    counts = {part: {"total": 0, "trainable": 0} for part in PARTS}
    for name, param in model.named_parameters():
        entry = counts[family.part_of(name)]
        entry["total"] += param.numel()
        entry["trainable"] += param.numel() if param.requires_grad else 0
    return counts


def check_parts(model: nn.Module) -> None:
    """Fail clearly when the parts cannot be told apart (an unusual VLM layout)."""
    counts = parameter_counts(model)
    if not counts["vision_tower"]["total"] or not counts["language_model"]["total"]:
        family = family_of(model)
        raise UserError(
            f"cannot find the vision tower and language model of {type(model).__name__} by "
            f"parameter name (looked for {', '.join(family.vision_keys)}); fix the "
            f"{family.name} family in persona_bench/families/"
        )


def set_trainable(model: nn.Module, train: dict[str, bool]) -> None:
    """Freeze or unfreeze each part: `train` maps a part name to whether it is trained."""
    family = family_of(model)
    for name, param in model.named_parameters():
        param.requires_grad_(train[family.part_of(name)])


def decoder_layers(model: nn.Module) -> tuple[str, nn.ModuleList]:
    """Path and modules of the language model's decoder layers (the longest `layers` list)."""
    family = family_of(model)
    found = [(name, m) for name, m in model.named_modules()
             if isinstance(m, nn.ModuleList) and name.rsplit(".", 1)[-1] == "layers"
             and family.part_of(name) == "language_model"]
    if not found:
        raise UserError(f"cannot find the decoder layers of {type(model).__name__}")
    return max(found, key=lambda item: len(item[1]))


def freeze_lower_layers(model: nn.Module, layers: int) -> None:
    """Freeze the input embeddings and the first `layers` decoder layers of the LM."""
    if layers == 0:
        return
    _, modules = decoder_layers(model)
    if not 0 < layers <= len(modules):
        raise UserError(f"--freeze_lm_layers must be in [0, {len(modules)}] (the decoder layers "
                        f"of {type(model).__name__}), got {layers}")
    for module in (model.get_input_embeddings(), *modules[:layers]):
        module.requires_grad_(False)


def part_roots(model: nn.Module, part: str) -> list[str]:
    """Highest module paths that lie wholly inside `part` (PEFT `modules_to_save` entries)."""
    family = family_of(model)
    roots: list[str] = []
    for name, module in model.named_modules():
        names = [f"{name}.{n}" if name else n for n, _ in module.named_parameters()]
        if not names or any(family.part_of(n) != part for n in names):
            continue
        if not any(name.startswith(f"{root}.") for root in roots):
            roots.append(name)
    return roots


def default_lora_targets(model: nn.Module) -> str:
    """The family's LoRA target regex over the language model (see `Family.lora_targets`)."""
    return family_of(model).lora_targets(model)


def matching_modules(model: nn.Module, targets: str | Iterable[str]) -> list[str]:
    """Module paths that PEFT would adapt for `targets` (a regex, or names matched as suffixes)."""
    names = [name for name, _ in model.named_modules() if name]
    if isinstance(targets, str):
        if targets == "all-linear":
            return [n for n, m in model.named_modules() if isinstance(m, nn.Linear)]
        return [n for n in names if re.fullmatch(targets, n)]
    wanted = set(targets)
    return [n for n in names if n in wanted or any(n.endswith(f".{t}") for t in wanted)]
