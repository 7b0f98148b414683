"""The lmms-eval task pack, run through the real `lmms-eval` CLI as a user would type it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from huggingface_hub import constants

import persona_bench.tasks.data
from persona_bench.errors import UserError
from persona_bench.matching import contains_match, exact_match
from persona_bench.persona_gen.publish import read_metadata
from persona_bench.tasks.data import ENV_VAR, HUB_ID
from persona_bench.tasks.records import RECORD_KEYS
from persona_bench.tasks.writer import PACK_ROOT, pack_task_names, write_task_pack

LIMIT = 8
HALVES = {"source": "image", "target": "text"}  # img2text: modality of each half


LAUNCHERS = {  # the forms the README shows; lmms-eval 0.7.3 installs no `lmms_eval` script
    "lmms-eval": [str(Path(sys.executable).parent / "lmms-eval")],
    "python -m lmms_eval": [sys.executable, "-m", "lmms_eval"],
}


def _lmms_eval(launcher: str, model: Path, data: Path, out: Path, tasks: str,
               limit: int) -> Path:
    """Run lmms-eval as a user types it on a pinned pack; the folder with its result files."""
    include = write_task_pack(str(data), out / "my_tasks", packs=("lmms",))["lmms"]
    command = [
        *LAUNCHERS[launcher],
        "--model", "persona_vlm",
        "--model_args", f"pretrained={model},dtype=float32",
        "--tasks", tasks,
        "--include_path", str(include),
        "--device", "cpu", "--batch_size", "8", "--limit", str(limit),
        "--output_path", str(out / "logs"), "--log_samples",
    ]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=900,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})
    found = list((out / "logs").glob("*/*_results.json"))
    assert proc.returncode == 0 and found, proc.stdout[-4000:] + proc.stderr[-4000:]
    return found[0].parent


@pytest.fixture(scope="module")
def lmms_run(tiny_vlm_dir: Path, dataset_dir: Path, tmp_path_factory: pytest.TempPathFactory
             ) -> Path:
    """`lmms-eval ... --tasks persona_img2text` on the untrained tiny VLM (a local copy)."""
    return _lmms_eval("lmms-eval", tiny_vlm_dir, dataset_dir, tmp_path_factory.mktemp("lmms"),
                      "persona_img2text", LIMIT)


def test_python_dash_m_form_runs_the_same_task(tiny_vlm_dir: Path, dataset_dir: Path,
                                               lmms_run: Path, tmp_path: Path) -> None:
    folder = _lmms_eval("python -m lmms_eval", tiny_vlm_dir, dataset_dir, tmp_path,
                        "persona_img2text_source", 2)
    assert [s["exact"]["id"] for s in _samples(folder, "persona_img2text_source")] == [
        s["exact"]["id"] for s in _samples(lmms_run, "persona_img2text_source")[:2]]


def lmms_eval_cli(model: str, model_args: str, tasks: str, include: Path, out: Path,
                  limit: int = LIMIT, batch_size: int = 8) -> subprocess.CompletedProcess:
    """The `lmms-eval` command line as the README writes it."""
    command = [
        str(Path(sys.executable).parent / "lmms-eval"),
        "--model", model, "--model_args", model_args, "--tasks", tasks,
        "--include_path", str(include), "--batch_size", str(batch_size), "--limit", str(limit),
        "--output_path", str(out), "--log_samples",
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=900,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})


def test_llava_hf_backend_with_the_readme_arguments(tiny_vlm_dir: Path, dataset_dir: Path,
                                                    tmp_path: Path) -> None:
    """lmms-eval's own `llava_hf` on the image half (it needs decord, device_map on CPU, and
    batch size 1; it cannot answer text-only prompts)."""
    include = write_task_pack(str(dataset_dir), tmp_path / "t", packs=("lmms",))["lmms"]
    proc = lmms_eval_cli("llava_hf", f"pretrained={tiny_vlm_dir},device=cpu,device_map=cpu,"
                         "dtype=float32", "persona_img2text_source", include, tmp_path / "logs",
                         limit=4, batch_size=1)
    found = list((tmp_path / "logs").glob("*/*_samples_persona_img2text_source.jsonl"))
    assert proc.returncode == 0 and found, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert len(found[0].read_text().splitlines()) == 4


def test_a_failing_persona_vlm_backend_fails_the_command(unsupported_vlm_dir: Path,
                                                         dataset_dir: Path,
                                                         tmp_path: Path) -> None:
    """lmms-eval logs a backend's exception and exits 0; with persona_vlm it exits 1."""
    include = write_task_pack(str(dataset_dir), tmp_path / "t", packs=("lmms",))["lmms"]
    proc = lmms_eval_cli("persona_vlm", f"pretrained={unsupported_vlm_dir}",
                         "persona_img2text_source", include, tmp_path / "logs", limit=2)
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "unsupported architecture 'aya_vision'" in proc.stdout + proc.stderr


def _samples(folder: Path, task: str) -> list[dict]:
    (path,) = folder.glob(f"*_samples_{task}.jsonl")
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_group_runs_both_halves_at_chance(lmms_run: Path) -> None:
    (results_file,) = lmms_run.glob("*_results.json")
    results = json.loads(results_file.read_text())
    assert sorted(results["group_subtasks"]["persona_img2text"]) == [
        "persona_img2text_source", "persona_img2text_target"]
    for half in HALVES:
        scores = results["results"][f"persona_img2text_{half}"]
        assert scores["exact,none"] <= 0.25 and scores["contains,none"] <= 0.25  # untrained
        config = results["configs"][f"persona_img2text_{half}"]
        assert config["metadata"]["content_hash"].startswith("sha256:")
        assert config["generation_kwargs"]["until"] == ["\n"]


def test_sample_records_follow_the_contract_and_pair_up(lmms_run: Path) -> None:
    pairs = {}
    for half, modality in HALVES.items():
        samples = _samples(lmms_run, f"persona_img2text_{half}")
        assert len(samples) == LIMIT
        for sample in samples:
            record = sample["exact"]
            assert tuple(record) == RECORD_KEYS and sample["contains"] == record
            assert record["modality"] == modality
            assert record["prediction"] == sample["filtered_resps"].strip()
            assert record["exact"] == exact_match(record["prediction"], record["answer"])
            assert record["contains"] == contains_match(record["prediction"], record["answer"])
        pairs[half] = [(s["exact"]["persona_id"], s["exact"]["fact"]) for s in samples]
    assert pairs["source"] == pairs["target"]


def test_names_do_not_collide_with_lmms_eval_builtins() -> None:
    from lmms_eval.tasks import TaskManager

    ours = pack_task_names("lmms")
    assert {"persona_img2text", "persona_text2img", "persona_img2text_seen"} <= ours
    assert not ours & set(TaskManager("ERROR").all_tasks)


def test_checked_in_pack_reads_the_environment_or_the_hub_id(
    dataset_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lmms_eval.utils import load_yaml_config

    task = str(PACK_ROOT / "lmms" / "persona_img2text_source.yaml")
    monkeypatch.setenv(ENV_VAR, str(dataset_dir))
    config = load_yaml_config(task)
    assert config["dataset_path"] == str(dataset_dir.resolve())
    assert config["metadata"]["content_hash"] == read_metadata(dataset_dir)["content_hash"]
    assert (config["dataset_name"], config["test_split"]) == ("img2text", "test_source")
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "gone"))
    with pytest.raises(UserError, match="does not exist"):
        load_yaml_config(task)

    monkeypatch.delenv(ENV_VAR)
    monkeypatch.setattr(persona_bench.tasks.data, "content_hash", lambda path: None)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    assert load_yaml_config(task)["dataset_path"] == HUB_ID
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)  # and not cached: say what to do
    with pytest.raises(UserError, match=ENV_VAR):
        load_yaml_config(task)


@pytest.mark.parametrize("pack, task", [("lmms", "persona_img2text_source.yaml"),
                                        ("lm_eval", "pbench_text_img2text_target.yaml")])
def test_checked_in_packs_load_the_folder_named_or_refuse(
    pack: str, task: str, dataset_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two folders called `data`: each task config loads through its own content cache, and
    a copy whose bytes no longer match its card is refused before any row is read."""
    import shutil

    import datasets
    from lmms_eval.utils import load_yaml_config

    from persona_bench.persona_gen.generate import generate_dataset

    small = dict(pretrain_personas=0, image_size=16, variants=2, workers=1, progress=False)
    other = generate_dataset(tmp_path / "b" / "data", num_personas=3, **small)
    copy = shutil.copytree(dataset_dir, tmp_path / "a" / "data")
    configs = {}
    for folder in (copy, other):
        monkeypatch.setenv(ENV_VAR, str(folder))
        configs[folder] = load_yaml_config(str(PACK_ROOT / pack / task))
        loaded = datasets.load_dataset(configs[folder]["dataset_path"], "img2text",
                                       split="seen", **configs[folder]["dataset_kwargs"])
        assert len(loaded) == 7 * read_metadata(folder)["options"]["num_personas"]
    assert configs[copy]["dataset_kwargs"] != configs[other]["dataset_kwargs"]
    shard = next(copy.glob("img2text/seen-*.parquet"))
    shard.write_bytes(shard.read_bytes()[:-100])  # truncated in place, name unchanged
    monkeypatch.setenv(ENV_VAR, str(copy))
    with pytest.raises(UserError, match="do not match the card's content hash") as err:
        load_yaml_config(str(PACK_ROOT / pack / task))
    assert "\n" not in str(err.value)
