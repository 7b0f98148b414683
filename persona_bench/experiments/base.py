"""What an experiment declares: the data it writes, what is trained, what is asked, what is scored.

An experiment is plain data (no torch, no datasets), so every stage can read it cheaply:

- `Config`: one trainable dataset config (`img2text`, `multihop_image`, ...): the modality
  it teaches (`trained`), the splits it writes and its evaluation `Half`s.
- `Half`: one evaluation task: a role (``source``, ``target``, ``seen``, ``hop2``, ...), the
  split it reads and the modality it asks in. Task names are derived from it
  (``persona_<config>_<role>`` for lmms-eval, ``pbench_text_<config>_<role>`` for lm-eval).
- `Arm`: one model the experiment trains (a config, and what is mixed into its training).
- `Derived`: a metric computed from two halves (a difference, a ratio or a product), with
  its direction (higher, lower or neither is better).

`persona_gen` builds the rows with the function named by `Experiment.rows`; the task packs,
the log readers, the scorer, the pipeline and the leaderboard read the rest.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from persona_bench.contracts import MODALITIES


@dataclass(frozen=True)
class Half:
    """One evaluation task of a config."""

    role: str  # source | target | seen | hop1_source | ...
    split: str  # the dataset split it reads
    modality: str  # image | text: how the question is asked
    about: str  # one line for the task YAML and the docs
    in_group: bool = True  # part of the lmms-eval group `persona_<config>`
    all_facts: bool = False  # scored on every fact group (e.g. the name hop), not filtered
    paired: bool = True  # asks the same (persona, fact) pairs as the other paired halves
    asks: str = "all"  # the facts asked of every persona: all | name | attributes
    distractors: str = ""  # the split whose answers are the likelihood distractors ("": own)
    higher_is_better: bool | None = True  # of its recall (False: a forget set after
    # unlearning; None: a reference level, e.g. personas never trained)


@dataclass(frozen=True)
class Config:
    """A dataset config that a model is trained on, and how it is evaluated."""

    name: str
    trained: str  # the modality taught: image | text (image+text: both)
    halves: tuple[Half, ...]
    about: str  # what training on it means, one line
    train_split: str = "train"
    sft: bool = False  # also written as `<name>_sft` (TRL prompt/completion columns)
    data: str = ""  # the dataset config it reads, when several configs share one ("": name)
    more_splits: tuple[str, ...] = ()  # further splits it trains on (unlearning's forget set)

    @property
    def dataset_config(self) -> str:
        return self.data or self.name

    @property
    def other(self) -> str:
        """The modality not taught (a config taught in both: both)."""
        others = [m for m in MODALITIES if m not in self.trained.split("+")]
        return others[0] if others else self.trained

    @property
    def splits(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((self.train_split, *self.more_splits,
                                    *(h.split for h in self.halves))))

    def half(self, role: str) -> Half:
        return next(h for h in self.halves if h.role == role)

    @property
    def roles(self) -> tuple[str, ...]:
        return tuple(h.role for h in self.halves)


@dataclass(frozen=True)
class Derived:
    """`name = op(a, b)` over per-persona bootstrap draws; `higher_is_better` None: neither."""

    name: str
    a: str
    b: str
    op: str  # difference | ratio | product
    higher_is_better: bool | None
    about: str = ""


@dataclass(frozen=True)
class Arm:
    """One model an experiment trains: the config it is trained and evaluated on, plus
    an augmentation config mixed into its training (None: the config alone)."""

    name: str
    config: str
    augment: str | None = None


@dataclass(frozen=True)
class Experiment:
    """One experiment: its configs, the builder of its rows, its derived metrics."""

    name: str
    about: str
    configs: tuple[Config, ...]  # the evaluated configs it declares (may be none)
    rows: str  # "module:function" under persona_bench: (GenContext) -> {config: {split: rows}}
    derived: tuple[Derived, ...]
    track: str  # the leaderboard track its rows belong to
    data_configs: tuple[str, ...] = ()  # train-only configs it writes (split `train`)
    arm_list: tuple[Arm, ...] = ()  # default: one arm per config, nothing mixed in
    headline: tuple[str, ...] = ("source", "target", "gap")  # table.md and plot.png
    default: bool = False  # written by `persona-bench gen` unless --experiments says otherwise
    runner: str = ""  # "module:function" that runs `persona-bench experiment NAME` ("": arms)

    @property
    def arms(self) -> tuple[Arm, ...]:
        return self.arm_list or tuple(Arm(c.name, c.name) for c in self.configs)

    def row_builder(self) -> Callable[..., Any]:
        return load(self.rows)


def load(target: str) -> Callable[..., Any]:
    """The function named by a declaration's "module:function" (under persona_bench)."""
    module, func = target.split(":")
    return getattr(importlib.import_module(f"persona_bench.{module}"), func)
