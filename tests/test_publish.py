import pytest
import yaml

from persona_bench.errors import UserError
from persona_bench.persona_gen.publish import (
    card_layout,
    content_hash,
    read_card,
    read_metadata,
    verify_dataset,
)


def test_card_declares_every_config_and_split(dataset_dir):
    front = yaml.safe_load((dataset_dir / "README.md").read_text().split("---")[1])
    declared = {c["config_name"]: [f["split"] for f in c["data_files"]] for c in front["configs"]}
    assert declared == {"img2text": ["train", "test_source", "test_target", "seen"],
                        "text2img": ["train", "test_source", "test_target", "seen"],
                        "pretrain": ["train"], "personas": ["train"],
                        "img2text_sft": ["train"], "text2img_sft": ["train"]}
    for files in front["configs"]:
        for entry in files["data_files"]:
            assert all((dataset_dir / rel).is_file() for rel in entry["path"])


def _layout(root):
    return card_layout(read_card(root), str(root))


def _snapshot(root):
    return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_shards_are_named_after_their_bytes(dataset_dir):
    import hashlib

    for path in dataset_dir.rglob("*.parquet"):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        assert path.stem.endswith(f"-{digest}")


def test_content_hash_covers_parquet_bytes(dataset_dir, tmp_path):
    import shutil

    copy = shutil.copytree(dataset_dir, tmp_path / "copy")
    assert content_hash(copy, _layout(copy)) == read_metadata(dataset_dir)["content_hash"]
    assert verify_dataset(copy) == read_metadata(dataset_dir)
    shard = next(copy.glob("img2text/seen-*.parquet"))
    shard.write_bytes(shard.read_bytes() + b"\0")
    assert content_hash(copy, _layout(copy)) != read_metadata(dataset_dir)["content_hash"]
    before = _snapshot(copy)
    with pytest.raises(UserError, match="do not match the card's content hash"):
        verify_dataset(copy)
    assert _snapshot(copy) == before


def test_card_pointing_a_split_at_another_splits_files_is_caught(dataset_dir, tmp_path):
    import shutil

    copy = shutil.copytree(dataset_dir, tmp_path / "copy")
    card = copy / "README.md"
    layout = _layout(copy)["img2text"]
    text = card.read_text()
    swapped = text.replace(layout["test_source"][0], "@@").replace(
        layout["test_target"][0], layout["test_source"][0]).replace("@@", layout["test_target"][0])
    card.write_text(swapped)
    with pytest.raises(UserError, match="not one of its own shards"):
        verify_dataset(copy)
    # the files' bytes swapped under unchanged names: the split -> bytes mapping is hashed
    card.write_text(text)
    source, target = (copy / layout[split][0] for split in ("test_source", "test_target"))
    source_bytes, target_bytes = source.read_bytes(), target.read_bytes()
    source.write_bytes(target_bytes)
    target.write_bytes(source_bytes)
    with pytest.raises(UserError, match="content hash"):
        verify_dataset(copy)


def test_invalid_card_is_one_line(dataset_dir, tmp_path):
    import shutil

    copy = shutil.copytree(dataset_dir, tmp_path / "copy")
    (copy / "README.md").write_text("---\nconfigs: [unclosed\n---\n")
    with pytest.raises(UserError, match="invalid YAML at line"):
        read_metadata(copy)


def test_read_metadata_errors(tmp_path):
    with pytest.raises(UserError, match="not found"):
        read_metadata(tmp_path / "missing")
    with pytest.raises(UserError, match="no README.md"):
        read_metadata(tmp_path)
    (tmp_path / "README.md").write_text("---\nlicense: mit\n---\n")
    with pytest.raises(UserError, match="not a persona-bench dataset"):
        read_metadata(tmp_path)


def test_read_metadata_from_hub_id_offline_is_a_clear_error():
    with pytest.raises(UserError, match="cannot read the dataset card"):
        read_metadata("persona-bench/does-not-exist")


def test_regenerated_folder_at_the_same_path_is_not_read_from_a_stale_cache(tmp_path):
    from datasets import load_dataset

    from persona_bench.persona_gen.generate import generate_dataset
    from persona_bench.persona_gen.publish import load_options

    small = dict(pretrain_personas=0, image_size=16, variants=2, workers=1, progress=False)
    data = generate_dataset(tmp_path / "data", num_personas=2, **small)
    assert len(load_dataset(str(data), "img2text", split="seen", **load_options(data))) == 14
    generate_dataset(data, num_personas=3, overwrite=True, **small)
    assert len(load_dataset(str(data), "img2text", split="seen", **load_options(data))) == 21


def test_plain_load_dataset_reads_the_folder_named_not_one_of_the_same_name(tmp_path,
                                                                            monkeypatch):
    """Two folders called `data` (the demo's and the Quickstart's) in one cache."""
    from datasets import load_dataset

    from persona_bench.persona_gen.generate import generate_dataset

    small = dict(pretrain_personas=0, image_size=16, variants=2, workers=1, progress=False)
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "cache"))
    generate_dataset(tmp_path / "a" / "data", num_personas=2, **small)
    generate_dataset(tmp_path / "b" / "data", num_personas=3, **small)
    seen = {}
    for where in ("a", "b"):
        monkeypatch.chdir(tmp_path / where)
        seen[where] = len(load_dataset("data", "img2text", split="seen",
                                       cache_dir=str(tmp_path / "cache")))
    assert seen == {"a": 14, "b": 21}
