"""Publishing a board: offline is refused; online uploads only the board's files."""

from __future__ import annotations

import pytest
from test_readers import make_board

from leaderboards.hub import PATTERNS, push_board
from leaderboards.store import Board
from persona_bench.errors import UserError


def test_offline_and_empty_boards_are_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(UserError, match="HF_HUB_OFFLINE"):
        push_board(Board(tmp_path), "me/board")
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    with pytest.raises(UserError, match="no board.json"):
        push_board(Board(tmp_path), "me/board")


def test_push_uploads_the_board_folder(tmp_path, monkeypatch):
    board = make_board(tmp_path, ("one",))
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
    assert calls["upload"]["allow_patterns"] == PATTERNS
