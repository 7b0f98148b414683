"""The shared contracts of every stage: names of files, schema ids, task-name shapes.

The ground floor: stdlib only, imported by persona_gen, trainers, tasks and leaderboards
alike, so that no stage has to import another stage to agree on a file name or an id.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

MODALITIES = ("image", "text")
BOTH_MODALITIES = "+".join(MODALITIES)  # a model taught both (the unlearning experiment)

HUB_ID = "persona-bench/persona-bench"  # the published dataset
DATA_ENV_VAR = "PERSONA_BENCH_DATA"  # a local dataset folder for the checked-in task packs

TRAIN_RECORD = "persona_train.json"  # in every trained model folder (trainers/record.py)
MANIFEST = "run_manifest.json"  # in every pipeline run folder (persona_bench/pipeline.py)
CARD = "README.md"  # dataset and model cards

MANIFEST_SCHEMA = "persona-bench/run-manifest/1"
ROW_SCHEMA = "persona-bench/leaderboard-row/1"
BOARD_SCHEMA = "persona-bench/leaderboard/1"
SCORE_SCHEMA = "persona-bench/score/1"
RESULTS_SCHEMA = "persona-bench/experiment-results/1"

TASK_PREFIX = "persona_"  # lmms-eval tasks: persona_<config>_<role>, groups persona_<config>
TEXT_TASK_PREFIX = "pbench_text_"  # lm-eval (text-only) tasks; lm-eval owns `persona_*`


def task_name(config: str, role: str, text_only: bool = False) -> str:
    return f"{TEXT_TASK_PREFIX if text_only else TASK_PREFIX}{config}_{role}"


def group_name(config: str, text_only: bool = False) -> str:
    return f"{TEXT_TASK_PREFIX if text_only else TASK_PREFIX}{config}"


def likelihood_samples(config: str, role: str) -> str:
    """The likelihood scorer's per-sample log of one half."""
    return f"likelihood_{config}_{role}.jsonl"


def likelihood_results(config: str) -> str:
    return f"likelihood_{config}_results.json"


def read_train_record(model: str | Path) -> dict[str, Any] | None:
    """The `persona_train.json` of a local model folder, or None (a Hub id, a base model)."""
    path = Path(model) / TRAIN_RECORD
    return json.loads(path.read_text()) if path.is_file() else None
