import filecmp
from pathlib import Path

import pytest
from datasets import load_dataset

from persona_bench.errors import UserError
from persona_bench.experiments import DEFAULT_EXPERIMENTS, EXPERIMENTS
from persona_bench.persona_gen import generate as gen_module
from persona_bench.persona_gen.generate import generate_dataset
from persona_bench.persona_gen.publish import read_metadata
from persona_bench.persona_gen.schema import CONFIG_SPLITS, SFT_CONFIGS

SMALL = dict(num_personas=3, pretrain_personas=2, image_size=32, variants=2, workers=1,
             progress=False)


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_every_config_loads_with_load_dataset(dataset_dir):
    written = read_metadata(dataset_dir)["counts"]
    default = {c.name for e in DEFAULT_EXPERIMENTS for c in EXPERIMENTS[e].configs}
    assert set(written) == {c for c in CONFIG_SPLITS if c in default or c in (
        "pretrain", "personas") or SFT_CONFIGS.get(c) in default}
    for config in written:
        splits = CONFIG_SPLITS[config]
        ds = load_dataset(str(dataset_dir), config)
        assert set(ds) == set(splits)
        assert all(len(ds[s]) > 0 for s in splits)
    people = load_dataset(str(dataset_dir), "personas", split="train")
    assert len(people) == 8 and people[0]["images"][0].size == (64, 64)


def test_same_seed_byte_identical_other_seed_different(tmp_path):
    a = generate_dataset(tmp_path / "a", seed=7, **SMALL)
    b = generate_dataset(tmp_path / "b", seed=7, **SMALL)
    c = generate_dataset(tmp_path / "c", seed=8, **SMALL)
    assert _files(a) == _files(b)
    match, mismatch, errors = filecmp.cmpfiles(a, b, _files(a), shallow=False)
    assert not mismatch and not errors
    assert read_metadata(a)["content_hash"] == read_metadata(b)["content_hash"]
    assert read_metadata(a)["content_hash"] != read_metadata(c)["content_hash"]


def test_card_records_options_and_hash(dataset_dir):
    meta = read_metadata(dataset_dir)
    assert meta["seed"] == 0 and meta["options"]["num_personas"] == 8
    assert meta["content_hash"].startswith("sha256:") and meta["generator_version"]
    assert "configs:" in (dataset_dir / "README.md").read_text()


def test_non_empty_output_refused_and_overwrite_replaces(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(UserError, match="not empty"):
        generate_dataset(out, **SMALL)
    assert (out / "keep.txt").read_text() == "mine"
    with pytest.raises(UserError, match="not a dataset folder written by `persona-bench gen`"):
        generate_dataset(out, overwrite=True, **SMALL)  # --overwrite never deletes foreign files
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
    (out / "keep.txt").unlink()
    generate_dataset(out, **SMALL)
    generate_dataset(out, overwrite=True, **{**SMALL, "seed": 1})  # our own dataset: replaced
    assert (out / "README.md").exists() and "seed: 1" in (out / "README.md").read_text()


def test_failure_mid_write_leaves_previous_dataset_intact(tmp_path, monkeypatch):
    out = generate_dataset(tmp_path / "out", **SMALL)
    before = {f: (out / f).read_bytes() for f in _files(out)}

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(gen_module, "write_split", boom)
    with pytest.raises(RuntimeError):
        generate_dataset(out, overwrite=True, seed=9, **SMALL)
    assert {f: (out / f).read_bytes() for f in _files(out)} == before
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no temp folders left


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(renderer="oil-paint"), "unknown renderer"),
        (dict(variants=1), "--variants"),
        (dict(image_size=4), "--image-size"),
        (dict(num_personas=0), "--num-personas"),
        (dict(num_personas=10**9), "at most"),
        (dict(pretrain_tasks=("ocr",)), "pretraining tasks"),
    ],
)
def test_bad_options_are_one_line_user_errors(tmp_path, kwargs, message):
    options = {**SMALL, **kwargs}
    with pytest.raises(UserError, match=message) as err:
        generate_dataset(tmp_path / "x", **options)
    assert "\n" not in str(err.value)
    assert not (tmp_path / "x").exists()


def test_unwritable_output_refused(tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(UserError, match="is a file"):
        generate_dataset(target, **SMALL)


def test_transfer_bytes_unchanged_by_the_experiment_registry(tmp_path):
    """The registry refactor keeps today's dataset: the content hash of this setting was
    taken with the code before it (commit fbadb19)."""
    out = generate_dataset(tmp_path / "golden", num_personas=3, seed=7, image_size=16,
                           variants=2, pretrain_personas=2, workers=1, progress=False)
    assert read_metadata(out)["content_hash"] == (
        "sha256:bd6ccc7a3d08a9e26dd648b736d0b1f88b3a15db5cfb729799736434a4ad85de")


def test_unknown_experiment_is_refused_before_any_work(tmp_path):
    with pytest.raises(UserError, match="unknown experiment 'nope'; registered: transfer"):
        generate_dataset(tmp_path / "x", experiments=["nope"], **SMALL)
    assert not (tmp_path / "x").exists()
