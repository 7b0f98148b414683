"""SimNPO (Fan et al., 2024): NPO without a reference model, length-normalised, with a
reward margin.

loss = -(2 / beta) * mean log sigmoid(-beta * log p(y|x) / |y| - gamma)  on forget
       + retain_weight * NLL(retain)
"""

from __future__ import annotations

from torch.nn import functional as F

from persona_bench.trainers.unlearning.base import Batch, UnlearnTrainer, answer_logprobs


class SimNPO(UnlearnTrainer):
    name = "simnpo"
    about = "reference-free, length-normalised NPO with a margin + NLL on the retain set"
    uses = ("retain_weight", "beta", "gamma")

    def unlearn_loss(self, model, forget: Batch, retain: Batch):
        beta, gamma = self.settings.beta, self.settings.gamma
        logp, count = answer_logprobs(model, forget)
        margin = -beta * logp / count.clamp(min=1) - gamma
        forget_loss = self.note("simnpo", -2 / beta * F.logsigmoid(margin).mean())
        return forget_loss + self.settings.retain_weight * self.retain_loss(model, retain)
