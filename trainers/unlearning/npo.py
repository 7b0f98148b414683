"""Negative preference optimisation (Zhang et al., 2024): the forget answers are the
"rejected" side of DPO with no preferred side, against the reference model.

loss = -(2 / beta) * mean log sigmoid(-beta * (log p(y|x) - log p_ref(y|x)))  on forget
       + retain_weight * NLL(retain)
Bounded, unlike gradient ascent: once the answer is unlikely the forget term stops pushing.
"""

from __future__ import annotations

from torch.nn import functional as F

from persona_bench.trainers.unlearning.base import Batch, UnlearnTrainer, answer_logprobs


class NPO(UnlearnTrainer):
    name = "npo"
    about = "negative preference optimisation against the reference + NLL on the retain set"
    uses = ("retain_weight", "beta")
    needs_reference = True

    def unlearn_loss(self, model, forget: Batch, retain: Batch):
        beta = self.settings.beta
        ratio = answer_logprobs(model, forget)[0] - self.reference_logprobs(forget)
        forget_loss = self.note("npo", -2 / beta * F.logsigmoid(-beta * ratio).mean())
        return forget_loss + self.settings.retain_weight * self.retain_loss(model, retain)
