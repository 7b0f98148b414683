"""`persona-bench eval | run | demo`: the stages composed, resumable step by step.

A run folder holds one sub-folder per direction::

    RUN/<direction>/model/           trained checkpoint (trainers/sft.py)
    RUN/<direction>/eval/<model>/    lmms-eval results + samples, likelihood logs
    RUN/<direction>/base_eval/...    the untrained model's answers (chance + prior knowledge)
    RUN/<direction>/run_manifest.json  (every path in it lies inside RUN/<direction>/)
    RUN/board/, RUN/site/            leaderboard store and rendered page

Each step is skipped when its output already exists, so an interrupted run resumes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import importlib.metadata
import json
import shlex
import sys
import time
from collections.abc import Callable
from pathlib import Path

from persona_bench.argparsing import ArgumentParser
from persona_bench.atomic import write_text_atomic
from persona_bench.checks import non_negative_int, positive_float, positive_int
from persona_bench.contracts import MANIFEST, TRAIN_RECORD
from persona_bench.errors import UserError
from persona_bench.experiments import CONFIGS
from persona_bench.experiments import DIRECTIONS as TRANSFER_DIRECTIONS
from persona_bench.trainers.cli import ALIGN_QUESTIONS

DIRECTIONS = tuple(TRANSFER_DIRECTIONS)


class Steps:
    """Runs named steps, skips finished ones, and keeps the wall time of each."""

    def __init__(self) -> None:
        self.times: list[tuple[str, float, str]] = []

    def __call__(self, name: str, done: bool, work: Callable[[], object]) -> None:
        if done:
            self.times.append((name, 0.0, "skipped (output exists)"))
            print(f"[persona-bench] {name}: skipped, output exists", flush=True)
            return
        print(f"[persona-bench] {name} ...", flush=True)
        start = time.perf_counter()
        work()
        seconds = time.perf_counter() - start
        self.times.append((name, seconds, "done"))
        print(f"[persona-bench] {name}: done in {seconds:.1f}s", flush=True)

    def table(self) -> str:
        width = max(len(name) for name, _, _ in self.times)
        lines = [f"{'step':<{width}}  seconds  status"]
        lines += [f"{name:<{width}}  {sec:7.1f}  {status}" for name, sec, status in self.times]
        total = sum(sec for _, sec, _ in self.times)
        return "\n".join([*lines, f"{'total':<{width}}  {total:7.1f}"])


def _directions(value: str) -> list[str]:
    if value == "both":
        return list(DIRECTIONS)
    if value not in DIRECTIONS:
        raise UserError(f"unknown direction {value!r}; use img2text, text2img or both")
    return [value]


def evaluate(model: str, data: str, direction: str, out: Path, args: argparse.Namespace) -> Path:
    """lmms-eval (every half) + likelihood recall for one config; returns the results dir."""
    from persona_bench.tasks.evaluate import evaluate_config

    return evaluate_config(model, data, direction, out, batch_size=args.batch_size,
                           limit=args.limit, device=args.device, dtype=args.dtype,
                           likelihood=not args.no_likelihood)


def _eval_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--batch-size", type=positive_int("--batch-size"), default=16,
                        help="evaluation batch size")
    parser.add_argument("--limit", type=positive_int("--limit"),
                        help="questions per task (smoke tests only)")
    parser.add_argument("--device", help="cpu, cuda, cuda:0 ... (default: best available)")
    parser.add_argument("--dtype", help="float32, bfloat16, float16 (default: model's)")
    parser.add_argument("--no-likelihood", action="store_true", help="skip likelihood recall")


def eval_main(argv: list[str]) -> int:
    parser = ArgumentParser(
        prog="persona-bench eval",
        description="Evaluate source/target recall with lmms-eval and print the score table.",
    )
    parser.add_argument("--model", required=True, help="checkpoint folder or Hub id")
    parser.add_argument("--data", required=True, help="dataset folder or Hub id")
    parser.add_argument("--direction", default="both", help="img2text | text2img | both")
    parser.add_argument("--out", default="eval_out", help="output folder for the logs")
    parser.add_argument("--base", help="results folder of the untrained base model (optional)")
    _eval_args(parser)
    args = parser.parse_args(argv)
    from persona_bench.leaderboards.scoring import format_table, score_results

    for direction in _directions(args.direction):
        results = evaluate(args.model, args.data, direction, Path(args.out) / direction, args)
        score = score_results(results, direction, args.base, dataset=args.data)
        print(format_table(score))
        write_text_atomic(results / "score.json", score.to_json())
        print(f"logs and score.json: {results}")
    return 0


def _run_parser(prog: str) -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog=prog,
        description="Train on the source modality -> evaluate both -> score -> "
        "leaderboard -> render. Extra arguments after `--` go to trainers/sft.py.",
    )
    parser.add_argument("--model", help="base checkpoint folder or Hub id")
    parser.add_argument("--data", help="dataset folder or Hub id")
    parser.add_argument("--direction", default="both", help="img2text | text2img | both")
    parser.add_argument("--out", default="runs/run", help="run folder (resumable)")
    parser.add_argument("--board", help="leaderboard folder (default: RUN/board)")
    parser.add_argument("--name", help="display name on the leaderboard")
    parser.add_argument(
        "--no-base-eval", action="store_true", help="skip evaluating the untrained base model"
    )
    _eval_args(parser)
    return parser


def _train_cmd(model: str, data: str, direction: str, out: Path, extra: list[str]) -> list[str]:
    return [
        "--model_name_or_path",
        model,
        "--dataset_name",
        data,
        "--dataset_config",
        direction,
        "--output_dir",
        str(out),
        *extra,
    ]


def weights_hash(model_dir: Path) -> str:
    """The revision of a local checkpoint: sha256 over its weight files."""
    digest = hashlib.sha256()
    for path in sorted(model_dir.glob("*.safetensors")):
        digest.update(path.name.encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return f"sha256:{digest.hexdigest()}"


def write_manifest(
    direction_dir: Path,
    direction: str,
    data: str,
    commands: list[str],
    base_results: Path | None,
    name: str | None,
) -> Path:
    from persona_bench.persona_gen.publish import read_metadata
    from persona_bench.tasks.evaluate import finished_results

    results = finished_results(direction_dir / "eval")
    if results is None:
        raise UserError(f"no lmms-eval results under {direction_dir / 'eval'}; rerun the step")
    manifest = {
        "schema": "persona-bench/run-manifest/1",
        "direction": direction,
        **({"name": name} if name else {}),
        "model": {
            "id": str(direction_dir / "model"),
            "revision": weights_hash(direction_dir / "model"),
        },
        "train_record": f"model/{TRAIN_RECORD}",
        "harness": "lmms-eval",
        # lmms-eval's results carry the git commit of the working directory as its
        # "version" (this project's commit, not lmms-eval's): record the installed release.
        "harness_version": importlib.metadata.version("lmms-eval"),
        "results_dir": str(results.relative_to(direction_dir)),
        "base_results_dir": (str(base_results.relative_to(direction_dir)) if base_results
                             else None),
        "dataset": {"id": str(data), "content_hash": read_metadata(data)["content_hash"]},
        "commands": commands,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    path = direction_dir / MANIFEST
    write_text_atomic(path, json.dumps(manifest, indent=2) + "\n")
    return path


def card_results(model_dir: Path, board: Path, direction: str) -> None:
    """Write the board row of `model_dir` into its model card as `model-index` metadata."""
    from persona_bench.leaderboards.store import Board
    from persona_bench.trainers.record import write_model_index

    revision = weights_hash(model_dir)
    rows = [r for r in Board(board).rows()
            if r["model"]["revision"] == revision and r["direction"] == direction]
    if rows:
        write_model_index(model_dir, rows[-1])


def run_direction(
    args: argparse.Namespace, direction: str, train_extra: list[str], board: Path, steps: Steps
) -> None:
    """Base eval -> train -> eval -> manifest -> leaderboard add, for one direction."""
    from persona_bench.leaderboards.actions import STATUS_WORDS, add_run
    from persona_bench.tasks.evaluate import finished_results
    from persona_bench.trainers.sft import is_trained, train_model

    run = Path(args.out)
    ddir = run / direction
    base_root = ddir / "base_eval"  # inside the submission folder: `add` reads nothing outside
    model_dir = ddir / "model"
    if not args.no_base_eval:
        steps(
            f"{direction}: evaluate base model",
            finished_results(base_root) is not None,
            lambda: evaluate(args.model, args.data, direction, base_root, args),
        )
    train_argv = _train_cmd(args.model, args.data, direction, model_dir, train_extra)
    steps(
        f"{direction}: train on {CONFIGS[direction].trained}",
        is_trained(model_dir),
        lambda: train_model(args.model, args.data, direction, model_dir, extra=train_extra),
    )
    steps(
        f"{direction}: evaluate trained model",
        finished_results(ddir / "eval") is not None,
        lambda: evaluate(str(model_dir), args.data, direction, ddir / "eval", args),
    )
    commands = [
        shlex.join(["persona-bench", "train", *train_argv]),
        shlex.join(
            [
                "persona-bench",
                "eval",
                "--model",
                str(model_dir),
                "--data",
                str(args.data),
                "--direction",
                direction,
            ]
        ),
    ]
    base = None if args.no_base_eval else finished_results(base_root)

    def add() -> None:
        write_manifest(ddir, direction, args.data, commands, base, args.name)
        status, row = add_run(ddir, board, dataset=args.data)
        print(f"{STATUS_WORDS[status]} row {row['row_id']} ({row['name']}, {direction}) in "
              f"{board}")
        card_results(model_dir, board, direction)

    steps(f"{direction}: score and add to leaderboard", False, add)


def run_pipeline(args: argparse.Namespace, train_extra: list[str], steps: Steps) -> Path:
    """Every step of `persona-bench run` for the directions asked; returns the site folder."""
    from persona_bench.leaderboards.actions import render_site
    from persona_bench.leaderboards.cli import main as leaderboard

    if not args.model or not args.data:
        raise UserError("--model and --data are required (a checkpoint and a dataset folder)")
    run = Path(args.out)
    board = Path(args.board) if args.board else run / "board"
    site = run / "site"
    for direction in _directions(args.direction):
        run_direction(args, direction, train_extra, board, steps)
    steps(
        "render leaderboard",
        False,
        lambda: render_site(board, site),
    )
    leaderboard(["show", "--board", str(board)])
    return site


def _split_extra(argv: list[str]) -> tuple[list[str], list[str]]:
    if "--" in argv:
        i = argv.index("--")
        return argv[:i], argv[i + 1 :]
    return argv, []


def run_main(argv: list[str]) -> int:
    ours, extra = _split_extra(argv)
    args = _run_parser("persona-bench run").parse_args(ours)
    steps = Steps()
    site = run_pipeline(args, extra, steps)
    print(steps.table())
    print(f"leaderboard page: {site / 'index.html'}")
    return 0


# The embedded default: small enough for a laptop CPU in minutes, fully offline.
DEMO = {
    "num_personas": 12,
    "pretrain_personas": 100,
    "image_size": 64,
    "variants": 5,
    # 800 alignment steps: exact-match target recall above chance in 11 of 12 runs (3 seeds x
    # 2 directions, twice; 400 steps: 1 of 6), docs/findings.md; within 10 minutes since the
    # SFT loss projects the answer positions only and mixed batches run split by modality
    # (trainers/answer_loss.py, trainers/modality_split.py).
    "pretrain_steps": 800,
    # Issue 14 recipe (docs/findings.md): word-level tokens for answers, 16 image tokens,
    # pool questions on appearance and facts in both modalities plus the cross-modal
    # alignment loss on the lower half of the LM (aligning every layer carried less of the
    # person over 3 seeds), read at the person's last token before the question (at the
    # answer position it kept the answer from following the question), and a short
    # (10-epoch) one-modality fine-tune that leaves the vision tower and projector as the
    # alignment made them (30 epochs pulled the two routes apart and took the demo past 10
    # minutes).
    "patch_size": 16,
    "word_tokens": True,
    "pretrain_tasks": ["appearance", "facts"],
    "align_weight": 1.0,
    "align_question": "person",
    "align_centre": False,
    "align_layers": 2,
    "align_after": 0,
    "pretrain_args": [],
    "epochs": 10.0,
    "train_args": ["--train_projector", "false"],
}


def demo_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="persona-bench demo",
        description="The whole pipeline on the embedded default (tiny VLM, small dataset), "
        "offline on a CPU: gen -> tiny-vlm --pretrain -> run both directions -> leaderboard.",
    )
    parser.add_argument("--out", default="demo_out", help="demo folder (resumable)")
    parser.add_argument("--num-personas", type=positive_int("--num-personas"),
                        default=DEMO["num_personas"])
    parser.add_argument("--pretrain-personas", type=non_negative_int("--pretrain-personas"),
                        default=DEMO["pretrain_personas"])
    parser.add_argument("--pretrain-steps", type=positive_int("--pretrain-steps"),
                        default=DEMO["pretrain_steps"])
    parser.add_argument("--epochs", type=positive_float("--epochs"), default=DEMO["epochs"],
                        help="epochs of the one-modality fine-tune")
    parser.add_argument("--size", default="xs", help="tiny VLM size: xs (default), s, m, l")
    parser.add_argument("--direction", default="both", help="img2text | text2img | both")
    parser.add_argument("--image-size", type=positive_int("--image-size"),
                        default=DEMO["image_size"])
    parser.add_argument("--patch-size", type=positive_int("--patch-size"),
                        default=DEMO["patch_size"],
                        help="vision patch size of the tiny VLM (fewer, coarser image tokens)")
    parser.add_argument("--word-tokens", action=argparse.BooleanOptionalAction,
                        default=DEMO["word_tokens"],
                        help="tokenizer of the tiny VLM (see `tiny-vlm --help`)")
    parser.add_argument("--variants", type=positive_int("--variants"), default=DEMO["variants"],
                        help="images / descriptions per persona (the last one is held out)")
    parser.add_argument("--pretrain-tasks", nargs="+", default=DEMO["pretrain_tasks"],
                        metavar="TASK", help="rows of the alignment pool (see `gen --help`)")
    parser.add_argument("--align-weight", type=float, default=DEMO["align_weight"],
                        help="cross-modal alignment loss in pretraining (0: SFT only)")
    parser.add_argument("--align-question", choices=ALIGN_QUESTIONS,
                        default=DEMO["align_question"],
                        help="questions of the alignment loss (see `tiny-vlm --help`)")
    parser.add_argument("--align-centre", action=argparse.BooleanOptionalAction,
                        default=DEMO["align_centre"],
                        help="centre the alignment states per modality over the batch")
    parser.add_argument("--align-layers", type=non_negative_int("--align-layers"),
                        default=DEMO["align_layers"],
                        help="align the first N language-model layers only (0: all)")
    parser.add_argument("--align-after", type=non_negative_int("--align-after"),
                        default=DEMO["align_after"],
                        help="SFT-only pretraining steps before the alignment loss starts")
    parser.add_argument("--pretrain-args", default=" ".join(DEMO["pretrain_args"]),
                        help="extra trainers/sft.py arguments of the alignment stage, one string")
    parser.add_argument("--train-args", default=" ".join(DEMO["train_args"]),
                        help="extra trainers/sft.py arguments of the one-modality fine-tune")
    parser.add_argument("--seed", type=int, default=0)
    return parser


def demo(args: argparse.Namespace) -> tuple[Steps, Path]:
    """gen -> tiny-vlm --pretrain -> run; returns the step timings and the site folder."""
    from persona_bench.persona_gen.generate import generate_dataset, is_generated
    from persona_bench.trainers.tiny_vlm import SIZES
    from persona_bench.trainers.tiny_vlm import main as tiny_vlm

    if args.size not in SIZES:
        raise UserError(f"unknown tiny VLM size {args.size!r}; use one of {', '.join(SIZES)}")
    _directions(args.direction)  # fail before any work
    out = Path(args.out)
    data, base = out / "data", out / f"tiny-vlm-{args.size}"
    steps = Steps()
    steps(
        "generate dataset",
        is_generated(data),
        lambda: generate_dataset(
            data,
            num_personas=args.num_personas,
            seed=args.seed,
            image_size=args.image_size,
            variants=args.variants,
            pretrain_personas=args.pretrain_personas,
            pretrain_tasks=args.pretrain_tasks,
            overwrite=True,
        ),
    )

    def build() -> None:
        argv = ["--out", str(base), "--size", args.size, "--pretrain", "--data", str(data),
                "--seed", str(args.seed), "--pretrain-steps", str(args.pretrain_steps),
                f"--pretrain-args={args.pretrain_args}", "--overwrite",
                "--align-weight", str(args.align_weight),
                "--align-question", args.align_question,
                *(["--align-centre"] if args.align_centre else []),
                "--align-layers", str(args.align_layers),
                "--align-after", str(args.align_after),
                "--word-tokens" if args.word_tokens else "--no-word-tokens",
                *(["--patch-size", str(args.patch_size)] if args.patch_size else [])]
        if tiny_vlm(argv):
            raise UserError("building the tiny VLM failed; see the log above")

    steps(f"build + pretrain tiny VLM ({args.size})", (base / "config.json").is_file(), build)
    run_args = _run_parser("persona-bench run").parse_args(
        ["--model", str(base), "--data", str(data), "--out", str(out / "run"),
         "--direction", args.direction, "--name", f"tiny-vlm-{args.size} (demo)"]
    )
    train_args = ["--save_strategy", "no", *args.train_args.split(), "--seed", str(args.seed)]
    if args.epochs:
        train_args += ["--num_train_epochs", str(args.epochs)]
    return steps, run_pipeline(run_args, train_args, steps)


def demo_main(argv: list[str]) -> int:
    args = demo_parser().parse_args(argv)
    import torch  # after parsing: `--help` must not pay for it

    steps, site = demo(args)
    where = torch.cuda.get_device_name() if torch.cuda.is_available() else "CPU"
    print(f"\nwall time per step ({where}):")
    print(steps.table())
    print(f"\nleaderboard page: {site / 'index.html'}  (Markdown: {site / 'leaderboard.md'})")
    return 0


if __name__ == "__main__":
    sys.exit(run_main(sys.argv[1:]))
