"""Wall time of `persona-bench COMMAND --help` for every command, optionally side by side
with another checkout (interleaved runs, fastest of --repeats), as a Markdown table.

    python bench/bench_help.py --before /tmp/before --repeats 3
    (/tmp/before: e.g. `git archive b1815d1 | tar -x -C /tmp/before`)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from persona_bench.cli import COMMANDS  # noqa: E402


def help_seconds(tree: Path, command: str) -> float:
    env = {**os.environ, "PYTHONPATH": str(tree), "HF_HUB_OFFLINE": "1"}
    argv = [sys.executable, "-m", "persona_bench.cli", *([command] if command else []), "--help"]
    start = time.perf_counter()
    subprocess.run(argv, cwd=tree, env=env, capture_output=True, check=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", type=Path, help="another checkout to time first, per run")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    trees = ([args.before] if args.before else []) + [ROOT]
    print("| command | " + " | ".join(("before", "after")[-len(trees):]) + " |")
    print("|---|" + "---:|" * len(trees))
    for command in ["", *COMMANDS]:
        best = [float("inf")] * len(trees)
        for _ in range(args.repeats):  # interleaved: both trees see the same load
            best = [min(b, help_seconds(tree, command)) for b, tree in zip(best, trees,
                                                                           strict=True)]
        print(f"| {command or '(none)'} | " + " | ".join(f"{b:.2f}" for b in best) + " |",
              flush=True)


if __name__ == "__main__":
    main()
