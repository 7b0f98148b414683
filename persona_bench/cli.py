"""`persona-bench`: one command per pipeline stage.

Each subcommand lives with its stage and exposes ``main(argv) -> int``; this file only
maps names to those functions and imports them lazily, so `persona-bench gen` does not
pay for importing torch. Every command parses its arguments (and answers `--help`) before
it imports torch, transformers or datasets.
"""

from __future__ import annotations

import errno
import importlib
import sys

from persona_bench.checks import printable
from persona_bench.errors import UserError
from persona_bench.progress import quiet_when_logged

# name -> (module under persona_bench, function, one-line help)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "gen": ("persona_gen.cli", "gen_main", "generate the persona dataset (Hub-style folder)"),
    "push": ("persona_gen.cli", "push_main", "upload a generated dataset folder to the Hub"),
    "inspect": ("persona_gen.cli", "inspect_main", "summarise a dataset and draw a contact sheet"),
    "tiny-vlm": ("trainers.cli", "tiny_vlm_main", "build (and pretrain) the embedded tiny VLM"),
    "train": ("trainers.cli", "train_main", "fine-tune a VLM on one modality (TRL SFT)"),
    "unlearn": ("trainers.cli", "unlearn_main",
                "unlearn a forget set through one modality (GA, NPO, ... registry)"),
    "tasks": ("tasks.cli", "tasks_main", "write lmms-eval/lm-eval task YAMLs for a dataset"),
    "eval": ("pipeline", "eval_main", "evaluate and score source/target recall"),
    "likelihood": ("tasks.cli", "likelihood_main", "likelihood recall: rank the true answer"),
    "leaderboard": ("leaderboards.cli", "main", "add, show and render the transfer-gap board"),
    "run": ("pipeline", "run_main", "train -> eval -> score -> leaderboard"),
    "experiment": ("experiment", "experiment_main",
                   "run an experiment (transfer, multihop, augment, unlearn): results + plot"),
    "demo": ("pipeline", "demo_main", "the whole pipeline offline on a CPU"),
}


def _usage() -> str:
    width = max(map(len, COMMANDS))
    lines = ["usage: persona-bench COMMAND [options]   (persona-bench COMMAND --help)", ""]
    lines += [f"  {name:<{width}}  {help_}" for name, (_, _, help_) in COMMANDS.items()]
    return "\n".join(lines)


# errno -> the fix, for failures of the machine rather than of the input
OS_FIXES: dict[int, str] = {
    errno.ENOSPC: "the disk is full: free some space and run the command again",
    errno.EDQUOT: "the disk quota is exceeded: free some space and run the command again",
    errno.EROFS: "the file system is read-only: choose a writable folder",
    errno.EACCES: "permission denied: choose a folder you can write, or fix its permissions",
    errno.EPERM: "permission denied: choose a folder you can write, or fix its permissions",
    errno.ENOTDIR: "a part of the path is a file, not a folder: choose another path",
    errno.EISDIR: "the path is a folder where a file was expected: choose another path",
    errno.ENOENT: "the file or folder does not exist: check the path",
}


def os_error_line(err: OSError) -> str:
    """One line naming the file and the fix (nothing half-written: writes are atomic)."""
    where = err.filename or "a file"
    fix = OS_FIXES.get(err.errno or 0, f"{err.strerror or type(err).__name__}: check the path")
    return printable(f"cannot write or read {where} ({err.strerror or err}); {fix}", limit=1000)


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
        return int(getattr(importlib.import_module(f"persona_bench.{module}"), func)(rest) or 0)
    except UserError as err:
        print(f"persona-bench {name}: error: {printable(str(err), limit=4000)}", file=sys.stderr)
        return 2
    except OSError as err:  # full disk, read-only folder, a file where a folder should be
        print(f"persona-bench {name}: error: {os_error_line(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"persona-bench {name}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
