"""Time to one leaderboard row: gen -> tiny-vlm --pretrain -> train -> eval -> add -> render.

    python bench/bench_row.py --size m --out /tmp/row_m            # GPU: the `m` tiny model
    python bench/bench_row.py --size l --out /tmp/row_l            # GPU: ~0.5B from config
    python bench/bench_row.py --size xs --direction both           # CPU: what `demo` does

Runs `persona-bench demo` with the size and direction asked (base-model evaluation
included), then prints the wall time of every step, the device, the peak GPU memory and
the row's scores, and writes them to OUT/bench_row.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path

import torch

from persona_bench.atomic import write_text_atomic
from persona_bench.leaderboards.store import Board
from persona_bench.pipeline import demo, demo_parser


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="bench_row_out", help="work folder (must be new)")
    known, rest = parser.parse_known_args(argv)
    if Path(known.out).exists():
        parser.error(f"{known.out} exists; pass a new --out so every step is timed")
    defaults = ["--size", "m", "--direction", "img2text", "--num-personas", "30"]
    args = demo_parser().parse_args([*defaults, *rest, "--out", known.out])
    steps, site = demo(args)
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else platform.processor()
    peak = torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else None
    rows = Board(Path(args.out) / "run" / "board").rows()
    report = {
        "device": device or "cpu",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "options": vars(args),
        "steps": [{"step": n, "seconds": round(s, 2), "status": st} for n, s, st in steps.times],
        "total_seconds": round(sum(s for _, s, _ in steps.times), 2),
        "peak_gpu_memory_gib": None if peak is None else round(peak, 2),
        "rows": rows,
    }
    write_text_atomic(Path(args.out) / "bench_row.json", json.dumps(report, indent=2) + "\n")
    print(f"\ndevice: {report['device']}  (torch {torch.__version__})")
    print(steps.table())
    if peak is not None:
        print(f"peak GPU memory: {peak:.2f} GiB")
    print(f"page: {site / 'index.html'}; report: {Path(args.out) / 'bench_row.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
