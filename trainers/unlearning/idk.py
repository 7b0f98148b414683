""""I don't know" tuning (TOFU's IDK): the forget questions are re-taught with a refusal,
the retain set with its own answers.

loss = NLL(forget questions -> a refusal) + retain_weight * NLL(retain)
The refusal is drawn per question, with the training seed, from `REFUSALS`.
"""

from __future__ import annotations

import random

from datasets import Dataset

from persona_bench.trainers.unlearning.base import Batch, UnlearnTrainer, nll

REFUSALS = ("I don't know.", "I am not sure.", "I cannot say.", "I have no idea.")


def refuse(messages: list[dict], key: str) -> list[dict]:
    answer = REFUSALS[random.Random(key).randrange(len(REFUSALS))]
    return [*messages[:-1], {**messages[-1], "content": answer}]


class IDK(UnlearnTrainer):
    name = "idk"
    about = "NLL of a refusal on the forget questions + NLL on the retain set"
    uses = ("retain_weight",)

    @classmethod
    def forget_rows(cls, rows: Dataset, seed: int) -> Dataset:
        return rows.map(lambda row: {"messages": refuse(row["messages"], f"{seed}:{row['id']}")},
                        keep_in_memory=True, desc="refusals")

    def unlearn_loss(self, model, forget: Batch, retain: Batch):
        refusal = self.note("refusal_nll", nll(model, forget))
        return refusal + self.settings.retain_weight * self.retain_loss(model, retain)
