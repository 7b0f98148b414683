"""`persona-bench leaderboard ...` end to end through the project's CLI dispatcher."""

from __future__ import annotations

import json

import pytest
from test_readers import write_run, write_submission

from persona_bench.cli import main


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["leaderboard", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def test_score_command(tmp_path, capsys):
    out = write_run(tmp_path / "eval", likelihood=True)
    code, text, _ = _run(capsys, "score", out, "--json", tmp_path / "score.json")
    assert code == 0 and "gap ↓" in text and "img2text" in text
    assert json.loads((tmp_path / "score.json").read_text())["metric"] == "exact"
    code, _, err = _run(capsys, "score", out, "--harness", "lm-eval")
    assert code == 2 and "holds lmms-eval output" in err


def test_add_show_render_verify(tmp_path, capsys):
    board = tmp_path / "board"
    for i, direction in enumerate(("img2text", "text2img")):
        run = write_submission(tmp_path / f"run{i}", seed=i, direction=direction)
        code, text, _ = _run(capsys, "add", run, "--board", board, "--name", f"model {i}")
        assert code == 0 and text.startswith("added row")
    code, text, _ = _run(capsys, "add", tmp_path / "run0", "--board", board, "--name", "model 0")
    assert code == 0 and "already on the board" in text
    code, text, _ = _run(capsys, "show", "--board", board, "--sort", "gap")
    assert code == 0 and "model 0" in text and "model 1" in text and "gap ↓" in text
    code, text, _ = _run(capsys, "show", "--board", board, "--direction", "text2img", "--json")
    assert [json.loads(line)["name"] for line in text.splitlines()] == ["model 1"]
    code, _, err = _run(capsys, "show", "--board", board, "--sort", "speed")
    assert code == 2 and "sort by one of" in err
    code, text, _ = _run(capsys, "render", "--board", board, "--out", tmp_path / "site")
    assert code == 0
    assert {p.name for p in (tmp_path / "site").iterdir()} == {
        "index.html", "leaderboard.md", "scatter.png", "gap.png", "per_fact.png"}
    code, text, _ = _run(capsys, "verify", "--board", board)
    assert code == 0 and "2 rows checked, 0 problems" in text


def test_add_refusals_exit_2(tmp_path, capsys):
    run = write_submission(tmp_path / "run")
    code, _, err = _run(capsys, "add", run, "--board", tmp_path / "b", "--direction", "up")
    assert code == 2 and "unknown direction 'up'" in err
    code, _, err = _run(capsys, "add", tmp_path, "--board", tmp_path / "b")
    assert code == 2 and "no run_manifest.json" in err
    code, _, err = _run(capsys, "add", run, "--board", tmp_path / "b", "--dataset", tmp_path)
    assert code == 2 and "README.md" in err  # not a dataset folder
    assert not (tmp_path / "b" / "rows.jsonl").exists()


def test_show_empty_board_and_verify_failures(tmp_path, capsys):
    code, text, _ = _run(capsys, "show", "--board", tmp_path / "empty")
    assert code == 0 and "no rows yet" in text
    board = tmp_path / "board"
    _run(capsys, "add", write_submission(tmp_path / "run"), "--board", board)
    rows = board / "rows.jsonl"
    rows.write_text(rows.read_text().replace('"name": "runs/tiny/model"', '"name": "renamed"'))
    code, _, err = _run(capsys, "verify", "--board", board)
    assert code == 1 and "row_id does not match" in err


@pytest.mark.parametrize("argv", [["--help"], ["add", "--help"]])
def test_help(capsys, argv):
    with pytest.raises(SystemExit) as exit_info:
        main(["leaderboard", *argv])
    assert exit_info.value.code == 0 and "leaderboard" in capsys.readouterr().out


@pytest.mark.parametrize("command", ["add", "render"])
def test_read_only_board_or_site_is_one_line(tmp_path, capsys, monkeypatch, command):
    """Simulated (tests may run as root, for whom chmod does not make a folder read-only)."""
    import errno

    import persona_bench.atomic

    board = tmp_path / "board"
    _run(capsys, "add", write_submission(tmp_path / "run"), "--board", board)
    before = {p: p.read_bytes() for p in board.rglob("*") if p.is_file()}

    def read_only(*args, dir=None, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", str(dir))

    monkeypatch.setattr(persona_bench.atomic.tempfile, "mkstemp", read_only)
    argv = (["add", write_submission(tmp_path / "run2", seed=3), "--board", board]
            if command == "add" else ["render", "--board", board, "--out", tmp_path / "site"])
    code, _, err = _run(capsys, *argv)
    assert code == 2 and "read-only: choose a writable folder" in err and err.count("\n") == 1
    assert "Traceback" not in err
    assert {p: p.read_bytes() for p in board.rglob("*") if p.is_file()} == before


def test_render_out_under_a_file(tmp_path, capsys):
    board = tmp_path / "board"
    _run(capsys, "add", write_submission(tmp_path / "run"), "--board", board)
    (tmp_path / "file").write_text("x")
    code, _, err = _run(capsys, "render", "--board", board, "--out", tmp_path / "file" / "site")
    assert code == 2 and "is a file, not a folder" in err and err.count("\n") == 1


def test_negative_resamples_is_one_line(tmp_path, capsys):
    code, _, err = _run(capsys, "score", write_run(tmp_path / "eval"), "--resamples", "-5")
    assert code == 2 and "--resamples must be at least 1, got -5" in err
