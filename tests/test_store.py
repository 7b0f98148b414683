"""The board: idempotent adds, refused conflicts, concurrent writers, crashes, verify."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_readers import make_board, write_submission

from persona_bench.errors import UserError
from persona_bench.leaderboards.store import BLOBS, META_NAME, ROWS_NAME, Board
from persona_bench.leaderboards.submission import load_submission

REPO = Path(__file__).resolve().parents[1]


def _add(board: Board, run: Path, name: str = "tiny", **kwargs):
    return board.add(load_submission(run), name, **kwargs)


def test_add_is_idempotent_and_refuses_conflicts(tmp_path):
    board = Board(tmp_path / "board")
    run = write_submission(tmp_path / "run")
    status, row = _add(board, run)
    assert status == "added" and board.rows() == [row]
    before = (board.root / ROWS_NAME).read_bytes()
    assert _add(board, run)[0] == "unchanged"
    assert (board.root / ROWS_NAME).read_bytes() == before
    with pytest.raises(UserError, match="already on the board as row"):
        _add(board, run, "tiny again")  # same samples under another name
    rerun = write_submission(tmp_path / "rerun", accuracy={"source": 0.5, "target": 0.5})
    with pytest.raises(UserError, match="already on the board with other samples"):
        _add(board, rerun)  # same name, model revision, direction and recipe
    assert (board.root / ROWS_NAME).read_bytes() == before
    status, new = _add(board, rerun, replace=True)
    assert status == "replaced" and board.rows() == [new] and new["row_id"] == row["row_id"]
    assert _add(board, write_submission(tmp_path / "t2i", direction="text2img", seed=5))[0] == (
        "added")
    assert len(board.rows()) == 2 and board.verify() == []


def test_incompatible_submissions_are_refused(tmp_path):
    board = Board(tmp_path / "board")
    _add(board, write_submission(tmp_path / "run"))
    before = (board.root / ROWS_NAME).read_bytes()
    other = write_submission(tmp_path / "other", seed=1, dataset_hash="sha256:" + "cd" * 32)
    with pytest.raises(UserError, match="another dataset version"):
        _add(board, other, "other")
    newer = write_submission(tmp_path / "newer", seed=2, version="2.0")
    with pytest.raises(UserError, match="version 2.0 but the leaderboard uses 1.0"):
        _add(board, newer, "newer")
    assert (board.root / ROWS_NAME).read_bytes() == before


def test_corrupt_board_is_a_clear_error_and_untouched(tmp_path):
    board = Board(tmp_path / "board")
    _add(board, write_submission(tmp_path / "run"))
    rows = board.root / ROWS_NAME
    rows.write_text(rows.read_text() + '{"schema": "persona-bench/leaderb\n')
    damaged = rows.read_bytes()
    with pytest.raises(UserError, match="line 2 is corrupt"):
        _add(board, write_submission(tmp_path / "run2", seed=3), "second")
    assert rows.read_bytes() == damaged
    (board.root / META_NAME).write_text("{")
    with pytest.raises(UserError, match="board.json is corrupt"):
        board.meta()


def test_crash_mid_write_leaves_the_previous_board(tmp_path, monkeypatch):
    board = Board(tmp_path / "board")
    _add(board, write_submission(tmp_path / "run"))
    before = (board.root / ROWS_NAME).read_bytes()
    real_replace = os.replace

    def crash_on_rows(src, dst):
        if Path(dst).name == ROWS_NAME:
            raise OSError("disk full")
        real_replace(src, dst)

    monkeypatch.setattr("persona_bench.atomic.os.replace", crash_on_rows)
    with pytest.raises(OSError, match="disk full"):
        _add(board, write_submission(tmp_path / "run2", seed=3), "second")
    monkeypatch.undo()
    assert (board.root / ROWS_NAME).read_bytes() == before
    assert not [p for p in board.root.iterdir() if p.name.endswith(".tmp")]
    assert board.verify() == []  # orphan blobs are harmless


def test_verify_finds_altered_blobs_and_scores(tmp_path):
    board = make_board(tmp_path, ("a", "b"))
    assert board.verify() == []
    rows_path = board.root / ROWS_NAME
    rows = [json.loads(line) for line in rows_path.read_text().splitlines()]
    rows[0]["score"]["groups"]["all"]["metrics"]["target"]["value"] = 0.99
    rows_path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    problems = board.verify()
    assert len(problems) == 1 and "differ from the scores recomputed" in problems[0]
    blob = board.root / BLOBS / rows[1]["files"]["run"]["samples"][
        f"persona_{rows[1]['direction']}_target"]
    blob.write_text(blob.read_text().replace('"exact": true', '"exact": false', 1))
    assert any("altered" in p for p in board.verify())


def test_twenty_concurrent_adds_lose_nothing(tmp_path):
    runs = [write_submission(tmp_path / f"run{i}", name=f"m{i}", seed=i, base=False,
                             likelihood=False) for i in range(20)]
    board = tmp_path / "board"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    procs = [subprocess.Popen(
        [sys.executable, "-m", "persona_bench.cli", "leaderboard", "add", str(run),
         "--board", str(board), "--name", f"m{i}"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for i, run in enumerate(runs)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 20, outputs
    rows = Board(board).rows()
    assert sorted(r["name"] for r in rows) == sorted(f"m{i}" for i in range(20))
    assert len({r["row_id"] for r in rows}) == 20
    assert Board(board).verify() == []
