"""Command lines of the evaluation stage: `persona-bench tasks` and the likelihood scorer."""

from __future__ import annotations

import sys
from collections.abc import Callable

from persona_bench.argparsing import ArgumentParser
from persona_bench.checks import positive_int
from persona_bench.contracts import DATA_ENV_VAR as ENV_VAR
from persona_bench.contracts import HUB_ID, likelihood_results
from persona_bench.errors import UserError
from persona_bench.experiments import CONFIGS

TASKS_EPILOG = f"""\
Then, for example:
  lmms-eval --model persona_vlm --model_args pretrained=MODEL \\
      --tasks persona_img2text --include_path OUT/lmms --batch_size 8
  lm_eval --model hf --model_args pretrained=MODEL --apply_chat_template \\
      --tasks pbench_text_text2img --include_path OUT/lm_eval
The checked-in packs (tasks/lmms, tasks/lm_eval) read the Hub id {HUB_ID} or ${ENV_VAR}.
"""


def tasks_main(argv: list[str] | None = None) -> int:
    from persona_bench.tasks.writer import PACKS, write_task_pack

    parser = ArgumentParser(
        prog="persona-bench tasks",
        description="Write the lmms-eval and lm-eval task packs pinned to one dataset "
        "(its path and content hash go into every task's metadata).",
        epilog=TASKS_EPILOG,
    )
    parser.add_argument("--data", required=True, help="dataset folder from `persona-bench gen`")
    parser.add_argument("--out", required=True, help="folder to write (OUT/lmms, OUT/lm_eval)")
    parser.add_argument("--pack", choices=(*PACKS, "all"), default="all")
    parser.add_argument("--force", action="store_true", help="replace an existing --out")
    args = parser.parse_args(argv)
    packs = PACKS if args.pack == "all" else (args.pack,)
    written = write_task_pack(args.data, args.out, packs=packs, overwrite=args.force)
    for pack, folder in written.items():
        print(f"{pack}: --include_path {folder}")
    return 0


# Mirror of tasks.likelihood.DEFAULT_K: that module imports torch, which `--help` must not
# pay for (tests/test_tasks_cli.py checks that the two agree).
DEFAULT_K = 4


def likelihood_main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(
        prog="persona-bench likelihood",
        description="Likelihood recall: rank the true answer among k same-fact distractors "
        "(accuracy = rank 1; chance 1/(k+1); higher is better).",
    )
    parser.add_argument("--model", required=True, help="checkpoint folder or Hub id")
    parser.add_argument("--data", default=None, help=f"dataset folder (default ${ENV_VAR} "
                        f"or {HUB_ID})")
    parser.add_argument("--direction", "--config", dest="direction", required=True,
                        choices=tuple(CONFIGS), help="the config evaluated (a transfer "
                        "direction, or another experiment's config)")
    parser.add_argument("--out", required=True, help="folder for the JSONL and results JSON")
    parser.add_argument("--halves", nargs="+", default=["source", "target"], metavar="ROLE",
                        help="halves to score: source, target, seen, or the config's other "
                        "roles (default: source target)")
    parser.add_argument("--k", type=positive_int("--k"), default=DEFAULT_K,
                        help="distractors per question")
    parser.add_argument("--batch-size", type=positive_int("--batch-size"), default=8,
                        help="questions per forward pass")
    parser.add_argument("--limit", type=positive_int("--limit"), default=None,
                        help="first N questions per half")
    parser.add_argument("--seed", type=int, default=0, help="distractor sampling seed")
    parser.add_argument("--device", default=None)
    parser.add_argument("--dtype", default="auto")
    args = parser.parse_args(argv)
    if args.k < 1 or args.batch_size < 1:
        raise UserError("--k and --batch-size must be at least 1")
    from persona_bench.tasks.data import check_split

    for half in args.halves:  # before the model loads
        check_split(args.direction, half)
    from persona_bench.tasks.likelihood import run_likelihood

    out = run_likelihood(args.model, args.data, args.direction, args.out, halves=args.halves,
                         k=args.k, batch_size=args.batch_size, limit=args.limit, seed=args.seed,
                         device=args.device, dtype=args.dtype)
    print(out / likelihood_results(args.direction))
    return 0


def run_cli(main: Callable[[list[str] | None], int], argv: list[str] | None = None) -> int:
    """Run `main` as a script: a UserError becomes one line on stderr and exit status 2."""
    try:
        return main(argv)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
