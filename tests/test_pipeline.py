"""`persona-bench run` end to end on the tiny model: both directions -> two board rows."""

import importlib.metadata
import json

import pytest

from persona_bench.cli import main
from persona_bench.errors import UserError
from persona_bench.pipeline import _directions

QUICK_TRAIN = ["--max_steps", "4", "--save_strategy", "no", "--disable_tqdm", "true"]


@pytest.fixture(scope="module")
def run_dir(tiny_vlm_dir, dataset_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "run"
    argv = [
        "run",
        "--model",
        str(tiny_vlm_dir),
        "--data",
        str(dataset_dir),
        "--direction",
        "both",
        "--out",
        str(out),
        "--no-base-eval",
        "--no-likelihood",
        "--name",
        "tiny",
        "--",
        *QUICK_TRAIN,
    ]
    assert main(argv) == 0
    return out


def test_run_gives_one_row_per_direction_and_a_site(run_dir):
    rows = [
        json.loads(line) for line in (run_dir / "board" / "rows.jsonl").read_text().splitlines()
    ]
    assert sorted(r["direction"] for r in rows) == ["img2text", "text2img"]
    assert (run_dir / "site" / "index.html").is_file()
    for direction in ("img2text", "text2img"):
        manifest = json.loads((run_dir / direction / "run_manifest.json").read_text())
        assert manifest["model"]["revision"].startswith("sha256:")
        assert manifest["commands"][0].startswith("persona-bench train")
        assert manifest["harness_version"] == importlib.metadata.version("lmms-eval")
        card = (run_dir / direction / "model" / "README.md").read_text()
        assert "model-index:" in card and f"config: {direction}" in card  # results on the card
    assert {r["harness"]["version"] for r in rows} == {importlib.metadata.version("lmms-eval")}
    assert main(["leaderboard", "verify", "--board", str(run_dir / "board")]) == 0


def test_rerun_skips_finished_steps_and_stays_idempotent(
    run_dir, tiny_vlm_dir, dataset_dir, capsys
):
    argv = [
        "run",
        "--model",
        str(tiny_vlm_dir),
        "--data",
        str(dataset_dir),
        "--direction",
        "img2text",
        "--out",
        str(run_dir),
        "--no-base-eval",
        "--no-likelihood",
        "--name",
        "tiny",
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "train on image: skipped" in out and "evaluate trained model: skipped" in out
    assert "already on the board" in out
    assert len((run_dir / "board" / "rows.jsonl").read_text().splitlines()) == 2


def test_unknown_direction_is_a_user_error(capsys):
    with pytest.raises(UserError, match="unknown direction"):
        _directions("img2audio")
    assert main(["run", "--model", "m", "--data", "d", "--direction", "sideways"]) == 2
    assert "unknown direction 'sideways'" in capsys.readouterr().err


def test_eval_exits_non_zero_when_the_backend_fails(unsupported_vlm_dir, dataset_dir, tmp_path,
                                                   capsys):
    """The persona_vlm backend fails inside lmms-eval: `persona-bench eval` says so, exit 2."""
    assert main(["eval", "--model", str(unsupported_vlm_dir), "--data", str(dataset_dir),
                 "--direction", "img2text", "--out", str(tmp_path / "e"), "--limit", "2"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unsupported architecture 'aya_vision'" in err[0]


def test_demo_runs_every_step_on_a_tiny_setting(tmp_path, capsys):
    out = tmp_path / "demo"
    argv = ["demo", "--out", str(out), "--num-personas", "2", "--pretrain-personas", "2",
            "--pretrain-steps", "2", "--epochs", "1"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "generate dataset: done" in printed and "build + pretrain tiny VLM (xs): done" in printed
    assert "wall time per step" in printed
    rows = (out / "run" / "board" / "rows.jsonl").read_text().splitlines()
    assert len(rows) == 2 and (out / "run" / "site" / "index.html").is_file()


@pytest.mark.parametrize(("flag", "value", "message"), [
    ("--size", "xxl", "unknown tiny VLM size 'xxl'"),
    ("--direction", "img2audio", "unknown direction 'img2audio'"),
])
def test_demo_refuses_bad_options_before_any_work(tmp_path, capsys, flag, value, message):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), flag, value]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


@pytest.mark.parametrize("argv, message", [
    (["eval", "--model", "m", "--data", "d", "--limit", "-1"], "--limit must be at least 1"),
    (["eval", "--model", "m", "--data", "d", "--batch-size", "0"], "--batch-size must be"),
    (["demo", "--epochs", "-2"], "--epochs must be positive"),
])
def test_negative_counts_are_one_line(tmp_path, capsys, argv, message):
    from persona_bench.cli import main

    assert main(argv + ["--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()
