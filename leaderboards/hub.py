"""Publish a board folder as a Hugging Face dataset repository (a Space can render it)."""

from __future__ import annotations

import os

from persona_bench.errors import UserError
from persona_bench.leaderboards.store import BLOBS, META_NAME, ROWS_NAME, Board

PATTERNS = [META_NAME, ROWS_NAME]  # plus exactly the blobs that rows reference


def publish_patterns(board: Board) -> list[str]:
    """board.json, rows.jsonl and the referenced blobs: never a writer's leftover temp file."""
    return [*PATTERNS, *(f"{BLOBS}/{name}" for name in board.referenced_blobs())]


def push_board(board: Board, repo_id: str, private: bool = False) -> str:
    """Upload board.json, rows.jsonl and blobs/ to the dataset repo `repo_id`; its URL."""
    if os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes"):
        raise UserError("HF_HUB_OFFLINE is set: unset it to push the board to the Hub")
    if board.meta() is None:
        raise UserError(f"{board.root} has no board.json; add a row before pushing")
    problems = board.verify()  # refuse to publish a corrupt or hand-edited board
    if problems:
        raise UserError(f"the board fails `leaderboard verify` ({len(problems)} problems, e.g. "
                        f"{problems[0]}); fix it before pushing")
    patterns = publish_patterns(board)
    from huggingface_hub import HfApi

    api = HfApi()
    try:
        api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
        commit = api.upload_folder(repo_id=repo_id, repo_type="dataset",
                                   folder_path=str(board.root), allow_patterns=patterns,
                                   commit_message="Update persona-bench leaderboard")
    except Exception as err:  # noqa: BLE001 - any Hub failure is a user-facing error
        raise UserError(f"push to {repo_id} failed ({type(err).__name__}: {err}); check "
                        "`hf auth login` and the repo id") from None
    return str(getattr(commit, "commit_url", None) or f"https://huggingface.co/datasets/{repo_id}")
