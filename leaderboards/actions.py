"""The board's operations as typed functions: what `persona-bench leaderboard add|render`,
the pipeline and `persona-bench experiment` call (the CLI only parses arguments)."""

from __future__ import annotations

from pathlib import Path

from persona_bench.atomic import write_text_atomic
from persona_bench.leaderboards.columns import sort_rows
from persona_bench.leaderboards.schema import Row
from persona_bench.leaderboards.store import Board

# How an `add_run` status reads in a log line (`... row ID (name, direction) in BOARD`).
STATUS_WORDS = {"added": "added", "replaced": "replaced", "unchanged": "already on the board:"}


def add_run(run: str | Path, board: str | Path, *, dataset: str | Path | None = None,
            name: str | None = None, replace: bool = False, direction: str | None = None
            ) -> tuple[str, Row]:
    """Validate the run folder, recompute its row from the samples and add it; returns
    ("added" | "replaced" | "unchanged", row). Chance levels come from `dataset` if given."""
    from persona_bench.leaderboards.scoring import check_dataset
    from persona_bench.leaderboards.submission import load_submission

    sub = load_submission(run, direction)
    chance, source = None, "given"
    if dataset is not None:
        _, chance = check_dataset(dataset, [sub.run, *([sub.base] if sub.base else [])])
        source = "dataset"
    return Board(board).add(sub, name, replace, chance, source)


def render_site(board: str | Path, out: str | Path, sort: str = "gap") -> tuple[Path, int, int]:
    """index.html, leaderboard.md and the PNG plots of `board` in `out`; returns
    (out, rows, plots)."""
    from persona_bench.leaderboards.plots import write_plots
    from persona_bench.leaderboards.render_html import render_html
    from persona_bench.leaderboards.render_markdown import render_markdown

    store, out = Board(board), Path(out)
    rows, meta = sort_rows(store.rows(), sort), store.meta()
    out.mkdir(parents=True, exist_ok=True)
    plots = write_plots(rows, out)
    write_text_atomic(out / "leaderboard.md", render_markdown(rows, meta, plots))
    write_text_atomic(out / "index.html", render_html(rows, meta, plots))
    return out, len(rows), len(plots)
