"""The shared machinery of every unlearning method: forget batches, retain batches, losses.

An unlearning method is an `UnlearnTrainer` subclass (open-unlearning's shape) that
overrides `unlearn_loss(model, forget, retain)`. The trainer's own dataset is the forget set
(in the modality being unlearned, `--forget_modality`); each step also draws a batch of the
retain set (both modalities) with its own seeded stream, collated by the same collator.
Methods that compare with the model before unlearning (KL, NPO) get `self.reference`, a
frozen copy loaded from `--ref_model` (default: the model being unlearned).

A non-finite loss stops the run with the step number (`NonFiniteLoss`); the checkpoints
saved before it are kept.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from datasets import Dataset
from torch.nn import functional as F
from trl import SFTTrainer

from persona_bench.contracts import MODALITIES

FORGET_MODALITIES = (*MODALITIES, "both")  # how the forget set can be presented
# Collator keys that are not model inputs (TRL adds masks for its own loss).
NOT_INPUTS = ("labels", "completion_mask", "assistant_masks")


class NonFiniteLoss(RuntimeError):
    """The unlearning loss became NaN or infinite at `step`."""

    def __init__(self, step: int, value: float) -> None:
        super().__init__(f"unlearning loss is {value} at step {step}")
        self.step, self.value = step, value


@dataclass(frozen=True)
class UnlearnSettings:
    """What every method may read: the retain weight and the preference temperature."""

    retain_weight: float = 1.0  # alpha: weight of the retain loss
    beta: float = 0.1  # NPO / SimNPO inverse temperature
    gamma: float = 0.0  # SimNPO reward margin


@dataclass
class Batch:
    """A collated batch: the model inputs and the answer-token labels (-100 elsewhere)."""

    inputs: dict[str, torch.Tensor]
    labels: torch.Tensor


def split_batch(batch: Mapping[str, Any]) -> Batch:
    inputs = {k: v for k, v in batch.items() if k not in NOT_INPUTS}
    return Batch(inputs, batch["labels"])


def answer_logprobs(model: torch.nn.Module, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
    """(summed log-probability of each row's answer tokens, number of answer tokens)."""
    logits = model(**batch.inputs, use_cache=False).logits[:, :-1].float()
    labels = batch.labels[:, 1:]
    mask = labels != -100
    picked = torch.gather(F.log_softmax(logits, dim=-1), 2,
                          labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return (picked * mask).sum(-1), mask.sum(-1)


def nll(model: torch.nn.Module, batch: Batch) -> torch.Tensor:
    """Mean negative log-likelihood per answer token (the SFT loss)."""
    logp, count = answer_logprobs(model, batch)
    return -logp.sum() / count.sum().clamp(min=1)


class UnlearnTrainer(SFTTrainer):
    """`SFTTrainer` on the forget set whose loss is the method's `unlearn_loss`."""

    name: ClassVar[str] = ""
    about: ClassVar[str] = ""
    uses: ClassVar[tuple[str, ...]] = ()  # the `UnlearnSettings` fields it reads
    needs_reference: ClassVar[bool] = False
    modalities: ClassVar[tuple[str, ...]] = FORGET_MODALITIES  # what --forget_modality may be

    def __init__(self, *args, retain_rows: Dataset, settings: UnlearnSettings,
                 reference: torch.nn.Module | None = None, seed: int = 0, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.retain_rows = retain_rows
        self.settings = settings
        self.reference = reference
        self.retain_rng = random.Random(f"retain:{seed}")
        self.parts: dict[str, list[float]] = {}

    # -- what a method overrides ----------------------------------------------------------
    def unlearn_loss(self, model: torch.nn.Module, forget: Batch, retain: Batch) -> torch.Tensor:
        raise NotImplementedError

    @classmethod
    def forget_rows(cls, rows: Dataset, seed: int) -> Dataset:
        """The forget rows as this method trains on them (IDK replaces the answers)."""
        return rows

    # -- helpers for methods --------------------------------------------------------------
    def note(self, name: str, value: torch.Tensor) -> torch.Tensor:
        """Log a loss term (averaged over the logging interval)."""
        self.parts.setdefault(name, []).append(float(value.detach()))
        return value

    def retain_loss(self, model: torch.nn.Module, retain: Batch) -> torch.Tensor:
        return self.note("retain_nll", nll(model, retain))

    @torch.no_grad()
    def reference_logprobs(self, batch: Batch) -> torch.Tensor:
        return answer_logprobs(self.reference, batch)[0]

    def retain_batch(self, size: int, device: torch.device) -> Batch:
        picked = self.retain_rng.sample(range(len(self.retain_rows)),
                                        min(size, len(self.retain_rows)))
        collated = self.data_collator([self.retain_rows[i] for i in picked])
        return split_batch({k: v.to(device) if hasattr(v, "to") else v
                            for k, v in collated.items()})

    # -- Trainer hooks --------------------------------------------------------------------
    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        forget = split_batch(inputs)
        retain = self.retain_batch(len(forget.labels), forget.labels.device)
        loss = self.unlearn_loss(model, forget, retain)
        if not torch.isfinite(loss):
            raise NonFiniteLoss(self.state.global_step + 1, float(loss.detach()))
        return (loss, None) if return_outputs else loss

    def log(self, logs: dict[str, float], *args, **kwargs) -> None:
        if "loss" in logs:
            for name, values in self.parts.items():
                logs[name] = round(sum(values) / len(values), 4)
            self.parts = {}
        super().log(logs, *args, **kwargs)
