"""KL-regularised gradient ascent: ascend on the forget set, stay close to the reference on
the retain set.

loss = -NLL(forget) + retain_weight * KL(reference || model) on the retain answers, the KL
taken per answer token over the vocabulary (TOFU's "KL" method).
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from persona_bench.trainers.unlearning.base import Batch, UnlearnTrainer, nll


def answer_kl(model, reference, batch: Batch) -> torch.Tensor:
    """Mean over answer tokens of KL(reference || model) of the next-token distributions."""
    mask = (batch.labels[:, 1:] != -100)
    logits = model(**batch.inputs, use_cache=False).logits[:, :-1].float()
    with torch.no_grad():
        ref = reference(**batch.inputs, use_cache=False).logits[:, :-1].float()
    kl = F.kl_div(F.log_softmax(logits, -1), F.log_softmax(ref, -1), log_target=True,
                  reduction="none").sum(-1)
    return (kl * mask).sum() / mask.sum().clamp(min=1)


class KLMinimization(UnlearnTrainer):
    name = "kl"
    about = "gradient ascent on the forget set + KL to the reference on the retain set"
    uses = ("retain_weight",)
    needs_reference = True

    def unlearn_loss(self, model, forget: Batch, retain: Batch):
        ascent = -self.note("forget_nll", nll(model, forget))
        kl = self.note("retain_kl", answer_kl(model, self.reference, retain))
        return ascent + self.settings.retain_weight * kl
