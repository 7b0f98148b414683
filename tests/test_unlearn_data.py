"""The unlearning experiment's dataset config: who is trained, forgotten, retained, held out."""

from __future__ import annotations

from pathlib import Path

import pytest
from datasets import load_dataset

from persona_bench.errors import UserError
from persona_bench.experiments import CONFIGS, EXPERIMENTS, dataset_config_of
from persona_bench.experiments.unlearn import DATA, FRACTIONS, RETAIN
from persona_bench.persona_gen.generate import generate_dataset
from persona_bench.persona_gen.publish import load_options
from persona_bench.persona_gen.unlearn import forget_sets, partition, share


@pytest.fixture(scope="module")
def unlearn_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """24 personas: 2 held out, 22 trained, forget sets of 1, 1 and 2 personas."""
    return generate_dataset(tmp_path_factory.mktemp("unlearn") / "data", num_personas=24,
                            pretrain_personas=0, image_size=16, variants=2, seed=3,
                            experiments=["unlearn"], workers=1, progress=False)


def _splits(data: Path) -> dict:
    return load_dataset(str(data), DATA, **load_options(data))


def _ids(rows) -> set[str]:
    return set(rows["persona_id"])


def test_forget_sets_are_nested_disjoint_from_retain_and_holdout(unlearn_data):
    splits = _splits(unlearn_data)
    trained, holdout = _ids(splits["train"]), _ids(splits["holdout"])
    assert len(holdout) == 2 and not trained & holdout and len(trained) == 22
    forget = {f: _ids(splits[f"forget{f}"]) for f in FRACTIONS}
    assert [len(forget[f]) for f in FRACTIONS] == [1, 1, 2]
    assert forget["01"] <= forget["05"] <= forget["10"]
    for f, r in RETAIN.items():
        retain = _ids(splits[f"retain{r}"])
        assert retain | forget[f] == trained and not retain & forget[f]
        assert _ids(splits[f"test_forget{f}_image"]) == forget[f]
        assert _ids(splits[f"test_retain{r}_text"]) == retain
    assert _ids(splits["test_holdout_image"]) == holdout


def test_train_teaches_both_modalities_and_tests_are_held_out(unlearn_data):
    splits = _splits(unlearn_data)
    train = splits["train"]
    assert set(train["modality"]) == {"image", "text"}
    per_persona = {m: sum(1 for x in train["modality"] if x == m) for m in ("image", "text")}
    assert per_persona["image"] == per_persona["text"]
    held = set(splits["test_forget10_image"]["variant"]) | \
        set(splits["test_holdout_text"]["variant"])
    assert held == {1} and set(train["variant"]) == {0}  # 2 variants: the last is held out
    assert set(splits["test_forget05_image"]["modality"]) == {"image"}
    assert set(splits["test_forget05_text"]["modality"]) == {"text"}


def test_partition_is_deterministic_for_a_seed():
    from persona_bench.persona_gen.rows import PersonaMedia

    class P:
        def __init__(self, i):
            self.persona_id = f"p{i:03d}"

    people = [PersonaMedia(P(i), [], []) for i in range(30)]
    assert partition(people, 0) == partition(people, 0)
    assert partition(people, 0) != partition(people, 1)
    trained, holdout = partition(people, 0)
    assert len(holdout) == share(30, 0.10) == 3
    sets = forget_sets(trained)
    assert sets["10"][: len(sets["05"])] == sets["05"]


def test_too_few_personas_is_one_clear_error():
    with pytest.raises(UserError, match="at least 3 personas"):
        partition([], 0)
    with pytest.raises(UserError, match="no retain persona"):
        forget_sets(["a"])


def test_configs_share_one_dataset_config():
    names = [c.name for c in EXPERIMENTS["unlearn"].configs]
    assert names == ["unlearn01", "unlearn05", "unlearn10"]
    assert {dataset_config_of(n) for n in names} == {DATA}
    assert CONFIGS["unlearn05"].half("forget_image").higher_is_better is False
    assert CONFIGS["unlearn05"].half("retain_text").higher_is_better is True
    assert "forget05" in CONFIGS["unlearn05"].splits
