"""The unlearning methods by name: one module per method, each an `UnlearnTrainer` subclass
overriding the loss (`base.py`). `persona-bench unlearn --method NAME` picks the class.

Adding a method is one module here (a subclass with `name`, `about`, `uses` and
`unlearn_loss`), its line in `METHODS` and its test.
"""

from __future__ import annotations

from persona_bench.errors import UserError
from persona_bench.trainers.unlearning.base import UnlearnSettings, UnlearnTrainer
from persona_bench.trainers.unlearning.cagul import CAGUL
from persona_bench.trainers.unlearning.ga import GradAscent
from persona_bench.trainers.unlearning.grad_diff import GradDiff
from persona_bench.trainers.unlearning.idk import IDK
from persona_bench.trainers.unlearning.kl import KLMinimization
from persona_bench.trainers.unlearning.npo import NPO
from persona_bench.trainers.unlearning.simnpo import SimNPO

METHODS: dict[str, type[UnlearnTrainer]] = {
    m.name: m for m in (GradAscent, GradDiff, KLMinimization, NPO, SimNPO, IDK, CAGUL)
}

__all__ = ["METHODS", "UnlearnSettings", "UnlearnTrainer", "get_method"]


def get_method(name: str) -> type[UnlearnTrainer]:
    if name not in METHODS:
        raise UserError(f"unknown unlearning method {name!r}; registered: "
                        + ", ".join(f"{n} ({m.about})" for n, m in METHODS.items()))
    return METHODS[name]
