import pytest
from PIL import Image

from persona_bench.errors import UserError
from persona_gen.inspect_data import contact_sheet, load_split, summary


def test_summary_counts_balance_and_samples(dataset_dir):
    text = summary(dataset_dir, ["img2text", "personas"], None, samples=1)
    assert "== img2text/train: 112 rows" in text
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
