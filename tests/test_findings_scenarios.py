"""bench/findings_scenarios.py: a scenario runs through `persona-bench experiment` on the
demo recipe's model of its seed, resumes, and its tables count seeds honestly."""

import dataclasses
import importlib.util
import json
import os
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).parents[1] / "bench"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    module = sys.modules[name] = importlib.util.module_from_spec(spec)  # for @dataclass
    spec.loader.exec_module(module)
    return module


findings = _load("findings")
sys.path.insert(0, str(BENCH))  # its `from findings import ...`
scenarios = _load("findings_scenarios")
sys.path.remove(str(BENCH))

TRAIN = "--max_steps 4 --save_strategy no --disable_tqdm true --logging_steps 100"
SMALL = dataclasses.replace(
    scenarios.SCENARIOS["multihop"],
    data={"num_personas": 4, "pretrain_personas": 0, "image_size": 64, "variants": 3,
          "experiments": ("transfer", "multihop"), "workers": 1, "progress": False},
    runs=(scenarios.Run("", ("--configs", "multihop_image", "--batch-size", "8",
                             "--train-args", TRAIN)),))


@pytest.fixture(scope="module")
def scenario_out(tiny_vlm_dir, tmp_path_factory):
    """OUT with a stored "demo recipe" seed-0 run whose model is the tiny VLM, then SMALL run."""
    out = tmp_path_factory.mktemp("findings")
    case = findings.case_dir(out, findings.DEMO_RECIPE, 0)
    case.mkdir(parents=True)
    (case / "findings.json").write_text(json.dumps(
        {"label": findings.DEMO_RECIPE.label, "args": [], "seed": 0, "identification": {},
         "rows": []}))
    os.symlink(tiny_vlm_dir, case / "tiny-vlm-xs")
    scenarios.run_scenario(out, SMALL, 0)
    return out


def test_a_scenario_runs_on_the_model_and_seed_of_its_demo_run(scenario_out, tiny_vlm_dir):
    folder = scenarios.run_folder(scenario_out, SMALL, 0)
    results = json.loads((folder / "results.json").read_text())
    assert results["model"].endswith("demo-recipe-s0/tiny-vlm-xs")
    assert "--first-seed 0" in results["command"]
    (row,) = scenarios.stored_rows(scenario_out, SMALL, 0).values()
    assert row["chance"]["value"] == pytest.approx(1 / 4)
    for cell in (row[c] for c in SMALL.columns if c != "chance"):
        assert cell["low"] <= cell["value"] <= cell["high"]


def test_a_finished_scenario_is_not_rerun(scenario_out):
    results = scenarios.run_folder(scenario_out, SMALL, 0) / "results.json"
    before = results.stat().st_mtime_ns
    scenarios.run_scenario(scenario_out, SMALL, 0)
    assert results.stat().st_mtime_ns == before


def test_the_section_lists_the_seeds_not_run(scenario_out):
    text = scenarios.section(scenario_out, SMALL, [0, 1])
    assert "| multihop_image | 0 |" in text and "Not run: seed 1." in text
    assert "Over seeds" not in text  # one seed: no mean ± sd


def test_over_seeds_counts_intervals_on_each_side_of_zero():
    cells = [{"value": 0.2, "low": 0.1, "high": 0.3}, {"value": -0.1, "low": -0.2, "high": -0.05},
             {"value": 0.0, "low": -0.1, "high": 0.1}]
    assert scenarios.over_seeds_cell(cells, signed=True) == "0.033 ± 0.153 (1↑ 1↓ of 3)"
    assert scenarios.over_seeds_cell(cells, signed=False) == "0.033 ± 0.153"
    assert scenarios.over_seeds_cell([None], signed=True) == "–"
    assert scenarios.over_seeds_cell([{"value": 0.083}] * 3, signed=False) == "0.083"


def test_unlearn_rows_read_the_gap_of_the_unlearned_modality():
    def cell(value):
        return {"value": value, "low": value - 0.1, "high": value + 0.1}

    after = {"forgetting_image": cell(0.3), "forgetting_text": cell(0.1),
             "unlearn_gap_image": cell(0.2), "unlearn_gap_text": cell(-0.2),
             "likelihood_unlearn_gap_image": cell(0.5)}
    results = {"method": "grad_diff", "forget_modality": "image",
               "unlearn_args": "--num_train_epochs 5 --learning_rate 1e-3",
               "seeds": [{"models": {"before": {"chance": 0.04, "metrics": {
                   "forget_image": cell(0.4), "forget_text": cell(0.5)}},
                   "unlearned": {"metrics": after}}}]}
    (label, row), = scenarios.unlearn_rows(results).items()
    assert label == "grad_diff (1e-3) through image"
    assert row["exact gap"]["value"] == 0.2 and row["lik. gap"]["value"] == 0.5
    assert row["forget text: before"]["value"] == 0.5 and row["chance"] == {"value": 0.04}
