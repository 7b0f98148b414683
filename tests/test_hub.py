"""Publishing a board: offline is refused; online uploads only the board's files."""

from __future__ import annotations

import pytest
from test_readers import make_board

from persona_bench.errors import UserError
from persona_bench.leaderboards.hub import push_board
from persona_bench.leaderboards.store import Board


def test_offline_and_empty_boards_are_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(UserError, match="HF_HUB_OFFLINE"):
        push_board(Board(tmp_path), "me/board")
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    with pytest.raises(UserError, match="no board.json"):
        push_board(Board(tmp_path), "me/board")


def test_push_uploads_the_board_folder(tmp_path, monkeypatch):
    board = make_board(tmp_path, ("one",))
    (board.blobs / ".abc.json.1234.tmp").write_text("half a blob")  # an interrupted add
    (board.root / ".rows.jsonl.x.tmp").write_text("half a board")
    calls = {}

    class FakeApi:
        def create_repo(self, repo_id, **kwargs):
            calls["create"] = (repo_id, kwargs)

        def upload_folder(self, **kwargs):
            calls["upload"] = kwargs
            raise RuntimeError("no network")

    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr("huggingface_hub.HfApi", FakeApi)
    with pytest.raises(UserError, match="push to me/board failed"):
        push_board(board, "me/board")
    assert calls["create"] == ("me/board", {"repo_type": "dataset", "private": False,
                                            "exist_ok": True})
    assert calls["upload"]["folder_path"] == str(board.root)
    patterns = calls["upload"]["allow_patterns"]
    assert patterns[:2] == ["board.json", "rows.jsonl"]
    assert {p.removeprefix("blobs/") for p in patterns[2:]} == {
        p.name for p in board.blobs.iterdir() if not p.name.startswith(".")}
    assert not any(".tmp" in p or "*" in p for p in patterns)


def test_push_refuses_a_board_that_fails_verify(tmp_path, monkeypatch):
    board = make_board(tmp_path, ("one",))
    rows = board.root / "rows.jsonl"
    rows.write_text(rows.read_text().replace('"total": 5000000', '"total": 9000000'))
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    with pytest.raises(UserError, match="fails `leaderboard verify`"):
        push_board(board, "me/board")
