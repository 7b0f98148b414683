"""The experiment registry: declarations that every stage can rely on."""

from __future__ import annotations

import pytest

from persona_bench.contracts import MODALITIES, task_name
from persona_bench.errors import UserError
from persona_bench.experiments import (
    AUGMENT_CONFIGS,
    CONFIGS,
    DEFAULT_EXPERIMENTS,
    DIRECTIONS,
    EXPERIMENTS,
    check_config,
    experiment_of,
    get_experiment,
)


def test_transfer_is_the_default_and_keeps_the_seed_papers_grid():
    assert DEFAULT_EXPERIMENTS == ("transfer",)
    assert DIRECTIONS == {"img2text": ("image", "text"), "text2img": ("text", "image")}
    config = CONFIGS["img2text"]
    assert config.splits == ("train", "test_source", "test_target", "seen")
    assert [(h.role, h.split, h.modality, h.in_group) for h in config.halves] == [
        ("source", "test_source", "image", True), ("target", "test_target", "text", True),
        ("seen", "seen", "image", False)]


@pytest.mark.parametrize("name", list(EXPERIMENTS))
def test_every_declaration_is_consistent(name):
    experiment = EXPERIMENTS[name]
    assert experiment.name == name and experiment.arms
    for arm in experiment.arms:  # every arm trains and scores a declared config
        assert arm.config in CONFIGS and arm.augment in (None, *AUGMENT_CONFIGS)
    for config in experiment.configs:
        both = "+".join(MODALITIES)  # a config taught in both (the unlearning experiment)
        assert config.trained in (*MODALITIES, both)
        assert config.other in MODALITIES or config.other == config.trained == both
        assert len(set(config.roles)) == len(config.roles)
        assert {h.modality for h in config.halves} <= set(MODALITIES)
        assert experiment_of(config.name) is experiment
    roles = {r for a in experiment.arms for r in CONFIGS[a.config].roles}
    prefixed = roles | {f"{p}{r}" for p in ("likelihood_", "base_", "base_likelihood_")
                        for r in roles}
    scored = {d.name for a in experiment.arms for d in experiment_of(a.config).derived}
    derived = {d.name for d in experiment.derived} | scored
    for d in experiment.derived:
        assert d.op in ("difference", "ratio", "product")
        assert {d.a, d.b} <= prefixed | derived, d.name
    assert set(experiment.headline) <= roles | derived | prefixed
    assert callable(experiment.row_builder())


def test_a_metric_name_points_the_same_way_in_every_experiment():
    seen: dict[str, bool | None] = {}
    for experiment in EXPERIMENTS.values():
        for d in experiment.derived:
            assert seen.setdefault(d.name, d.higher_is_better) == d.higher_is_better, d.name


def test_config_names_are_unique_and_task_names_do_not_collide():
    names = [c.name for e in EXPERIMENTS.values() for c in e.configs]
    assert len(names) == len(set(names)) == len(CONFIGS)
    tasks = [task_name(c.name, r) for c in CONFIGS.values() for r in c.roles]
    assert len(tasks) == len(set(tasks))


def test_unknown_names_list_the_registered_ones():
    with pytest.raises(UserError, match="unknown experiment 'nope'; registered: transfer, "
                                        "multihop"):
        get_experiment("nope")
    with pytest.raises(UserError, match="unknown config 'x'; choose one of img2text"):
        check_config("x")


def test_augment_arms_are_every_direction_with_every_mix():
    arms = EXPERIMENTS["augment"].arms
    assert [a.name for a in arms if a.config == "img2text"] == [
        "img2text+none", "img2text+augment_ood", "img2text+augment_id", "img2text+augment_replay"]
    assert {a.config for a in arms} == set(DIRECTIONS)
    assert AUGMENT_CONFIGS == ("augment_ood", "augment_id", "augment_replay")
