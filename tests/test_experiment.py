"""`persona-bench experiment`: every arm runs, resumes, and writes results, table and plot."""

from __future__ import annotations

import json
import math

import pytest

from persona_bench.cli import main
from persona_bench.experiment import PLOT, RESULTS, TABLE

TRAIN = "--max_steps 4 --save_strategy no --disable_tqdm true --logging_steps 100"


def _in_range(interval):
    return interval is None or interval["value"] is None or (
        -1 <= interval["value"] <= 1 and interval["low"] <= interval["value"] <= interval["high"])


@pytest.fixture(scope="module")
def multihop_run(tiny_vlm_dir, experiments_data_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("experiment") / "multihop"
    argv = ["experiment", "multihop", "--model", str(tiny_vlm_dir), "--data",
            str(experiments_data_dir), "--out", str(out), "--configs", "multihop_image",
            "--batch-size", "8", "--train-args", TRAIN,
            "--board", str(out.parent / "board")]
    assert main(argv) == 0
    return out, argv


def test_multihop_writes_every_number_with_its_arm_and_provenance(multihop_run):
    out, _ = multihop_run
    results = json.loads((out / RESULTS).read_text())
    assert results["experiment"] == "multihop" and results["seeds"] == 1
    assert results["dataset"]["content_hash"].startswith("sha256:")
    assert "persona-bench experiment multihop" in results["command"]
    (arm,) = results["arms"]
    assert (arm["config"], arm["seed"], arm["trained"]) == ("multihop_image", 0, "image")
    assert set(arm["tasks"]) >= {"source", "target", "hop1_source", "hop1_target", "hop2",
                                 "base_source", "likelihood_source"}
    for group in arm["groups"].values():
        assert 0 < group["chance"] <= 1
        assert all(_in_range(v) for v in group["metrics"].values())
    headline = arm["headline"]
    assert set(headline) == {"source", "target", "gap", "expected_source", "expected_target",
                             "hop1_source", "hop1_target", "hop2"}
    product = headline["hop1_source"]["value"] * headline["hop2"]["value"]
    assert math.isclose(headline["expected_source"]["value"], product)
    table = (out / TABLE).read_text()
    assert "| multihop_image | 0 |" in table and "chance" in table
    assert (out / PLOT).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_arms_join_the_board_in_their_track_and_verify(multihop_run, tmp_path):
    from persona_bench.leaderboards.store import Board

    out, _ = multihop_run
    board = out.parent / "board"
    (row,) = Board(board).rows()
    assert (row["track"], row["direction"]) == ("multihop", "multihop_image")
    assert "[multihop_image, seed 0]" in row["name"]
    assert main(["leaderboard", "verify", "--board", str(board)]) == 0
    assert main(["leaderboard", "render", "--board", str(board), "--out", str(tmp_path)]) == 0
    page = (tmp_path / "index.html").read_text()
    assert 'id="tab-track-multihop"' in page and 'id="board-multihop"' in page
    assert "## Multi-hop" in (tmp_path / "leaderboard.md").read_text()


def test_a_second_run_resumes_without_redoing_a_step(multihop_run, capsys):
    out, argv = multihop_run
    before = (out / "seed0" / "multihop_image" / "model" / "persona_train.json").stat().st_mtime
    assert main(argv) == 0
    log = capsys.readouterr().out
    assert log.count("skipped, output exists") == 3  # base eval, train, evaluate
    after = (out / "seed0" / "multihop_image" / "model" / "persona_train.json").stat().st_mtime
    assert before == after


def test_transfer_runs_through_the_same_command_from_a_first_seed(tiny_vlm_dir, dataset_dir,
                                                                  tmp_path):
    out = tmp_path / "transfer"
    assert main(["experiment", "transfer", "--model", str(tiny_vlm_dir), "--data",
                 str(dataset_dir), "--out", str(out), "--configs", "text2img", "--limit", "4",
                 "--first-seed", "2", "--no-base-eval", "--no-likelihood",
                 "--train-args", TRAIN]) == 0
    (arm,) = json.loads((out / RESULTS).read_text())["arms"]
    assert arm["config"] == "text2img" and set(arm["tasks"]) == {"source", "target", "seen"}
    assert arm["seed"] == 2  # the seed a model pretrained with seed 2 was given by the demo
    record = json.loads((out / "seed2" / "text2img" / "model" / "persona_train.json").read_text())
    assert record["seed"] == 2
    assert all(_in_range(v) for v in arm["headline"].values())


@pytest.mark.parametrize(("argv", "message"), [
    (["experiment", "nope"], "unknown experiment 'nope'; registered: transfer, multihop"),
    (["experiment", "multihop", "--configs", "img2text"],
     "multihop has no config or arm 'img2text'; choose from multihop_image, multihop_text"),
    (["experiment", "multihop"], "no 'multihop_image' config"),
])
def test_bad_input_is_one_line_and_writes_nothing(argv, message, dataset_dir, tiny_vlm_dir,
                                                  tmp_path, capsys):
    out = tmp_path / "never"
    assert main([*argv, "--model", str(tiny_vlm_dir), "--data", str(dataset_dir),
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_augment_mixes_rows_in_and_reports_the_change_against_none(tiny_vlm_dir,
                                                                   experiments_data_dir,
                                                                   tmp_path):
    out = tmp_path / "augment"
    assert main(["experiment", "augment", "--model", str(tiny_vlm_dir), "--data",
                 str(experiments_data_dir), "--out", str(out), "--configs", "text2img+none",
                 "text2img+augment_id", "--limit", "4", "--no-base-eval", "--no-likelihood",
                 "--augment-ratio", "0.25", "--train-args", TRAIN]) == 0
    results = json.loads((out / RESULTS).read_text())
    none, mixed = results["arms"]
    assert (none["arm"], none["augment"], mixed["augment"]) == ("text2img+none", None,
                                                                 "augment_id")
    change = mixed["change_vs_none"]
    assert change["against"] == "text2img+none" and _in_range(change["gap"])
    assert math.isclose(change["gap"]["value"], mixed["headline"]["gap"]["value"]
                        - none["headline"]["gap"]["value"], abs_tol=1e-9)
    record = json.loads((out / "seed0" / "text2img+augment_id" / "model"
                         / "persona_train.json").read_text())
    own = json.loads((out / "seed0" / "text2img+none" / "model" / "persona_train.json")
                     .read_text())["num_train_rows"]
    assert record["augment"] == {"config": "augment_id", "ratio": 0.25, "rows": round(own / 4)}
    assert record["num_train_rows"] == own + round(own / 4)
    assert "Augmentation mixed in: config `augment_id`" in (
        out / "seed0" / "text2img+augment_id" / "model" / "README.md").read_text()
    assert "gap change" in (out / TABLE).read_text()


def test_a_model_trained_for_another_arm_is_refused(tiny_vlm_dir, experiments_data_dir,
                                                   tmp_path, capsys):
    model = tmp_path / "e" / "seed0" / "img2text+augment_id" / "model"
    model.mkdir(parents=True)
    (model / "persona_train.json").write_text(json.dumps({"dataset_config": "img2text",
                                                          "augment": None}))
    assert main(["experiment", "augment", "--model", str(tiny_vlm_dir), "--data",
                 str(experiments_data_dir), "--out", str(tmp_path / "e"), "--configs",
                 "img2text+augment_id", "--no-base-eval"]) == 2
    err = capsys.readouterr().err
    assert "was trained on img2text with augment None, not img2text with augment_id" in err


@pytest.mark.parametrize(("extra", "message"), [
    (["--augment-ratio", "0"], "--augment-ratio must be in (0, 1], got 0.0"),
    (["--configs", "img2text+augment_id"], "no 'augment_id' config"),
])
def test_augment_bad_input(extra, message, tiny_vlm_dir, dataset_dir, tmp_path, capsys):
    assert main(["experiment", "augment", "--model", str(tiny_vlm_dir), "--data",
                 str(dataset_dir), "--out", str(tmp_path / "x"), *extra]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
