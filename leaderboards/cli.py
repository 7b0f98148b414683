"""`persona-bench leaderboard {score,add,show,render,verify,push}`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from persona_bench.argparsing import ArgumentParser
from persona_bench.atomic import write_text_atomic
from persona_bench.checks import positive_int
from persona_bench.experiments import CONFIGS
from persona_bench.leaderboards.columns import (
    COLUMN_KEYS,
    DEFAULT_SORT,
    TRACK_TITLES,
    sort_rows,
    text_table,
    track_columns,
)
from persona_bench.leaderboards.schema import DIRECTIONS, HARNESSES, METRICS, row_track

if TYPE_CHECKING:
    from persona_bench.leaderboards.store import Board


def _parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="persona-bench leaderboard",
        description="Score evaluation logs and keep the transfer-gap leaderboard.")
    sub = parser.add_subparsers(dest="command", required=True)

    def board_arg(p: argparse.ArgumentParser) -> None:
        p.add_argument("--board", type=Path, default=None,
                       help="board folder (default: leaderboards/board/ in the repository)")

    score = sub.add_parser("score", help="score a results folder (no board involved)")
    score.add_argument("results_dir", type=Path, help="the harness's --output_path")
    score.add_argument("--direction", "--config", dest="direction", choices=tuple(CONFIGS),
                       help="the config to score (default: every one found)")
    score.add_argument("--base", type=Path, help="results folder of the base model, same tasks")
    score.add_argument("--harness", choices=HARNESSES, help="default: detected from the files")
    score.add_argument("--dataset", type=Path,
                       help="dataset folder: check its content hash, take chance levels from it")
    score.add_argument("--metric", choices=METRICS, default="exact")
    score.add_argument("--resamples", type=positive_int("--resamples"), default=1000,
                       help="bootstrap resamples")
    score.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    score.add_argument("--json", type=Path, help="also write the full score as JSON here")

    add = sub.add_parser("add", help="validate a run, recompute its scores, append its row")
    add.add_argument("run", type=Path, help="run folder with run_manifest.json (or the file)")
    add.add_argument("--name", help="display name (default: the manifest's model id)")
    add.add_argument("--direction", help="refuse the run unless it is this direction")
    add.add_argument("--dataset", type=Path, help="dataset folder: take chance levels from it")
    add.add_argument("--replace", action="store_true",
                     help="replace a row with the same name, model, direction and recipe")
    board_arg(add)

    show = sub.add_parser("show", help="print the board as a table")
    show.add_argument("--sort", default=DEFAULT_SORT, metavar="COLUMN",
                      help=f"one of {', '.join(COLUMN_KEYS)} (default: {DEFAULT_SORT})")
    show.add_argument("--reverse", action="store_true", help="flip the sort order")
    show.add_argument("--direction", choices=DIRECTIONS, help="only rows of this direction")
    show.add_argument("--json", action="store_true", help="print the rows as JSON lines")
    show.add_argument("--all", action="store_true",
                      help="every column (seen, likelihood, base-model gains, counts, ...)")
    board_arg(show)

    render = sub.add_parser("render", help="write Markdown, HTML and PNG plots")
    render.add_argument("--out", type=Path, required=True, help="output folder, e.g. site/")
    render.add_argument("--sort", default=DEFAULT_SORT, metavar="COLUMN")
    board_arg(render)

    verify = sub.add_parser("verify", help="recompute every row from its stored samples")
    board_arg(verify)

    push = sub.add_parser("push", help="publish the board as a Hub dataset (for a Space)")
    push.add_argument("--repo-id", required=True, help="e.g. your-org/persona-bench-board")
    push.add_argument("--private", action="store_true")
    board_arg(push)
    return parser


def _board(args: argparse.Namespace) -> Board:
    """The board named by --board (store is imported here: it pulls in numpy, and
    `--help` must not pay for it)."""
    from persona_bench.leaderboards.store import DEFAULT_BOARD, Board

    args.board = args.board or DEFAULT_BOARD
    return Board(args.board)


def _score(args: argparse.Namespace) -> int:
    from persona_bench.leaderboards.scoring import format_table, score_results

    score = score_results(args.results_dir, args.direction, args.base, args.harness,
                          dataset=args.dataset, metric=args.metric,
                          n_resamples=args.resamples, seed=args.seed)
    print(format_table(score))
    if args.json:
        write_text_atomic(args.json, score.to_json())
        print(f"wrote {args.json}")
    return 0


def _add(args: argparse.Namespace) -> int:
    from persona_bench.leaderboards.actions import STATUS_WORDS, add_run

    _board(args)  # the default board when none is given
    status, row = add_run(args.run, args.board, dataset=args.dataset, name=args.name,
                          replace=args.replace, direction=args.direction)
    print(f"{STATUS_WORDS[status]} row {row['row_id']} ({row['name']}, {row['direction']}, "
          f"{row['training']['recipe']}) in {args.board}")
    print("  " + "; ".join(f"{c.header}{c.arrow} {c.text(row)}"
                           for c in track_columns(row_track(row))
                           if c.main and c.key not in ("name", "direction", "recipe", "params")))
    return 0


def _rows(board: Board, sort: str, reverse: bool = False, direction: str | None = None) -> list:
    rows = [r for r in board.rows() if direction in (None, r["direction"])]
    return sort_rows(rows, sort, reverse)


def _show(args: argparse.Namespace) -> int:
    board = _board(args)
    rows = _rows(board, args.sort, args.reverse, args.direction)
    if args.json:
        for row in rows:
            print(json.dumps(row, sort_keys=True))
        return 0
    if not rows:
        print(f"{args.board} has no rows yet; add one with `persona-bench leaderboard add RUN`")
        return 0
    meta = board.meta()
    print(f"dataset {meta['dataset']['id']} ({meta['dataset']['content_hash'][:19]}), metric "
          f"{meta['metric']} match, 95% CI over personas; ↑ higher is better, ↓ lower is better")
    for track in dict.fromkeys(map(row_track, rows)):  # one table per track, in row order
        mine = [r for r in rows if row_track(r) == track]
        columns = [c for c in track_columns(track) if args.all or c.main]
        print(f"\n{TRACK_TITLES[track]} track")
        print(text_table([c.header + c.arrow for c in columns],
                         [[c.text(r) for c in columns] for r in mine]))
    return 0


def _render(args: argparse.Namespace) -> int:
    from persona_bench.leaderboards.actions import render_site

    _board(args)
    out, rows, plots = render_site(args.board, args.out, args.sort)
    print(f"wrote {out}/index.html, leaderboard.md and {plots} plots ({rows} rows)")
    return 0


def _verify(args: argparse.Namespace) -> int:
    board = _board(args)
    problems = board.verify()
    for problem in problems:
        print(f"FAIL {problem}", file=sys.stderr)
    print(f"{len(board.rows())} rows checked, {len(problems)} problems")
    return 1 if problems else 0


def _push(args: argparse.Namespace) -> int:
    from persona_bench.leaderboards.hub import push_board

    url = push_board(_board(args), args.repo_id, args.private)
    print(f"pushed {args.board} to {url}")
    return 0


COMMANDS = {"score": _score, "add": _add, "show": _show, "render": _render,
            "verify": _verify, "push": _push}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return COMMANDS[args.command](args)
