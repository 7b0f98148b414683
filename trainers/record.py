"""What a training run writes beside its checkpoint: `persona_train.json` and a model card.

`persona_train.json` is the machine-readable record the leaderboard reads; it is written
last, so its presence marks a finished output directory.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from persona_bench.atomic import write_text_atomic
from persona_bench.contracts import BOTH_MODALITIES, CARD, TRAIN_RECORD


def dataset_identity(dataset: str) -> dict[str, Any]:
    """Dataset id plus the generator's content hash and options (None when unreadable)."""
    from persona_bench.errors import UserError

    try:
        from persona_bench.persona_gen.publish import read_metadata

        meta = read_metadata(dataset)
    except (ImportError, UserError):
        meta = {}
    return {"id": dataset, "content_hash": meta.get("content_hash"),
            "generator": {k: v for k, v in meta.items() if k != "content_hash"} or None}


def write_record(out_dir: str | Path, record: dict) -> None:
    out = Path(out_dir)
    write_text_atomic(out / CARD, model_card(record))
    write_text_atomic(out / TRAIN_RECORD, json.dumps(record, indent=2, default=str) + "\n")


def _augment_line(record: dict) -> str:
    mix = record.get("augment")
    if not mix:
        return ""
    return (f"\n- Augmentation mixed in: config `{mix['config']}`, {mix['rows']} rows "
            f"(ratio {mix['ratio']} of the train rows; the augment experiment)")


def _unlearn_line(record: dict) -> str:
    done = record.get("unlearning")
    if not done:
        return ""
    settings = ", ".join(f"{k}={v}" for k, v in done["settings"].items()) or "none"
    return (f"\n- **Unlearned** with `{done['method']}` ({done['about']}; settings: {settings}) "
            f"on split `{done['forget_split']}` ({done['num_forget_rows']} rows) presented in "
            f"**{done['forget_modality']}** questions; retain set `{done['retain_split']}`"
            + (f"; reference model `{done['reference']}`" if done.get("reference") else "")
            + (f"; the VLM is frozen, an external module of {done['external_parameters']:,} "
               "parameters was trained (visual_filter.safetensors)"
               if done.get("external_parameters") else ""))


def _intro(record: dict) -> str:
    if record.get("unlearning"):
        return ("Unlearned by persona-bench `unlearn` (a TRL trainer with the method's loss): a "
                "forget set removed through one modality;\nthe benchmark then tests recall of "
                "forget, retain and held-out personas in both modalities.")
    if record.get("source_modality") == BOTH_MODALITIES:
        return ("Fine-tuned by persona-bench `train` (TRL SFT) on **both modalities** of a\n"
                "synthetic-persona dataset (the unlearning experiment's starting point).")
    return ("Fine-tuned by persona-bench `train` (TRL SFT) on **one modality** of a\n"
            "synthetic-persona dataset; the benchmark then tests recall in the other modality.")


def _extra_lines(record: dict) -> str:
    return _augment_line(record) + _unlearn_line(record)


def model_card(record: dict) -> str:
    """A Hub model card naming base model, dataset (id + hash), modality and settings."""
    base, data = record["base_model"], record["dataset"]
    front: dict[str, Any] = {
        "library_name": "transformers",
        "pipeline_tag": "image-text-to-text",
        "tags": ["persona-bench", "trl", "unlearning" if record.get("unlearning") else "sft",
                 record["training"]["method"]],
    }
    if not Path(base).exists():  # a Hub id
        front["base_model"] = base
    if not Path(data["id"]).exists():
        front["datasets"] = [data["id"]]
    trained = ", ".join(p for p, on in record["training"]["parts"].items() if on) or "nothing"
    hyper = "\n".join(f"| `{k}` | `{v}` |" for k, v in record["hyperparameters"].items())
    body = f"""
# {Path(record['output_dir']).name}

{_intro(record)}

- Base model: `{base}`
- Dataset: `{data['id']}` config `{record['dataset_config']}` split `{record['dataset_split']}`
  ({record['num_train_rows']} rows), content hash `{data['content_hash']}`{_extra_lines(record)}
- Source modality (trained): **{record['source_modality']}**; target modality (tested):
  **{record['target_modality']}**
- Method: **{record['training']['method']}**; trained parts: {trained}
  (LoRA merged: {record['training'].get('merged')})
- Parameters: {record['num_parameters']:,} total, {record['num_trainable_parameters']:,} trained
- Seed: {record['seed']}; final train loss: {record.get('train_loss')}

## Command

```
{record['command']}
```

## Hyper-parameters

| setting | value |
|---|---|
{hyper}

All settings are also in `persona_train.json`.
"""
    return "---\n" + yaml.safe_dump(front, sort_keys=False) + "---\n" + body


# model-index metrics of a leaderboard row: (score metric, split, label, higher is better)
INDEX_METRICS = (
    ("source", "test_source", "source recall", True),
    ("likelihood_source", "test_source", "likelihood source recall", True),
    ("target", "test_target", "target recall", True),
    ("likelihood_target", "test_target", "likelihood target recall", True),
    ("gap", "test_target", "gap (source - target recall)", False),
    ("transfer_ratio", "test_target", "transfer ratio (target / source recall)", True),
)
CHANCE_OF = {"source": "chance", "target": "chance",
             "likelihood_source": "likelihood_chance", "likelihood_target": "likelihood_chance"}


def model_index(row: dict) -> list[dict]:
    """The Hub `model-index` results of one leaderboard row: one result per test split,
    each metric named with its direction, chance level and 95% CI."""
    group = row["score"]["groups"]["all"]
    results: dict[str, dict] = {}
    for metric, split, label, higher in INDEX_METRICS:
        interval = group["metrics"].get(metric)
        if not interval or interval.get("value") is None:
            continue
        chance = group.get(CHANCE_OF.get(metric, ""))
        notes = ["higher is better" if higher else "lower is better",
                 f"95% CI [{interval['low']:.3f}, {interval['high']:.3f}]"]
        if chance is not None:
            notes.insert(1, f"chance {chance:.3f}")
        result = results.setdefault(split, {
            "task": {"type": "image-text-to-text",
                     "name": f"persona-bench cross-modal recall ({row['direction']})"},
            "dataset": {"name": "persona-bench", "type": row["dataset"]["id"],
                        "config": row["direction"], "split": split,
                        "revision": row["dataset"]["content_hash"]},
            "metrics": [],
        })
        result["metrics"].append({"type": metric, "name": f"{label} ({'; '.join(notes)})",
                                  "value": round(float(interval["value"]), 4),
                                  "verified": False})
    return list(results.values())


def write_model_index(model_dir: str | Path, row: dict) -> Path:
    """Put the row's results into the model card's `model-index` metadata (the Hub shows
    them on the model page); the rest of the card is kept. Returns the card path."""
    card = Path(model_dir) / CARD
    text = card.read_text("utf-8") if card.is_file() else ""
    front: dict[str, Any] = {}
    body = text
    if text.startswith("---\n") and "\n---\n" in text[4:]:
        head, body = text[4:].split("\n---\n", 1)
        front = yaml.safe_load(head) or {}
    front["model-index"] = [{"name": row["name"], "results": model_index(row)}]
    write_text_atomic(card, "---\n" + yaml.safe_dump(front, sort_keys=False, allow_unicode=True)
                      + "---\n" + body)
    return card
