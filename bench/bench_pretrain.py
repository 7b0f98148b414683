"""Time of the demo's training stages with each exact speed-up switched off and on, side by side.

    python bench/bench_pretrain.py                       # 100 pretraining steps, 2 repeats
    python bench/bench_pretrain.py --steps 200 --repeats 3

Two speed-ups change no value, only what is computed:
- `answer positions`: the SFT loss projects the answer tokens only through the LM head
  (trainers/answer_loss.py; TRL projects every position on the CPU);
- `split by modality`: a pretraining batch runs its image rows and its text rows as two
  forwards, each without the other's padding (trainers/modality_split.py).
Each variant trains the demo's pretraining stage (its dataset, `persona-bench demo`'s
alignment settings) for `--steps` from the same seed, and the one-modality fine-tunes (one
modality: nothing to split) for `--steps` each; variants alternate within every repeat so
that machine drift hits all of them. The table gives the median trainer seconds, the ratio
to none, and the final training loss (the speed-ups change no value, only float rounding).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import statistics
import sys
import tempfile
from pathlib import Path

import torch
import trl.trainer.utils as trl_utils

from persona_bench.contracts import TRAIN_RECORD
from persona_bench.persona_gen.generate import generate_dataset
from persona_bench.pipeline import DEMO
from persona_bench.trainers import modality_split, sft, tiny_vlm

TRL_CHOOSER = trl_utils._use_triton  # before any patch: every position projected on the CPU
SPEEDUPS = ("answer positions", "split by modality")


@contextlib.contextmanager
def switched(on: set[str]):
    """The speed-ups in `on` as shipped, the others replaced by what was there before them."""
    saved = (trl_utils._use_triton, sft.project_answer_positions_on_cpu,
             modality_split.modality_parts)
    trl_utils._use_triton = TRL_CHOOSER
    if "answer positions" not in on:
        sft.project_answer_positions_on_cpu = lambda: False
    if "split by modality" not in on:
        modality_split.modality_parts = lambda inputs, image_token_id: None
    try:
        yield
    finally:
        (trl_utils._use_triton, sft.project_answer_positions_on_cpu,
         modality_split.modality_parts) = saved


def trained(out: Path) -> tuple[float, float]:
    entry = json.loads((out / TRAIN_RECORD).read_text())
    return entry["train_runtime_s"], entry["train_loss"]


def pretrain(data: Path, out: Path, steps: int) -> tuple[float, float]:
    argv = ["--out", str(out), "--size", "xs", "--pretrain", "--data", str(data), "--seed", "0",
            "--pretrain-steps", str(steps), "--overwrite", "--pretrain-args=--save_strategy no",
            "--align-weight", str(DEMO["align_weight"]),
            "--align-question", DEMO["align_question"],
            "--align-layers", str(DEMO["align_layers"]), "--word-tokens",
            "--patch-size", str(DEMO["patch_size"])]
    if tiny_vlm.main(argv):
        raise SystemExit("pretraining failed")
    return trained(out)


def finetune(model: Path, data: Path, config: str, out: Path, steps: int) -> tuple[float, float]:
    sft.main(["--model_name_or_path", str(model), "--dataset_name", str(data),
              "--dataset_config", config, "--output_dir", str(out), "--max_steps", str(steps),
              "--save_strategy", "no", "--train_projector", "false", "--seed", "0",
              "--overwrite_output_dir"])
    return trained(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100, help="optimizer steps per stage")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args(argv)
    variants = [frozenset(c) for n in range(len(SPEEDUPS) + 1)
                for c in itertools.combinations(SPEEDUPS, n)]
    times: dict[tuple[str, frozenset], list[float]] = {}
    losses: dict[tuple[str, frozenset], float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data = generate_dataset(work / "data", num_personas=DEMO["num_personas"], seed=0,
                                image_size=DEMO["image_size"], variants=DEMO["variants"],
                                pretrain_personas=DEMO["pretrain_personas"],
                                pretrain_tasks=DEMO["pretrain_tasks"], progress=False)
        for _repeat, on in itertools.product(range(args.repeats), variants):
            with switched(on):
                stages = {"pretraining (alignment loss)": pretrain(data, work / "m", args.steps)}
                for config in () if "split by modality" in on else ("img2text", "text2img"):
                    stages[f"{config} fine-tune"] = finetune(work / "m", data, config,
                                                             work / config, args.steps)
            for stage, (seconds, loss) in stages.items():
                times.setdefault((stage, on), []).append(seconds)
                losses[(stage, on)] = loss
    stages = list(dict.fromkeys(stage for stage, _ in times))
    print(f"\n{args.steps} steps per stage, {args.repeats} repeats, "
          f"{torch.get_num_threads()} threads, median trainer seconds\n")
    print("| stage | speed-ups on | seconds | vs none | final loss |\n|---|---|---:|---:|---:|")
    for stage in stages:
        none = statistics.median(times[(stage, frozenset())])
        for on in variants:
            if (stage, on) not in times:
                continue  # the fine-tunes are one modality: nothing to split
            seconds = statistics.median(times[(stage, on)])
            print(f"| {stage} | {' + '.join(sorted(on)) or 'none'} | {seconds:.1f} | "
                  f"{none / seconds:.2f}x | {losses[(stage, on)]:.4f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
