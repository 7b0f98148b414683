"""The persona-bench leaderboard as a Hugging Face Space (Gradio, as Hub leaderboards are).

It renders a board folder, either local or a Hub dataset pushed with
``persona-bench leaderboard push --repo-id ORG/NAME``:

    PERSONA_BENCH_BOARD=ORG/NAME python leaderboards/space/app.py    # or a folder

Tabs: the leaderboard (main columns, every column on request, filter by direction, sort
by clicking a header), the plots, the metric definitions with their chance levels, and
how to submit. Every number comes from the stored rows (`persona_bench.leaderboards.store.Board`).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):  # `python leaderboards/space/app.py` and the Space runner
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import gradio as gr  # noqa: E402

from persona_bench.errors import UserError  # noqa: E402
from persona_bench.leaderboards.columns import (  # noqa: E402
    CHANCES,
    COLUMNS,
    DEFAULT_SORT,
    MAIN_COLUMNS,
    Column,
    sort_rows,
)
from persona_bench.leaderboards.store import Board  # noqa: E402

BOARD_ENV = "PERSONA_BENCH_BOARD"
TITLE = "persona-bench transfer-gap leaderboard"


def board_folder(source: str) -> Path:
    """A local board folder as is; anything else is a Hub dataset id, downloaded."""
    if Path(source).is_dir():
        return Path(source)
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(source, repo_type="dataset"))
    except Exception as err:  # noqa: BLE001 - any Hub failure is one line
        raise UserError(f"cannot read the board {source!r} ({type(err).__name__}); set "
                        f"{BOARD_ENV} to a board folder or the Hub dataset id it was pushed "
                        "to with `persona-bench leaderboard push`") from None


def header(col: Column) -> str:
    return col.header + col.arrow


def table(rows: list[dict], columns: tuple[Column, ...]) -> list[list[str]]:
    return [[col.text(row) for col in columns] for row in rows]


def metrics_markdown() -> str:
    lines = ["| column | definition | direction | chance level |", "|---|---|---|---|"]
    lines += [f"| {header(c)} | {c.definition} | {c.direction} | "
              f"{CHANCES[c.chance][1] if c.chance else '-'} |" for c in COLUMNS]
    return "\n".join(lines)


def intro(meta: dict | None, rows: list[dict]) -> str:
    if not meta:
        return "No rows yet."
    harness = ", ".join(sorted({f"{r['harness']['name']} {r['harness']['version']}"
                                for r in rows}))
    return (f"Dataset `{meta['dataset']['id']}` (`{meta['dataset']['content_hash'][:19]}`), "
            f"harness {harness}, metric: {meta['metric']} match, 95% CI: paired bootstrap "
            f"over personas ({meta['n_resamples']} resamples). ↑ higher is better, ↓ lower "
            "is better; each recall column's chance level is in the Metrics tab.")


def build(source: str) -> gr.Blocks:
    """The Space's page for the board at `source` (folder or Hub dataset id)."""
    from persona_bench.leaderboards.plots import write_plots

    board = Board(board_folder(source))
    meta, rows = board.meta(), sort_rows(board.rows(), DEFAULT_SORT)
    plots = write_plots(rows, Path(tempfile.mkdtemp(prefix="persona-bench-plots-")))
    directions = ["all", *sorted({r["direction"] for r in rows})]

    def view(direction: str, every: bool) -> gr.Dataframe:
        columns = COLUMNS if every else MAIN_COLUMNS
        shown = [r for r in rows if direction in ("all", r["direction"])]
        return gr.Dataframe(value=table(shown, columns), headers=[header(c) for c in columns])

    with gr.Blocks(title=TITLE) as demo:
        gr.Markdown(f"# {TITLE}\n\n{intro(meta, rows)}")
        with gr.Tabs():
            with gr.Tab("Leaderboard"):
                with gr.Row():
                    direction = gr.Radio(directions, value="all", label="direction")
                    every = gr.Checkbox(False, label="show all columns")
                frame = gr.Dataframe(value=table(rows, MAIN_COLUMNS),
                                     headers=[header(c) for c in MAIN_COLUMNS],
                                     interactive=False, wrap=True, elem_id="board")
                gr.on([direction.change, every.change], view, [direction, every], frame,
                      api_name="view")
            with gr.Tab("Plots"):
                for name, path in plots.items():
                    gr.Image(str(path), label=name, show_label=True)
            with gr.Tab("Metrics"):
                gr.Markdown(metrics_markdown())
            with gr.Tab("Submit"):
                gr.Markdown("Run `persona-bench run --model ORG/your-vlm --data data --board "
                            "leaderboards/board`, check it with `persona-bench leaderboard "
                            "verify`, and open a pull request with the changed board folder.")
    return demo


def main() -> None:
    source = os.environ.get(BOARD_ENV)
    if not source:
        sys.exit(f"set {BOARD_ENV} to a board folder or a Hub dataset id")
    try:
        demo = build(source)
    except UserError as err:
        sys.exit(f"error: {err}")
    demo.launch()  # GRADIO_SERVER_NAME / GRADIO_SERVER_PORT choose the address


if __name__ == "__main__":
    main()
