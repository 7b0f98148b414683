import pytest
from PIL import Image

from persona_bench.errors import UserError
from persona_bench.persona_gen.inspect_data import contact_sheet, load_split, summary


def test_summary_counts_balance_and_samples(dataset_dir):
    text = summary(dataset_dir, ["img2text", "personas"], None, samples=1)
    assert "== img2text/train: 112 rows, 112 images decode" in text
    assert "max share  12.5%" in text and "e.g. [p0000-" in text
    assert "== personas/train: 8 rows" in text


def test_contact_sheet_png(dataset_dir, tmp_path):
    out = contact_sheet(dataset_dir, tmp_path / "sheet.png", count=8, columns=4, tile=128)
    with Image.open(out) as img:
        assert img.width == 4 * 192 and img.height > 2 * 128


@pytest.mark.parametrize("config, split, message", [
    ("imgtotext", "train", "unknown config"), ("img2text", "validation", "has no split"),
])
def test_wrong_config_or_split(dataset_dir, config, split, message):
    with pytest.raises(UserError, match=message):
        load_split(dataset_dir, config, split)


def reseal(folder):
    """Re-name shards after their bytes and re-hash the card, as a careless tool would:
    the folder then passes `verify_dataset` although its bytes were changed."""
    import hashlib

    import yaml

    from persona_bench.persona_gen.publish import card_layout, content_hash, read_card

    front = read_card(folder)
    layout = card_layout(front, "card")
    for entry in front["configs"]:
        for item in entry["data_files"]:
            renamed = []
            for rel in item["path"]:
                path = folder / rel
                digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
                new = path.with_name(path.name.rsplit("-", 1)[0] + f"-{digest}.parquet")
                path.rename(new)
                renamed.append(new.relative_to(folder).as_posix())
            item["path"] = renamed
            layout[entry["config_name"]][item["split"]] = renamed
    front["persona_bench"]["content_hash"] = content_hash(folder, layout)
    body = (folder / "README.md").read_text().split("---", 2)[2]
    (folder / "README.md").write_text("---\n" + yaml.safe_dump(front, sort_keys=False) + "---"
                                      + body)


def test_inspect_reports_the_row_whose_image_does_not_decode(dataset_dir, tmp_path, capsys):
    import shutil

    from datasets import Dataset

    from persona_bench.cli import main
    from persona_bench.persona_gen.schema import QA_FEATURES

    copy = shutil.copytree(dataset_dir, tmp_path / "copy")
    shard = next(copy.glob("img2text/test_source-*.parquet"))
    rows = Dataset.from_parquet(str(shard)).to_list()
    rows[3]["images"] = [{"bytes": b"\x89PNG\r\n\x1a\n truncated", "path": None}]
    Dataset.from_list(rows, features=QA_FEATURES).to_parquet(str(shard))
    reseal(copy)
    before = {p: p.read_bytes() for p in copy.rglob("*") if p.is_file()}
    assert main(["inspect", str(copy), "--config", "img2text"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    err = err.strip().splitlines()[-1]  # after the progress bars
    assert "img2text/test_source row 3 (p0000-" in err and "does not decode" in err
    assert {p: p.read_bytes() for p in copy.rglob("*") if p.is_file()} == before


def test_inspect_of_a_truncated_shard_is_one_line(dataset_dir, tmp_path, capsys):
    import shutil

    from persona_bench.cli import main

    copy = shutil.copytree(dataset_dir, tmp_path / "copy")
    shard = next(copy.glob("img2text/seen-*.parquet"))
    shard.write_bytes(shard.read_bytes()[: shard.stat().st_size // 2])
    assert main(["inspect", str(copy)]) == 2
    err = capsys.readouterr().err
    assert "do not match the card's content hash" in err and err.count("\n") == 1
    reseal(copy)  # a truncated file that the card was re-hashed for
    assert main(["inspect", str(copy)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    err = err.strip().splitlines()[-1]
    assert "img2text/seen-00000-of-00001-" in err and "not a readable Parquet file" in err, err
