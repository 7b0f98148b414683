"""Data-parallel lmms-eval: `accelerate launch --num_processes 2 -m lmms_eval --model
persona_vlm ...` on CPU (gloo) logs the same samples and scores as one process.

The one-process reference is lmms-eval in this process (`tasks.evaluate.run_lmms_eval`,
what `persona-bench eval` runs), started while the two processes load: a third lmms-eval
CLI would cost ~20 s of imports and task indexing on a 2-core machine."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIMIT = 5  # odd: rank 0 gets 3 docs, rank 1 gets 2 and one padding request
TASKS = {"persona_img2text_source", "persona_img2text_target"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(launcher: list[str], model: Path, data: Path, out: Path, log: Path
           ) -> subprocess.Popen:
    """The README's command (checked-in pack, PERSONA_BENCH_DATA), started in the background
    with its output in `log` (a pipe nobody reads yet could fill up and stall it)."""
    command = [
        *launcher, "-m", "lmms_eval", "--model", "persona_vlm",
        "--model_args", f"pretrained={model},dtype=float32", "--tasks", "persona_img2text",
        "--include_path", "tasks/lmms", "--batch_size", "2", "--limit", str(LIMIT),
        "--log_samples", "--output_path", str(out),
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1",
           "PERSONA_BENCH_DATA": str(data)}
    with log.open("w") as sink:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=sink,
                                stderr=subprocess.STDOUT, start_new_session=True)


def _read(folder: Path) -> tuple[dict, dict]:
    """(per task: doc id -> (prediction, exact, contains), per task: scores) of one run."""
    (results,) = folder.glob("*_results.json")
    scores = json.loads(results.read_text())["results"]
    samples = {}
    for task in TASKS:
        (path,) = folder.glob(f"*_samples_{task}.jsonl")
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        ids = [row["doc_id"] for row in rows]
        assert sorted(ids) == list(range(LIMIT)), ids  # every doc exactly once
        samples[task] = {row["doc_id"]: (row["exact"]["prediction"], row["exact"]["exact"],
                                         row["exact"]["contains"]) for row in rows}
    return samples, {task: scores[task] for task in TASKS}


def test_two_cpu_processes_log_what_one_process_logs(tiny_vlm_dir: Path, dataset_dir: Path,
                                                     tmp_path: Path) -> None:
    from persona_bench.tasks.evaluate import run_lmms_eval

    accelerate = shutil.which("accelerate", path=str(Path(sys.executable).parent))
    launch = [accelerate, "launch", "--config_file",
              str(ROOT / "trainers/accelerate/multi_cpu.yaml"), "--num_processes", "2",
              "--main_process_port", str(_free_port())]
    proc = _start(launch, tiny_vlm_dir, dataset_dir, tmp_path / "two", tmp_path / "two.log")
    try:
        one = run_lmms_eval(str(tiny_vlm_dir), str(dataset_dir), "img2text", tmp_path / "one",
                            batch_size=2, limit=LIMIT, dtype="float32")
        proc.wait(timeout=600)
    finally:
        if proc.poll() is None:  # the launcher and both ranks: its own process group
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    log = (tmp_path / "two.log").read_text(errors="replace")
    found = list((tmp_path / "two").glob("*/*_results.json"))  # lmms-eval exits 0 on errors
    assert proc.returncode == 0 and len(found) == 1, log[-5000:]
    assert "rank=1/2" in log  # the backend knew it was one of two ranks
    one_samples, one_scores = _read(one)
    two_samples, two_scores = _read(found[0].parent)
    assert one_samples == two_samples  # same prediction, exact, contains for every doc id
    assert one_scores == two_scores
    # the text half's answers differ from doc to doc: the comparison is not vacuous
    assert len({p for p, _, _ in one_samples["persona_img2text_target"].values()}) > 1
