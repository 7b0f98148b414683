"""`accelerate launch` with 2 CPU processes follows the same loss curve as 1 process with
the same effective batch: DDP over gloo (trainers/accelerate/multi_cpu.yaml) and FSDP2
(trainers/accelerate/fsdp.yaml with `--mixed_precision no`, the CPU has no bf16 autocast
here), which also saves a full, reloadable checkpoint."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SFT = str(ROOT / "trainers" / "sft.py")
LOSS = re.compile(r"'loss': '([0-9.]+)'")
STEPS = 4


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _train(launcher: list[str], model: Path, data: Path, out: Path, batch: int,
           ) -> tuple[list[float], dict]:
    argv = [*launcher, SFT, "--model_name_or_path", str(model), "--dataset_name", str(data),
            "--dataset_config", "text2img", "--output_dir", str(out), "--max_steps", str(STEPS),
            "--per_device_train_batch_size", str(batch), "--logging_steps", "1",
            "--save_strategy", "no", "--seed", "0", "--learning_rate", "1e-3"]
    done = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    record = json.loads((out / "persona_train.json").read_text())
    return [float(v) for v in LOSS.findall(done.stdout)], record["hyperparameters"]


@pytest.fixture(scope="module")
def one_process(tiny_vlm_dir, dataset_dir, tmp_path_factory) -> tuple[list[float], dict]:
    out = tmp_path_factory.mktemp("accelerate") / "one"
    return _train([sys.executable], tiny_vlm_dir, dataset_dir, out, 8)


def _launch(config: str, *extra: str) -> list[str]:
    accelerate = shutil.which("accelerate", path=str(Path(sys.executable).parent))
    return [accelerate, "launch", "--config_file", str(ROOT / "trainers/accelerate" / config),
            "--num_processes", "2", "--main_process_port", str(_free_port()), *extra]


def _same_curve(one: list[float], two: list[float]) -> None:
    # same samples per step (accelerate shards each global batch), gradients averaged
    # over processes: equal up to the reduction order of the per-process means
    assert len(one) == len(two) == STEPS
    assert max(abs(a - b) for a, b in zip(one, two, strict=True)) < 0.02, (one, two)


def test_ddp_two_cpu_processes_match_one(one_process, tiny_vlm_dir, dataset_dir, tmp_path):
    one, one_hyper = one_process
    two, two_hyper = _train(_launch("multi_cpu.yaml"), tiny_vlm_dir, dataset_dir,
                            tmp_path / "two", 4)
    assert (one_hyper["world_size"], two_hyper["world_size"]) == (1, 2)
    assert one_hyper["effective_batch_size"] == two_hyper["effective_batch_size"] == 8
    _same_curve(one, two)


def test_fsdp_two_cpu_processes_match_one(one_process, tiny_vlm_dir, dataset_dir, tmp_path):
    from transformers import AutoModelForImageTextToText

    out = tmp_path / "fsdp"
    two, hyper = _train(_launch("fsdp.yaml", "--mixed_precision", "no"), tiny_vlm_dir,
                        dataset_dir, out, 4)
    assert hyper["world_size"] == 2
    _same_curve(one_process[0], two)
    model = AutoModelForImageTextToText.from_pretrained(out)  # a full, unsharded checkpoint
    reference = AutoModelForImageTextToText.from_pretrained(tiny_vlm_dir)
    assert sum(p.numel() for p in model.parameters()) == sum(
        p.numel() for p in reference.parameters())
