"""Gradient difference: ascend on the forget set, descend on the retain set.

loss = -NLL(forget) + retain_weight * NLL(retain)   (TOFU's "grad diff").
"""

from __future__ import annotations

from persona_bench.trainers.unlearning.base import Batch, UnlearnTrainer, nll


class GradDiff(UnlearnTrainer):
    name = "grad_diff"
    about = "gradient ascent on the forget set + NLL on the retain set"
    uses = ("retain_weight",)

    def unlearn_loss(self, model, forget: Batch, retain: Batch):
        ascent = -self.note("forget_nll", nll(model, forget))
        return ascent + self.settings.retain_weight * self.retain_loss(model, retain)
