"""`persona-bench`: one command per pipeline stage.

Each subcommand lives with its stage and exposes ``main(argv) -> int``; this file only
maps names to those functions and imports them lazily, so `persona-bench gen` does not
pay for importing torch. Every command parses its arguments (and answers `--help`) before
it imports torch, transformers or datasets.
"""

from __future__ import annotations

import importlib
import sys

from persona_bench.errors import UserError
from persona_bench.progress import quiet_when_logged

# name -> (module, function, one-line help)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "gen": ("persona_gen.cli", "gen_main", "generate the persona dataset (Hub-style folder)"),
    "push": ("persona_gen.cli", "push_main", "upload a generated dataset folder to the Hub"),
    "inspect": ("persona_gen.cli", "inspect_main", "summarise a dataset and draw a contact sheet"),
    "tiny-vlm": ("trainers.cli", "tiny_vlm_main", "build (and pretrain) the embedded tiny VLM"),
    "train": ("trainers.cli", "train_main", "fine-tune a VLM on one modality (TRL SFT)"),
    "tasks": ("tasks.cli", "tasks_main", "write lmms-eval/lm-eval task YAMLs for a dataset"),
    "eval": ("persona_bench.pipeline", "eval_main", "evaluate and score source/target recall"),
    "likelihood": ("tasks.cli", "likelihood_main", "likelihood recall: rank the true answer"),
    "leaderboard": ("leaderboards.cli", "main", "add, show and render the transfer-gap board"),
    "run": ("persona_bench.pipeline", "run_main", "train -> eval -> score -> leaderboard"),
    "demo": ("persona_bench.pipeline", "demo_main", "the whole pipeline offline on a CPU"),
}


def _usage() -> str:
    width = max(map(len, COMMANDS))
    lines = ["usage: persona-bench COMMAND [options]   (persona-bench COMMAND --help)", ""]
    lines += [f"  {name:<{width}}  {help_}" for name, (_, _, help_) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage())
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"persona-bench: unknown command {name!r}; choose one of: {', '.join(COMMANDS)}",
              file=sys.stderr)
        return 2
    module, func, _ = COMMANDS[name]
    quiet_when_logged()  # before any library that reads the progress-bar switches
    try:
        return int(getattr(importlib.import_module(module), func)(rest) or 0)
    except UserError as err:
        print(f"persona-bench {name}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"persona-bench {name}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
