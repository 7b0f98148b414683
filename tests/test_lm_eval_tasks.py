"""The lm-eval task pack (text queries), run through the real `lm_eval` CLI on a VLM."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import datasets
import pytest

from persona_bench.tasks.data import ENV_VAR
from persona_bench.tasks.hf_model import HFModel, Query
from persona_bench.tasks.records import RECORD_KEYS
from persona_bench.tasks.writer import PACK_ROOT, pack_task_names

LIMIT = 8
# trained_vlm_dir was trained on text (text2img): its lm-eval group is pbench_text_text2img.
TASKS = {"pbench_text_text2img_source": ("text2img", "test_source"),
         "pbench_text_text2img_seen": ("text2img", "seen")}


def lm_eval_cli(model: str, pretrained: Path, tasks: str, data: Path, out: Path,
                limit: int | None = LIMIT) -> subprocess.CompletedProcess:
    """The checked-in pack, pointed at the local dataset through $PERSONA_BENCH_DATA."""
    command = [
        str(Path(sys.executable).parent / "lm_eval"),
        "--model", model,
        "--model_args", f"pretrained={pretrained},dtype=float32",
        "--apply_chat_template",
        "--tasks", tasks,
        "--include_path", str(PACK_ROOT / "lm_eval"),
        "--device", "cpu", "--batch_size", "8",
        *(["--limit", str(limit)] if limit else []),
        "--output_path", str(out), "--log_samples",
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", ENV_VAR: str(data)}
    return subprocess.run(command, capture_output=True, text=True, timeout=900, env=env)


@pytest.fixture(scope="module")
def lm_eval_proc(trained_vlm_dir: Path, dataset_dir: Path,
                 tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """`lm_eval --model hf-multimodal --tasks pbench_text_text2img` (the README's command)."""
    out = tmp_path_factory.mktemp("lm_eval")
    proc = lm_eval_cli("hf-multimodal", trained_vlm_dir, "pbench_text_text2img", dataset_dir,
                       out)
    found = list(out.glob("*/results_*.json"))
    assert proc.returncode == 0 and found, proc.stdout[-4000:] + proc.stderr[-4000:]
    return found[0].parent, proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def lm_eval_run(lm_eval_proc: tuple[Path, str]) -> Path:
    return lm_eval_proc[0]


def test_generation_length_comes_from_the_task(lm_eval_proc: tuple[Path, str]) -> None:
    """No stored max_new_tokens overrides the task's max_gen_toks (and no warning per call)."""
    assert "Both `max_new_tokens`" not in lm_eval_proc[1]


def test_leaderboard_score_labels_the_text_trained_model(lm_eval_run: Path, capsys) -> None:
    from persona_bench.cli import main

    assert main(["leaderboard", "score", str(lm_eval_run)]) == 0
    printed = capsys.readouterr().out
    assert "text2img: trained on text" in printed and "img2text" not in printed


def test_hf_backend_on_a_text_only_causal_lm(tiny_vlm_dir: Path, dataset_dir: Path,
                                             tmp_path: Path) -> None:
    """`lm_eval --model hf` (the README's text-only command) on a plain Llama."""
    from transformers import AutoProcessor, LlamaConfig, LlamaForCausalLM

    tokenizer = AutoProcessor.from_pretrained(tiny_vlm_dir).tokenizer
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64,
                         num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2,
                         pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
    LlamaForCausalLM(config).save_pretrained(tmp_path / "lm")
    tokenizer.save_pretrained(tmp_path / "lm")
    proc = lm_eval_cli("hf", tmp_path / "lm", "pbench_text_text2img_source", dataset_dir,
                       tmp_path / "out", limit=4)
    found = list((tmp_path / "out").glob("*/samples_pbench_text_text2img_source_*.jsonl"))
    assert proc.returncode == 0 and found, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert len(found[0].read_text().splitlines()) == 4


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
    assert {"pbench_text_img2text", "pbench_text_text2img", "pbench_text_text2img_seen"} <= ours
    assert not ours & set(TaskManager().all_tasks)
