import pytest
import yaml

from persona_bench.errors import UserError
from persona_gen.publish import content_hash, read_metadata


def test_card_declares_every_config_and_split(dataset_dir):
    front = yaml.safe_load((dataset_dir / "README.md").read_text().split("---")[1])
    declared = {c["config_name"]: [f["split"] for f in c["data_files"]] for c in front["configs"]}
    assert declared == {"img2text": ["train", "test_source", "test_target", "seen"],
                        "text2img": ["train", "test_source", "test_target", "seen"],
                        "pretrain": ["train"], "personas": ["train"],
                        "img2text_sft": ["train"], "text2img_sft": ["train"]}
    for files in front["configs"]:
        for entry in files["data_files"]:
            assert list(dataset_dir.glob(entry["path"]))


def test_content_hash_covers_parquet_bytes(dataset_dir, tmp_path):
    import shutil

    copy = shutil.copytree(dataset_dir, tmp_path / "copy")
    assert content_hash(copy) == read_metadata(dataset_dir)["content_hash"]
    shard = next(copy.glob("img2text/seen-*.parquet"))
    shard.write_bytes(shard.read_bytes() + b"\0")
    assert content_hash(copy) != read_metadata(dataset_dir)["content_hash"]


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

    from persona_gen.generate import generate_dataset
    from persona_gen.publish import load_options

    small = dict(pretrain_personas=0, image_size=16, variants=2, workers=1, progress=False)
    data = generate_dataset(tmp_path / "data", num_personas=2, **small)
    assert len(load_dataset(str(data), "img2text", split="seen", **load_options(data))) == 14
    generate_dataset(data, num_personas=3, overwrite=True, **small)
    assert len(load_dataset(str(data), "img2text", split="seen", **load_options(data))) == 21
