"""The lm-eval task pack (text queries), run through the real `lm_eval` CLI on a VLM."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import datasets
import pytest

from tasks.data import ENV_VAR
from tasks.hf_model import HFModel, Query
from tasks.records import RECORD_KEYS
from tasks.writer import PACK_ROOT, pack_task_names

LIMIT = 8
TASKS = {"pbench_text_img2text_target": ("img2text", "test_target"),
         "pbench_text_text2img_source": ("text2img", "test_source")}


@pytest.fixture(scope="module")
def lm_eval_run(trained_vlm_dir: Path, dataset_dir: Path,
                tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The checked-in pack, pointed at the local dataset through $PERSONA_BENCH_DATA."""
    out = tmp_path_factory.mktemp("lm_eval")
    command = [
        str(Path(sys.executable).parent / "lm_eval"),
        "--model", "hf-multimodal",
        "--model_args", f"pretrained={trained_vlm_dir},dtype=float32",
        "--apply_chat_template",
        "--tasks", "pbench_text",
        "--include_path", str(PACK_ROOT / "lm_eval"),
        "--device", "cpu", "--batch_size", "8", "--limit", str(LIMIT),
        "--output_path", str(out), "--log_samples",
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", ENV_VAR: str(dataset_dir)}
    proc = subprocess.run(command, capture_output=True, text=True, timeout=900, env=env)
    found = list(out.glob("*/results_*.json"))
    assert proc.returncode == 0 and found, proc.stdout[-4000:] + proc.stderr[-4000:]
    return found[0].parent


def test_text_tasks_report_both_metrics_and_records(lm_eval_run: Path) -> None:
    (results_file,) = lm_eval_run.glob("results_*.json")
    logged = json.loads(results_file.read_text())
    for task in TASKS:
        assert {"exact,none", "contains,none"} <= set(logged["results"][task])
        assert logged["configs"][task]["metadata"]["content_hash"].startswith("sha256:")
        (samples_file,) = lm_eval_run.glob(f"samples_{task}_*.jsonl")
        samples = [json.loads(line) for line in samples_file.read_text().splitlines()]
        assert len(samples) == LIMIT
        for sample in samples:
            assert tuple(sample["exact"]) == RECORD_KEYS and sample["exact"]["modality"] == "text"


def test_answers_match_the_persona_vlm_backend(lm_eval_run: Path, trained_vlm_dir: Path,
                                               dataset_dir: Path) -> None:
    """lm-eval's hf-multimodal and our backend give the same greedy answers."""
    model = HFModel(str(trained_vlm_dir), device="cpu", dtype="float32")
    for task, (config, split) in TASKS.items():
        (samples_file,) = lm_eval_run.glob(f"samples_{task}_*.jsonl")
        theirs = {s["exact"]["id"]: s["exact"]["prediction"]
                  for s in map(json.loads, samples_file.read_text().splitlines())}
        rows = datasets.load_dataset(str(dataset_dir), config, split=split).select(range(LIMIT))
        ours = model.generate([Query(r["question"]) for r in rows], max_new_tokens=16,
                              until=["\n"])
        assert theirs == {r["id"]: text.strip() for r, text in zip(rows, ours, strict=True)}


def test_names_do_not_collide_with_lm_eval_builtins() -> None:
    """lm-eval's --include_path overrides built-ins, so neither pack may reuse a name."""
    from lm_eval.tasks import TaskManager

    ours = pack_task_names("lm_eval") | pack_task_names("lmms")
    assert {"pbench_text", "pbench_text_text2img_seen"} <= ours
    assert not ours & set(TaskManager().all_tasks)
