"""`persona-bench experiment unlearn` end to end on the tiny model: the retain-only reference,
the unlearned model, every half through lmms-eval + likelihood, the table, the plot, the
results and an unlearning-track board row recomputed from the samples."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from persona_bench.cli import main
from persona_bench.contracts import MODALITIES

UNLEARN = ("--max_steps 6 --learning_rate 1e-3 --per_device_train_batch_size 4 "
           "--save_strategy no --disable_tqdm true --report_to none")
RETRAIN = "--num_train_epochs 3 --save_strategy no --disable_tqdm true --report_to none"


@pytest.fixture(scope="module")
def unlearned(unlearn_vlm_dir: Path, experiments_data_dir: Path,
              tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("experiment") / "unlearn"
    assert main(["experiment", "unlearn", "--model", str(unlearn_vlm_dir),
                 "--data", str(experiments_data_dir), "--method", "grad_diff",
                 "--forget", "05", "--forget-modality", "image", "--out", str(out),
                 "--unlearn-args", UNLEARN, "--train-args", RETRAIN, "--curve-points", "2",
                 "--board", str(out / "board")]) == 0
    return out


def _models(out: Path) -> dict:
    return json.loads((out / "results.json").read_text())["seeds"][0]["models"]


def test_the_forgotten_modality_forgets(unlearned):
    models = _models(unlearned)
    before, after = models["before"]["metrics"], models["unlearned"]["metrics"]
    assert after["likelihood_forget_image"]["value"] < before["likelihood_forget_image"]["value"]
    assert after["forgetting_image"]["value"] == pytest.approx(
        before["forget_image"]["value"] - after["forget_image"]["value"])
    assert set(models) == {"before", "retain", "unlearned"}


def test_every_reported_number_is_in_range(unlearned):
    results = json.loads((unlearned / "results.json").read_text())
    entry = results["seeds"][0]
    for model in entry["models"].values():
        assert 0 < model["chance"] < 1 and 0 < model["likelihood_chance"] < 1
        for name, v in model["metrics"].items():
            low = -1 if any(k in name for k in ("forgetting", "drop", "gap")) else 0
            assert low <= v["low"] <= v["value"] <= v["high"] <= 1, name
    for m in MODALITIES:
        quality = entry["forget_quality"][m]
        assert 0 <= quality["p_value"] <= 1 and quality["n"] > 0
    curve = entry["curve"]
    assert [p["step"] for p in curve] == [0, 3, 6]
    assert curve[0]["forget_image"] == pytest.approx(curve[0]["forget_image"])
    assert all(0 <= p[k] <= 1 for p in curve for k in p if k != "step")
    assert results["forget_modality"] == "image" and results["retain_split"] == "retain95"


def test_table_plot_and_board(unlearned, experiments_data_dir, capsys):
    table = (unlearned / "table.md").read_text()
    assert "| before | 0 |" in table and "| unlearned | 0 |" in table and "forget quality" in table
    assert (unlearned / "plot.png").read_bytes()[:4] == b"\x89PNG"
    board = unlearned / "board"
    assert main(["leaderboard", "verify", "--board", str(board)]) == 0
    assert main(["leaderboard", "show", "--board", str(board)]) == 0
    shown = capsys.readouterr().out
    assert "Unlearning track" in shown and "forget image ↓" in shown
    row = json.loads((board / "rows.jsonl").read_text().splitlines()[0])
    assert row["track"] == "unlearning" and row["direction"] == "unlearn05"


@pytest.mark.parametrize(("extra", "expected"), [
    (["--method", "grad_diff", "--forget", "03"], "unknown --forget '03'; the unlearn config "
                                                   "has forget sets 01, 05, 10"),
    ([], "needs --method NAME"),
    (["--method", "cagul", "--forget-modality", "text"], "cagul acts on image inputs only"),
])
def test_bad_input_is_one_line(extra, expected, experiments_data_dir, tmp_path, capsys):
    assert main(["experiment", "unlearn", "--model", "m", "--data", str(experiments_data_dir),
                 "--out", str(tmp_path / "x"), *extra]) == 2
    err = capsys.readouterr().err
    assert expected in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()


def test_a_dataset_without_the_unlearn_config(dataset_dir, tmp_path, capsys):
    assert main(["experiment", "unlearn", "--model", "m", "--data", str(dataset_dir),
                 "--method", "npo", "--out", str(tmp_path / "x")]) == 2
    assert "--experiments transfer unlearn" in capsys.readouterr().err
