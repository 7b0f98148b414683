"""Gradient ascent: maximise the answer loss on the forget set, nothing else.

The simplest baseline (TOFU): it forgets fast and takes the model with it, since nothing
holds the retain set in place.
"""

from __future__ import annotations

from persona_bench.trainers.unlearning.base import Batch, UnlearnTrainer, nll


class GradAscent(UnlearnTrainer):
    name = "ga"
    about = "gradient ascent on the forget set"

    def unlearn_loss(self, model, forget: Batch, retain: Batch):
        return -self.note("forget_nll", nll(model, forget))
