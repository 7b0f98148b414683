"""`run_lmms_eval`: lmms-eval's Python API with our backend, as `persona-bench eval` runs it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from persona_bench.errors import UserError
from persona_bench.tasks.evaluate import model_args_string, run_lmms_eval, task_names


def test_runs_both_halves_and_seen(trained_vlm_dir: Path, dataset_dir: Path, tmp_path: Path
                                   ) -> None:
    folder = run_lmms_eval(str(trained_vlm_dir), str(dataset_dir), "text2img", tmp_path,
                           batch_size=8, limit=8, include_seen=True, device="cpu",
                           dtype="float32")
    (results_file,) = folder.glob("*_results.json")
    results = json.loads(results_file.read_text())
    halves = ("source", "target", "seen")
    assert {f"persona_text2img_{h}" for h in halves} <= set(results["results"])
    assert results["results"]["persona_text2img_seen"]["exact,none"] >= 0.5  # memorised
    for half in halves:
        (samples,) = folder.glob(f"*_samples_persona_text2img_{half}.jsonl")
        assert len(samples.read_text().splitlines()) == 8
    assert (tmp_path / "tasks" / "lmms" / "_default_template_yaml").is_file()
    assert "dtype=float32" in results["config"]["model_args"]


@pytest.mark.parametrize(
    ("model", "data", "direction", "match"),
    [
        ("m", "DATA", "img2txt", "unknown config 'img2txt'"),
        ("m", "missing", "img2text", "does not exist"),
        ("/nonexistent/model", "DATA", "img2text", "cannot load model"),
    ],
)
def test_bad_input_is_one_line(model: str, data: str, direction: str, match: str,
                               dataset_dir: Path, tmp_path: Path) -> None:
    data = str(dataset_dir) if data == "DATA" else str(tmp_path / data)
    with pytest.raises(UserError, match=match) as err:
        run_lmms_eval(model, data, direction, tmp_path / "out", limit=1)
    assert "\n" not in str(err.value)


def test_helpers() -> None:
    assert task_names("text2img", include_seen=True) == ["persona_text2img",
                                                          "persona_text2img_seen"]
    assert model_args_string("m", {"dtype": "float32", "device_map": None}) == (
        "pretrained=m,dtype=float32")
    with pytest.raises(UserError, match="comma"):
        model_args_string("a,b", {})
