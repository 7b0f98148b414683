"""Greedy exact-match recall of a checkpoint on one split (a quick check, not the benchmark).

    python -m persona_bench.trainers.recall --model m1 --data DATA --config img2text --split seen

The benchmark's scores come from the lmms-eval / lm-eval task packs; this helper is for
tests, training sanity checks and choosing hyper-parameters.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from itertools import groupby

import torch
from datasets import Dataset
from transformers import AutoModelForImageTextToText, AutoProcessor, PreTrainedModel, ProcessorMixin

from persona_bench.experiments import DIRECTIONS
from persona_bench.matching import exact_match
from persona_bench.prompting import build_prompt, encode_prompts


@dataclass
class Recall:
    """Exact-match accuracy overall and per fact, with every prediction."""

    accuracy: float
    by_fact: dict[str, float]
    predictions: list[dict[str, str | bool]] = field(repr=False)

    def summary(self) -> dict:
        return {"accuracy": self.accuracy, "n": len(self.predictions), "by_fact": self.by_fact}


@torch.inference_mode()
def generate_answers(model: PreTrainedModel, processor: ProcessorMixin, rows: Dataset,
                     batch_size: int = 32, max_new_tokens: int = 32) -> list[str]:
    """Greedy answers for each row's user turn (rows keep their order)."""
    model.eval()
    answers: list[str] = [""] * len(rows)
    # Batches hold rows with the same number of images, which every processor accepts.
    order = sorted(range(len(rows)), key=lambda i: len(rows[i]["images"]))
    for _, group in groupby(order, key=lambda i: len(rows[i]["images"])):
        group = list(group)
        for start in range(0, len(group), batch_size):
            index = group[start:start + batch_size]
            batch = [rows[i] for i in index]
            images = [row["images"] for row in batch]
            prompts = [build_prompt(processor, row["messages"][:-1], imgs)
                       for row, imgs in zip(batch, images, strict=True)]
            inputs = encode_prompts(processor, prompts, images).to(model.device)
            if "pixel_values" in inputs:
                inputs["pixel_values"] = inputs["pixel_values"].to(model.dtype)
            output = model.generate(**inputs, do_sample=False, max_new_tokens=max_new_tokens)
            texts = processor.batch_decode(output[:, inputs["input_ids"].shape[1]:],
                                           skip_special_tokens=True)
            for i, text in zip(index, texts, strict=True):
                answers[i] = text.strip()
    return answers


def recall(model: PreTrainedModel, processor: ProcessorMixin, rows: Dataset,
           batch_size: int = 32) -> Recall:
    """Greedy exact-match recall of `rows[*]['answer']`."""
    answers = generate_answers(model, processor, rows, batch_size=batch_size)
    predictions = [
        {"id": row["id"], "fact": row["fact"], "answer": row["answer"], "prediction": pred,
         "exact": exact_match(pred, row["answer"])}
        for row, pred in zip(rows, answers, strict=True)
    ]
    per_fact: dict[str, list[bool]] = defaultdict(list)
    for p in predictions:
        per_fact[p["fact"]].append(p["exact"])
    return Recall(
        accuracy=sum(p["exact"] for p in predictions) / max(1, len(predictions)),
        by_fact={f: sum(v) / len(v) for f, v in sorted(per_fact.items())},
        predictions=predictions,
    )


def main(argv: list[str] | None = None) -> int:
    from persona_bench.trainers.loading import load_rows

    parser = argparse.ArgumentParser(prog="python -m persona_bench.trainers.recall",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--config", default=next(iter(DIRECTIONS)))
    parser.add_argument("--split", default="seen")
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--limit", type=int, default=None, help="only the first N rows")
    parser.add_argument("--show", type=int, default=5, help="print N wrong predictions")
    args = parser.parse_args(argv)
    rows = load_rows(args.data, args.config, args.split)
    if args.limit:
        rows = rows.select(range(min(args.limit, len(rows))))
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = AutoModelForImageTextToText.from_pretrained(args.model).to(device)
    result = recall(model, AutoProcessor.from_pretrained(args.model), rows, args.batch_size)
    print(json.dumps(result.summary(), indent=2))
    for p in [p for p in result.predictions if not p["exact"]][: args.show]:
        print(f"  {p['id']}: {p['prediction']!r} != {p['answer']!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
