"""A run folder checked and turned into a row computed from its samples only."""

from __future__ import annotations

import json

import pytest
from test_readers import HASH, write_run, write_submission

from persona_bench.errors import UserError
from persona_bench.leaderboards.schema import MANIFEST, TRAIN_RECORD, check_row
from persona_bench.leaderboards.store import DEFAULT_SCORING
from persona_bench.leaderboards.submission import build_row, load_submission, recipe


def _edit_json(path, **changes) -> None:
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))


def test_row_holds_everything_the_board_shows(tmp_path):
    sub = load_submission(write_submission(tmp_path / "run", name="tiny"))
    row, blobs = build_row(sub, "tiny (full)", DEFAULT_SCORING)
    check_row(row, "row")
    assert row["name"] == "tiny (full)" and row["direction"] == "img2text"
    assert row["base_model"] == {"id": "org/tiny-vlm", "revision": "r-base"}
    assert row["param_count"] == {"total": 5_000_000, "trainable": 4_000_000}
    assert row["training"]["recipe"] == "full:language_model"
    assert row["dataset"]["content_hash"] == HASH
    assert row["harness"] == {"name": "lmms-eval", "version": "0.7.3"}
    assert set(row["task_versions"]) == {f"persona_img2text_{r}" for r in
                                         ("source", "target", "seen")}
    metrics = row["score"]["groups"]["all"]["metrics"]
    assert {"source", "target", "gap", "transfer_ratio", "likelihood_target",
            "base_target", "adjusted_ratio"} <= set(metrics)
    assert row["commands"][0].startswith("persona-bench train")
    assert row["scoring"]["chance_source"] == "samples"
    stored = [n for k in ("run", "base") for kind in ("results", "samples", "likelihood")
              for n in row["files"][k][kind].values()]
    assert set(stored) | {row["files"]["manifest"], row["files"]["train_record"]} == set(blobs)
    again, _ = build_row(load_submission(tmp_path / "run" / MANIFEST), "tiny (full)",
                         DEFAULT_SCORING)
    assert (again["row_id"], again["fingerprint"]) == (row["row_id"], row["fingerprint"])


def test_recipe_id_tracks_every_training_setting(tmp_path):
    record = json.loads((write_submission(tmp_path / "a") / "model" / TRAIN_RECORD)
                        .read_text())
    other = json.loads(json.dumps(record))
    other["hyperparameters"]["learning_rate"] = 2e-3
    assert recipe(record)["recipe_id"] != recipe(other)["recipe_id"]
    assert recipe(record)["recipe"] == recipe(other)["recipe"] == "full:language_model"
    assert recipe(None)["method"] == "none"


def test_bad_submissions(tmp_path):
    with pytest.raises(UserError, match="no run_manifest.json"):
        load_submission(tmp_path)
    run = write_submission(tmp_path / "run")
    with pytest.raises(UserError, match="is a img2text run, not text2img"):
        load_submission(run, "text2img")
    with pytest.raises(UserError, match="unknown direction"):
        load_submission(run, "both")

    record = run / "model" / TRAIN_RECORD
    _edit_json(record, dataset_config="text2img", source_modality="text")
    with pytest.raises(UserError, match="trained for text2img"):
        load_submission(run)


def test_missing_half_and_partial_runs(tmp_path):
    run = write_submission(tmp_path / "half", base=False,
                           accuracy={"source": 0.9, "seen": 1.0})
    with pytest.raises(UserError, match="lack the target half"):
        load_submission(run)
    run = write_submission(tmp_path / "limited", base=False)
    results = next((run / "eval").rglob("*_results.json"))
    meta = json.loads(results.read_text())
    meta["config"]["limit"] = 5
    results.write_text(json.dumps(meta))
    with pytest.raises(UserError, match="--limit"):
        load_submission(run)


def test_samples_from_another_dataset_version(tmp_path):
    run = write_submission(tmp_path / "run", base=False)
    write_run(run / "eval", model="runs/tiny/model", dataset_hash="sha256:" + "ef" * 32,
              date="20261130_000000")  # a newer evaluation on another dataset version
    with pytest.raises(UserError, match="another dataset version"):
        load_submission(run)


def test_lm_eval_results_submitted_as_lmms_eval(tmp_path):
    run = write_submission(tmp_path / "run", base=False)
    for path in (run / "eval").rglob("*"):
        if path.is_file():
            path.unlink()
    write_run(run / "eval", harness="lm-eval")
    with pytest.raises(UserError, match="holds lm-eval output"):
        load_submission(run)
