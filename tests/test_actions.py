"""The board's typed operations: what the CLI, the pipeline and `experiment` call."""

from __future__ import annotations

from test_readers import write_submission

from persona_bench.leaderboards.actions import add_run, render_site
from persona_bench.leaderboards.store import Board


def test_add_run_is_idempotent_and_render_site_writes_the_page(tmp_path):
    run = write_submission(tmp_path / "run", name="alpha", seed=0, direction="img2text",
                           method="full", accuracy={"source": 0.9, "target": 0.4, "seen": 1.0})
    status, row = add_run(run, tmp_path / "board")
    assert status == "added" and row["track"] == "transfer"
    assert add_run(run, tmp_path / "board")[0] == "unchanged"
    assert [r["row_id"] for r in Board(tmp_path / "board").rows()] == [row["row_id"]]
    out, rows, plots = render_site(tmp_path / "board", tmp_path / "site")
    assert (rows, plots > 0) == (1, True)
    assert "## Transfer" in (out / "leaderboard.md").read_text()
    assert 'id="tab-leaderboard"' in (out / "index.html").read_text()
