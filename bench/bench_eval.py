"""Evaluation speed: lmms-eval + persona_vlm at batch 1 and batched, llava_hf, likelihood.

    python bench/bench_eval.py --model m1 --data DATA [--direction img2text] [--limit 28]
        [--batch-size 8] [--k 4] [--repeats 3] [--threads N] [--json OUT.json]

One process, one loaded model, the same questions (the first `--limit` rows of both
halves of a direction) for every path:

- `persona_vlm b1` / `persona_vlm bN`: `lmms_eval.evaluator.simple_evaluate` on the group
  `persona_<direction>` with our backend at batch size 1 and `--batch-size`;
- `llava_hf b1`: lmms-eval's own LLaVA backend on the image half only (it fails on
  text-only prompts and runs batch 1 only); `decord`, which it imports at module level
  for videos, is replaced by a stub when missing, and the table says so;
- `likelihood`: `persona_bench.tasks.likelihood.score_rows` (k distractors, one forward per batch).

Each path runs `--repeats` times, interleaved, and the fastest run is kept (filters out
noise from other processes). Columns: `model q/s` counts only time inside the backend
(`generate_until` or the scorer), `end-to-end q/s` the whole lmms-eval call (task
building, post-processing); `x b1` is the speed-up over `persona_vlm b1` (goal: batched
>= 3x, likelihood >= 5x). `same answers` compares each path's first-line predictions with
`persona_vlm b1` on the questions both answered; for the likelihood, whether its top-1
is right exactly when greedy decoding is (exact match).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from persona_bench.matching import exact_match
from persona_bench.tasks.data import check_direction, content_hash, load_split, resolve_dataset_path
from persona_bench.tasks.hf_model import truncate_at
from persona_bench.tasks.likelihood import answer_pool, score_rows
from persona_bench.tasks.writer import write_task_pack


class Timed:
    """Wraps a backend method and adds up the seconds spent inside it."""

    def __init__(self, obj: Any, name: str) -> None:
        self.seconds, self._inner = 0.0, getattr(obj, name)
        setattr(obj, name, self)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return self._inner(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - start


def first_line(text: str) -> str:
    return truncate_at(text, ["\n"]).strip()


def lmms_run(lm: Any, method: str, tasks: list[str], include: Path, limit: int
             ) -> tuple[float, float, dict[str, str]]:
    """(backend seconds, end-to-end seconds, id -> prediction) of one simple_evaluate."""
    from lmms_eval import evaluator
    from lmms_eval.tasks import TaskManager

    manager = TaskManager("ERROR", include_path=str(include), include_defaults=False)
    timer = Timed(lm, method)
    start = time.perf_counter()
    try:
        results = evaluator.simple_evaluate(model=lm, tasks=tasks, limit=limit, log_samples=True,
                                            task_manager=manager, verbosity="ERROR")
    finally:
        setattr(lm, method, timer._inner)  # noqa: B010 - restore the unwrapped method
    total = time.perf_counter() - start
    answers = {s["exact"]["id"]: first_line(s["exact"]["prediction"])
               for samples in results["samples"].values() for s in samples}
    return timer.seconds, total, answers


def load_llava_hf(model: str, device: str, dtype: str) -> tuple[Any, str]:
    """lmms-eval's llava_hf backend, stubbing the video-only `decord` import if missing."""
    note = ""
    try:
        import decord  # noqa: F401
    except ImportError:
        stub = types.ModuleType("decord")
        stub.VideoReader = stub.cpu = None  # type: ignore[attr-defined]
        sys.modules["decord"] = stub
        note = "decord not installed: stubbed (used for videos only)"
    from lmms_eval.models import get_model

    cls = get_model("llava_hf")
    return cls(pretrained=model, device=device, device_map=device, dtype=dtype), note


def best_of(repeats: int, runs: dict[str, Callable[[], tuple[float, float, dict]]]
            ) -> dict[str, dict[str, Any]]:
    """Run each path `repeats` times, interleaved; keep the fastest (by model time)."""
    best: dict[str, dict[str, Any]] = {}
    for _ in range(repeats):
        for name, run in runs.items():
            model_s, total_s, answers = run()
            if name not in best or model_s < best[name]["model_s"]:
                best[name] = {"model_s": model_s, "total_s": total_s, "answers": answers}
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="checkpoint (a trained tiny VLM)")
    parser.add_argument("--data", required=True, help="dataset folder")
    parser.add_argument("--direction", default="img2text")
    parser.add_argument("--limit", type=int, default=28, help="questions per half")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--k", type=int, default=4, help="likelihood distractors")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu",
                        help="cpu, cuda, cuda:1 (default: cuda when available)")
    parser.add_argument("--dtype", default="float32", help="float32, bfloat16, float16")
    parser.add_argument("--skip-llava-hf", action="store_true")
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.threads:
        torch.set_num_threads(args.threads)
    direction = check_direction(args.direction)
    dataset = resolve_dataset_path(args.data)

    from persona_bench.tasks.persona_vlm import PersonaVLM

    lm = PersonaVLM(pretrained=args.model, device=args.device, dtype=args.dtype, batch_size=1)
    workdir = Path(tempfile.mkdtemp(prefix="bench_eval_"))
    include = write_task_pack(dataset, workdir / "tasks", packs=("lmms",))["lmms"]
    group = [f"persona_{direction}"]

    def ours(batch_size: int) -> Callable[[], tuple[float, float, dict]]:
        def run() -> tuple[float, float, dict]:
            lm.batch_size_per_gpu = batch_size
            return lmms_run(lm, "generate_until", group, include, args.limit)
        return run

    rows = []
    pools = {}
    for half in ("source", "target"):
        split = load_split(dataset, direction, half)
        pools[half] = answer_pool(split.remove_columns(["images", "messages"]))
        rows.append((half, list(split.select(range(min(args.limit, len(split)))))))

    def likelihood() -> tuple[float, float, dict]:
        start, records = time.perf_counter(), []
        for half, half_rows in rows:
            records += score_rows(lm.hf, half_rows, pool=pools[half], k=args.k,
                                  batch_size=args.batch_size)
        seconds = time.perf_counter() - start
        return seconds, seconds, {r["id"]: r["prediction"] for r in records}

    runs: dict[str, Callable[[], tuple[float, float, dict]]] = {
        "persona_vlm b1": ours(1),
        f"persona_vlm b{args.batch_size}": ours(args.batch_size),
    }
    notes = {}
    if not args.skip_llava_hf:
        try:  # a fresh instance per run: lmms-eval deletes a model's modules after evaluating
            notes["llava_hf b1"] = load_llava_hf(args.model, args.device, args.dtype)[1]
            image_half = f"persona_{direction}_{'source' if direction == 'img2text' else 'target'}"
            runs["llava_hf b1"] = lambda: lmms_run(
                load_llava_hf(args.model, args.device, args.dtype)[0], "generate_until",
                [image_half], include, args.limit)
        except Exception as err:  # noqa: BLE001 - report why it cannot run, keep benching
            notes["llava_hf b1"] = f"cannot run: {type(err).__name__}: {err}".splitlines()[0]
    runs["likelihood"] = likelihood
    best = best_of(args.repeats, runs)

    reference = best["persona_vlm b1"]
    gold = {row["id"]: row["answer"] for _, half_rows in rows for row in half_rows}
    n_questions = sum(len(r) for _, r in rows)
    table = ["| path | questions | model q/s | end-to-end q/s | x b1 (model) | x b1 (end-to-end)"
             " | same answers | note |", "|---|---:|---:|---:|---:|---:|---|---|"]
    report: dict[str, Any] = {}
    for name, result in best.items():
        n = len(result["answers"]) or n_questions
        shared = [i for i in result["answers"] if i in reference["answers"]]
        if name == "likelihood":  # right/wrong agreement with greedy exact match
            hits = sum(exact_match(result["answers"][i], gold[i])
                       == exact_match(reference["answers"][i], gold[i]) for i in shared)
            same = f"agrees on {hits}/{len(shared)}"
        else:
            hits = sum(result["answers"][i] == reference["answers"][i] for i in shared)
            same = f"{hits}/{len(shared)}"
        ref_model = reference["model_s"] / n_questions
        ref_total = reference["total_s"] / n_questions
        row = {
            "questions": n,
            "model_qps": n / result["model_s"],
            "end_to_end_qps": n / result["total_s"],
            "speedup_model": ref_model / (result["model_s"] / n),
            "speedup_end_to_end": ref_total / (result["total_s"] / n),
            "same_answers": same,
            "note": notes.get(name, ""),
        }
        report[name] = row
        table.append(f"| {name} | {n} | {row['model_qps']:.1f} | {row['end_to_end_qps']:.1f} | "
                     f"{row['speedup_model']:.1f} | {row['speedup_end_to_end']:.1f} | {same} | "
                     f"{row['note']} |")
    for name, note in notes.items():
        if name not in best:
            table.append(f"| {name} | - | - | - | - | - | - | {note} |")
            report[name] = {"note": note}
    env = {
        "model": lm.hf.describe(),
        "dataset": dataset,
        "content_hash": content_hash(dataset),
        "direction": direction,
        "limit_per_half": args.limit,
        "batch_size": args.batch_size,
        "k": args.k,
        "repeats": args.repeats,
        "torch_threads": torch.get_num_threads(),
        "cpu": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "torch": torch.__version__,
    }
    print("\n".join(table))
    print(json.dumps(env))
    if args.json:
        args.json.write_text(json.dumps({"env": env, "paths": report}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
