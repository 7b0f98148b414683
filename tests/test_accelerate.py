"""`accelerate launch` with 2 CPU processes (DDP, gloo; trainers/accelerate/multi_cpu.yaml)
follows the same loss curve as 1 process with the same effective batch."""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

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
                          env={**__import__("os").environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    record = json.loads((out / "persona_train.json").read_text())
    return [float(v) for v in LOSS.findall(done.stdout)], record["hyperparameters"]


def test_two_cpu_processes_match_one(tiny_vlm_dir, dataset_dir, tmp_path):
    one, one_hyper = _train([sys.executable], tiny_vlm_dir, dataset_dir, tmp_path / "one", 8)
    accelerate = shutil.which("accelerate", path=str(Path(sys.executable).parent))
    two, two_hyper = _train(
        [accelerate, "launch", "--config_file", str(ROOT / "trainers/accelerate/multi_cpu.yaml"),
         "--num_processes", "2", "--main_process_port", str(_free_port())],
        tiny_vlm_dir, dataset_dir, tmp_path / "two", 4)
    assert (one_hyper["world_size"], two_hyper["world_size"]) == (1, 2)
    assert one_hyper["effective_batch_size"] == two_hyper["effective_batch_size"] == 8
    assert len(one) == len(two) == STEPS
    # same samples per step (accelerate shards each global batch), gradients averaged
    # over processes: equal up to the reduction order of the per-process means
    assert max(abs(a - b) for a, b in zip(one, two, strict=True)) < 0.02, (one, two)
