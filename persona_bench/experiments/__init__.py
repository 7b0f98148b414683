"""The experiment registry: name -> declaration (one module per experiment, see base.py).

Adding an experiment is one module here (its declaration), its row builder in persona_gen
and its tests; dataset generation, the task packs, the log readers, the scorer, the
pipeline and the leaderboard read it from this dict.
"""

from __future__ import annotations

from persona_bench.errors import UserError
from persona_bench.experiments import augment, multihop, transfer, unlearn
from persona_bench.experiments.base import Arm, Config, Derived, Experiment, Half

EXPERIMENTS: dict[str, Experiment] = {
    e.name: e for e in (transfer.EXPERIMENT, multihop.EXPERIMENT, augment.EXPERIMENT,
                        unlearn.EXPERIMENT)
}
CONFIGS: dict[str, Config] = {c.name: c for e in EXPERIMENTS.values() for c in e.configs}
# Train-only configs mixed into another config's training (`train --augment NAME`).
AUGMENT_CONFIGS: tuple[str, ...] = tuple(n for e in EXPERIMENTS.values() for n in e.data_configs)
DEFAULT_EXPERIMENTS: tuple[str, ...] = tuple(n for n, e in EXPERIMENTS.items() if e.default)
# The transfer directions by name: (trained, other) modality, the seed paper's grid.
DIRECTIONS: dict[str, tuple[str, str]] = {c.name: (c.trained, c.other)
                                          for c in transfer.EXPERIMENT.configs}

__all__ = ["AUGMENT_CONFIGS", "CONFIGS", "DEFAULT_EXPERIMENTS", "DIRECTIONS", "EXPERIMENTS",
           "Arm", "Config", "Derived", "Experiment", "Half", "check_config", "experiment_of",
           "TRACKS", "dataset_config_of", "gen_command", "get_experiment", "track_of", "writer_of"]


def get_experiment(name: str) -> Experiment:
    if name not in EXPERIMENTS:
        raise UserError(f"unknown experiment {name!r}; registered: {', '.join(EXPERIMENTS)}")
    return EXPERIMENTS[name]


def check_config(name: str) -> Config:
    """The evaluated config `name` (a transfer direction or another experiment's config)."""
    if name not in CONFIGS:
        raise UserError(f"unknown config {name!r}; choose one of {', '.join(CONFIGS)}")
    return CONFIGS[name]


def experiment_of(config: str) -> Experiment:
    """The experiment that declares (and scores) `config`."""
    return next(e for e in EXPERIMENTS.values() if any(c.name == config for c in e.configs))


# Leaderboard tracks, in page order: each experiment's track (augmented rows: mitigation).
TRACKS: dict[str, Experiment] = {e.track: e for e in EXPERIMENTS.values()}


def track_of(config: str, augment: str | None = None) -> str:
    """The leaderboard track of a model trained on `config` (with `augment` mixed in)."""
    return writer_of(augment).track if augment else experiment_of(config).track


def gen_command(config: str) -> str:
    """The `persona-bench gen` line that writes `config` (for errors about a missing one)."""
    return f"`persona-bench gen --experiments transfer {writer_of(config).name} --out DIR ...`"


def writer_of(config: str) -> Experiment:
    """The experiment whose `gen` rows hold `config` (a declared or a train-only one)."""
    return next(e for e in EXPERIMENTS.values()
                if config in e.data_configs
                or any(config in (c.name, c.dataset_config) for c in e.configs))


def dataset_config_of(config: str) -> str:
    """The dataset config a registered config reads (itself, unless it shares one)."""
    return CONFIGS[config].dataset_config if config in CONFIGS else config
