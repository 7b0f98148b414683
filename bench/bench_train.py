"""Throughput of the SFT loop (trainers/sft.py) on the tiny reference VLM.

    python bench/bench_train.py                         # CPU: xs and s, batch 8
    python bench/bench_train.py --sizes xs s m --batch_sizes 8 32 --peak_tflops 989  # H100 bf16

Reports samples/s and tokens/s (every non-padding token, image tokens included) over the
timed steps after a warm-up; on CUDA also model TFLOP/s and MFU against --peak_tflops,
with the usual 6 x parameters FLOPs per trained token (frozen parts counted as trained, so
MFU is slightly optimistic when the vision tower is frozen).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch
from transformers import TrainerCallback

from persona_bench.trainers import sft, tiny_vlm


class StepClock(TrainerCallback):
    """Wall time of the steps after `warmup` (CUDA synchronised)."""

    def __init__(self, warmup: int) -> None:
        self.warmup, self.start, self.end = warmup, 0.0, 0.0

    def _now(self) -> float:
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        return time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.warmup:
            self.start = self._now()
        elif state.global_step == state.max_steps:
            self.end = self._now()


def counting(collator, counter: dict[str, int]):
    """Wrap a data collator to count samples and non-padding tokens."""

    def collate(examples):
        batch = collator(examples)
        counter["samples"] += len(examples)
        counter["tokens"] += int(batch["attention_mask"].sum())
        counter["batches"] += 1
        return batch

    return collate


def bench_one(model_dir: Path, data: Path, config: str, batch_size: int, steps: int, warmup: int,
              extra: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as out:
        args = ["--model_name_or_path", str(model_dir), "--dataset_name", str(data),
                "--dataset_config", config, "--output_dir", out, "--max_steps", str(steps),
                "--per_device_train_batch_size", str(batch_size), "--save_strategy", "no",
                "--logging_steps", str(steps), "--disable_tqdm", "true",
                "--dataloader_drop_last", "true", *extra]
        run = sft.prepare(*sft.parse_args(args))
        counter = dict.fromkeys(("samples", "tokens", "batches"), 0)
        run.trainer.data_collator = counting(run.trainer.data_collator, counter)
        clock = StepClock(warmup)
        run.trainer.add_callback(clock)
        sft.train(run)
        seconds = clock.end - clock.start
        timed_steps = steps - warmup
        # The dataloader may prefetch; count per step from the average batch.
        per_batch = {k: counter[k] / counter["batches"] for k in ("samples", "tokens")}
        trained = sum(p.numel() for p in run.trainer.model.parameters() if p.requires_grad)
        return {
            "size": run.model_args.model_name_or_path,
            "params": run.num_parameters,
            "trainable": trained,
            "batch": batch_size,
            "steps": timed_steps,
            "step_ms": 1000 * seconds / timed_steps,
            "samples_per_s": per_batch["samples"] * timed_steps / seconds,
            "tokens_per_s": per_batch["tokens"] * timed_steps / seconds,
            "tokens_per_sample": per_batch["tokens"] / per_batch["samples"],
            "device": str(run.training_args.device),
            "bf16": run.training_args.bf16,
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", nargs="+", default=["xs", "s"], choices=tiny_vlm.SIZES)
    parser.add_argument("--batch_sizes", nargs="+", type=int, default=[8])
    parser.add_argument("--config", default="img2text", help="img2text | text2img | pretrain")
    parser.add_argument("--data", type=Path, help="dataset folder (default: a fresh 8-persona one)")
    parser.add_argument("--steps", type=int, default=25, help="steps per measurement")
    parser.add_argument("--warmup", type=int, default=5, help="untimed first steps")
    parser.add_argument("--peak_tflops", type=float, default=None,
                        help="accelerator peak TFLOP/s for MFU (H100 SXM bf16 dense: 989)")
    parser.add_argument("--use_peft", action="store_true", help="LoRA instead of full")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="bench_train."))
    data = args.data
    if data is None:
        from persona_bench.persona_gen.generate import generate_dataset

        data = generate_dataset(work / "data", num_personas=8, seed=0, image_size=64, variants=3,
                                pretrain_personas=16, workers=1, progress=False)
    extra = ["--use_peft"] if args.use_peft else []
    rows = []
    for size in args.sizes:
        model_dir = work / size
        tiny_vlm.main(["--out", str(model_dir), "--size", size])
        for batch in args.batch_sizes:
            row = bench_one(model_dir, data, args.config, batch, args.steps, args.warmup, extra)
            row["size"] = size
            if torch.cuda.is_available():
                row["tflops"] = 6 * row["params"] * row["tokens_per_s"] / 1e12
                if args.peak_tflops:
                    row["mfu"] = row["tflops"] / args.peak_tflops
            rows.append(row)
            print(json.dumps(row), file=sys.stderr)

    cols = ["size", "params", "batch", "device", "step_ms", "samples_per_s", "tokens_per_s",
            "tokens_per_sample", *(["tflops"] if torch.cuda.is_available() else []),
            *(["mfu"] if args.peak_tflops and torch.cuda.is_available() else [])]
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for row in rows:
        cells = [f"{row[c]:.3g}" if isinstance(row[c], float) else
                 f"{row[c] / 1e6:.1f}M" if c == "params" else str(row[c]) for c in cols]
        print("| " + " | ".join(cells) + " |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
