"""An SFT batch that mixes portrait and description rows, run as two parts without cross padding.

The pretraining pool mixes image questions (some 35 tokens with the image tokens) and text
questions about descriptions (some 70) in one batch; padded together, about half of every
image row is padding that the forward and backward still compute (a batch of 8 is some 600
positions for 420 real tokens). `SplitSFTTrainer` runs the image rows and the text rows of
such a batch as two forwards, each padded to its own longest row, and adds their token-loss
sums over the whole batch's answer-token count: the loss and gradients of the whole batch (up
to float rounding), for less compute. Only a batch whose images come as one `pixel_values`
entry per image row (LLaVA's layout) is split; any other layout runs whole, as before.
`bench/bench_pretrain.py` measures the step time.
"""

from __future__ import annotations

import torch
from trl import SFTTrainer

# Per-row, per-token tensors of a batch: sliced by row and by column.
TOKEN_KEYS = ("input_ids", "attention_mask", "labels")


def trimmed(part: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """`part` without the columns that are padding in every one of its rows."""
    used = part["attention_mask"].any(0).nonzero()
    first, last = int(used.min()), int(used.max()) + 1
    return {key: value[:, first:last] for key, value in part.items()}


def modality_parts(inputs: dict, image_token_id: int | None) -> list[dict] | None:
    """The image rows (with every image) and the text rows (none) of a collated batch, each
    trimmed of its own padding; None where the batch is one modality or is laid out otherwise."""
    if image_token_id is None or set(inputs) - set(TOKEN_KEYS) != {"pixel_values"}:
        return None
    with_image = (inputs["input_ids"] == image_token_id).any(1)
    images = int(with_image.sum())
    if not 0 < images < len(with_image) or inputs["pixel_values"].shape[0] != images:
        return None
    image_part, text_part = ({key: inputs[key][rows] for key in TOKEN_KEYS}
                             for rows in (with_image, ~with_image))
    return [trimmed(image_part) | {"pixel_values": inputs["pixel_values"]}, trimmed(text_part)]


def answer_tokens(labels: torch.Tensor) -> torch.Tensor:
    """The positions the causal LM loss is taken at (TRL's fused loss shifts labels by one)."""
    return (labels[:, 1:] != -100).sum()


class SplitSFTTrainer(SFTTrainer):
    """`SFTTrainer` whose training step runs a mixed batch as `modality_parts`."""

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        parts = (None if return_outputs or not model.training
                 else modality_parts(inputs, getattr(model.config, "image_token_id", None)))
        if parts is None:
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        total = num_items_in_batch
        if total is None:
            total = answer_tokens(inputs["labels"])
        return sum(super(SplitSFTTrainer, self).compute_loss(model, part, num_items_in_batch=total)
                   for part in parts)
