"""The seed paper's other findings (augmentation, multi-hop, unlearning) on the demo recipe.

    python bench/findings_scenarios.py --out findings_out --seeds 0 1 2
    python bench/findings_scenarios.py --out findings_out --only augment --seeds 0 1 2
    python bench/findings_scenarios.py --out findings_out --seeds 0 1 2 --stored-only \
        --write docs/findings.md

For each scenario and seed S: the demo recipe's pretrained model of seed S (`findings.py`'s
"demo recipe" case, run first when missing), a dataset generated with seed S and the
demo's options plus the scenario's configs (so its transfer and pretraining shards, and
its target personas, are the demo's: the augmentation's `none` arm repeats that demo run),
and `persona-bench experiment NAME --first-seed S` on it, in OUT/scenarios/<name>-s<S>.
Every run resumes (a step whose output exists is skipped). Each run's own results.json is
kept; this script only reads them: one table per scenario with every seed's numbers and
their 95% CIs over personas, and one with the mean ± sd over seeds and, for each
difference, in how many seeds its interval lies above / below 0.
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from findings import DEMO_RECIPE, case_dir, run_case, write_tables

from persona_bench.atomic import write_text_atomic
from persona_bench.cli import main as persona_bench
from persona_bench.contracts import MODALITIES
from persona_bench.experiment import RESULTS, fmt_cell, mean_sd
from persona_bench.pipeline import DEMO


def fine_tune(epochs: int) -> str:
    """--train-args of the demo's fine-tune (vision tower and projector as pretraining left
    them) for `epochs` epochs (the demo: 10)."""
    return f"--save_strategy no {' '.join(DEMO['train_args'])} --num_train_epochs {epochs}"


DEMO_DATA = {k: DEMO[k] for k in ("num_personas", "pretrain_personas", "image_size",
                                  "variants", "pretrain_tasks")}
# 40 personas so that the 10% forget set has 4; no pool: the model is already pretrained.
UNLEARN_DATA = {"num_personas": 40, "pretrain_personas": 0, "image_size": 64, "variants": 3}
# Three strengths: the earlier sessions' 1e-4, under which the 800-step recipe's model
# forgot next to nothing; NPO's default 1e-3, which wiped both modalities; and 3e-4 between
# them (eighth session, seed 0).
UNLEARN_RATES = ("1e-4", "3e-4", "1e-3")
Interval = dict[str, float | None]
Row = dict[str, Interval | None]


@dataclass(frozen=True)
class Run:
    """One `persona-bench experiment` call of a scenario; `label` names its results file."""

    label: str
    args: tuple[str, ...]


@dataclass(frozen=True)
class Scenario:
    name: str  # the registered experiment
    title: str
    data: dict[str, Any]  # generate_dataset options
    runs: tuple[Run, ...]
    rows: Callable[[dict[str, Any]], dict[str, Row]]  # results.json -> row label -> cells
    columns: tuple[str, ...]
    signed: tuple[str, ...]  # differences: count the seeds whose interval excludes 0


def _cells(metrics: dict[str, Any], keys: dict[str, str]) -> Row:
    return {column: metrics.get(key) for column, key in keys.items()}


def transfer_rows(results: dict[str, Any], keys: dict[str, str]) -> dict[str, Row]:
    rows = {}
    for arm in results["arms"]:
        group = arm["groups"]["all"]
        row = {"chance": {"value": group["chance"]}, **_cells(group["metrics"], keys)}
        change = arm.get("change_vs_none") or {}
        row |= {"target change": change.get("target"), "gap change": change.get("gap")}
        rows[arm["arm"]] = row
    return rows


AUGMENT_KEYS = {"untrained target": "base_target", "source": "source", "target": "target",
                "gap": "gap", "lik. target": "likelihood_target"}
MULTIHOP_KEYS = {"untrained composed": "base_target", "composed, trained": "source",
                 "composed, other": "target", "expected, trained": "expected_source",
                 "expected, other": "expected_target", "hop 1 trained": "hop1_source",
                 "hop 1 other": "hop1_target", "hop 2": "hop2"}


def unlearn_rows(results: dict[str, Any]) -> dict[str, Row]:
    """Before / after recall of the forget personas in each modality beside the level of
    personas never trained (holdout), the forgetting, the cross-modal gaps, retain damage."""
    (entry,) = results["seeds"]
    m = results["forget_modality"]
    before, after = entry["models"]["before"]["metrics"], entry["models"]["unlearned"]["metrics"]
    row = {"chance": {"value": entry["models"]["before"]["chance"]}}
    for x in MODALITIES:
        row |= {f"holdout {x}": before.get(f"holdout_{x}"),
                f"forget {x}: before": before.get(f"forget_{x}"),
                f"forget {x}: after": after.get(f"forget_{x}")}
    row |= _cells(after, {"forgetting image": "forgetting_image",
                          "forgetting text": "forgetting_text",
                          "exact gap": f"unlearn_gap_{m}",
                          "lik. forgetting image": "likelihood_forgetting_image",
                          "lik. forgetting text": "likelihood_forgetting_text",
                          "lik. gap": f"likelihood_unlearn_gap_{m}",
                          "retain drop image": "retain_drop_image",
                          "retain drop text": "retain_drop_text"})
    rate = shlex.split(results["unlearn_args"])
    rate = rate[rate.index("--learning_rate") + 1] if "--learning_rate" in rate else "default"
    return {f"{results['method']} ({rate}) through {m}": row}


SCENARIOS = {s.name: s for s in (
    Scenario("augment", "Augmentation: rows mixed into the one-modality fine-tune (25%)",
             {**DEMO_DATA, "experiments": ("transfer", "augment")},
             (Run("", ("--configs", "img2text", "text2img", "--augment-ratio", "0.25",
                       "--train-args", fine_tune(10))),),
             lambda r: transfer_rows(r, AUGMENT_KEYS),
             ("chance", *AUGMENT_KEYS, "target change", "gap change"),
             ("gap", "target change", "gap change")),
    Scenario("multihop", "Multi-hop: the composed question (portrait or description -> "
             "name -> fact)", {**DEMO_DATA, "experiments": ("transfer", "multihop")},
             (Run("", ("--train-args", fine_tune(10))),),
             lambda r: transfer_rows(r, MULTIHOP_KEYS),
             ("chance", *MULTIHOP_KEYS), ()),
    Scenario("unlearn", "Unlearning through one modality (grad_diff on forget10, 5 epochs)",
             {**UNLEARN_DATA, "experiments": ("transfer", "unlearn")},
             tuple(Run(f"grad_diff-{m}-{lr}", ("--method", "grad_diff", "--forget", "10",
                                               "--forget-modality", m, "--curve-points", "5",
                                               "--train-args", fine_tune(15),
                                               "--unlearn-args", "--num_train_epochs 5 "
                                               f"--learning_rate {lr} --save_strategy no"))
                   for lr in UNLEARN_RATES for m in MODALITIES),
             unlearn_rows,
             ("chance", *(f"{c} {x}{w}" for x in MODALITIES
                          for c, w in (("holdout", ""), ("forget", ": before"),
                                       ("forget", ": after"))),
              "forgetting image", "forgetting text", "exact gap", "lik. forgetting image",
              "lik. forgetting text", "lik. gap", "retain drop image", "retain drop text"),
             ("forgetting image", "forgetting text", "exact gap", "lik. forgetting image",
              "lik. forgetting text", "lik. gap")),
)}


def run_folder(out: Path, scenario: Scenario, seed: int) -> Path:
    return out / "scenarios" / f"{scenario.name}-s{seed}"


def results_file(folder: Path, run: Run) -> Path:
    """The experiment writes DIR/results.json; a scenario with several runs in one DIR (they
    share its trained models) keeps each run's copy under its own name."""
    return folder / (f"results-{run.label}.json" if run.label else RESULTS)


def ensure_data(folder: Path, scenario: Scenario, seed: int) -> Path:
    from persona_bench.persona_gen.generate import generate_dataset, is_generated

    data = folder / "data"
    if not is_generated(data):
        generate_dataset(data, seed=seed, overwrite=True, **scenario.data)
    return data


def run_scenario(out: Path, scenario: Scenario, seed: int) -> None:
    """Run (or resume) every run of `scenario` for `seed`."""
    folder = run_folder(out, scenario, seed)
    runs = [r for r in scenario.runs if not results_file(folder, r).is_file()]
    if not runs:
        return
    run_case(out, DEMO_RECIPE, seed)
    model = case_dir(out, DEMO_RECIPE, seed) / "tiny-vlm-xs"
    data = ensure_data(folder, scenario, seed)
    for run in runs:
        argv = ["experiment", scenario.name, "--model", str(model), "--data", str(data),
                "--out", str(folder / "runs"), "--first-seed", str(seed), *run.args]
        print(f"[findings] {scenario.name} seed {seed}: persona-bench {shlex.join(argv)}",
              flush=True)
        if persona_bench(argv):
            raise SystemExit(f"{scenario.name} seed {seed} failed; see the log above")
        shutil.copyfile(folder / "runs" / RESULTS, results_file(folder, run))


def stored_rows(out: Path, scenario: Scenario, seed: int) -> dict[str, Row] | None:
    """Every row of the scenario's stored runs for `seed`; None unless all of them ran."""
    files = [results_file(run_folder(out, scenario, seed), r) for r in scenario.runs]
    if not all(f.is_file() for f in files):
        return None
    rows: dict[str, Row] = {}
    for file in files:
        rows |= scenario.rows(json.loads(file.read_text()))
    return rows


def per_seed_table(scenario: Scenario, by_seed: dict[int, dict[str, Row]]) -> str:
    head = "| row | seed | " + " | ".join(scenario.columns) + " |"
    lines = [head, "|" + "---|" * (2 + len(scenario.columns))]
    for seed, rows in by_seed.items():
        lines += [f"| {label} | {seed} | "
                  + " | ".join(fmt_cell(row.get(c)) for c in scenario.columns) + " |"
                  for label, row in rows.items()]
    return "\n".join(lines)


def over_seeds_cell(cells: list[Interval | None], signed: bool) -> str:
    values = [c["value"] for c in cells if c and c.get("value") is not None]
    if not values:
        return "–"
    if len(set(values)) == 1 and not signed:  # the same in every seed (chance)
        return f"{values[0]:.3f}"
    stats = mean_sd(values)
    text = f"{stats['mean']:.3f}" + (f" ± {stats['sd']:.3f}" if stats["sd"] is not None else "")
    if signed:
        above = sum(1 for c in cells if c and c.get("low") is not None and c["low"] > 0)
        below = sum(1 for c in cells if c and c.get("high") is not None and c["high"] < 0)
        text += f" ({above}↑ {below}↓ of {len(values)})"
    return text


def over_seeds_table(scenario: Scenario, by_seed: dict[int, dict[str, Row]]) -> str:
    labels = list(dict.fromkeys(label for rows in by_seed.values() for label in rows))
    head = "| row | seeds | " + " | ".join(scenario.columns) + " |"
    lines = [head, "|" + "---|" * (2 + len(scenario.columns))]
    for label in labels:
        rows = [rows[label] for rows in by_seed.values() if label in rows]
        lines.append(f"| {label} | {len(rows)} | " + " | ".join(
            over_seeds_cell([r.get(c) for r in rows], c in scenario.signed)
            for c in scenario.columns) + " |")
    return "\n".join(lines)


def section(out: Path, scenario: Scenario, seeds: list[int]) -> str:
    by_seed = {s: rows for s in seeds if (rows := stored_rows(out, scenario, s)) is not None}
    missing = [s for s in seeds if s not in by_seed]
    parts = [f"### {scenario.title}"]
    if by_seed:
        parts += [per_seed_table(scenario, by_seed)]
    if len(by_seed) > 1:
        parts += ["Over seeds (mean ± sd; for a difference, the seeds whose interval lies "
                  "above ↑ / below ↓ 0):", over_seeds_table(scenario, by_seed)]
    if missing:
        parts += ["Not run: seed " + ", ".join(map(str, missing)) + "."]
    return "\n\n".join(parts)


BEGIN = "<!-- findings_scenarios.py tables: begin -->"
END = "<!-- findings_scenarios.py tables: end -->"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="findings_out", help="work folder (resumable)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--only", nargs="+", choices=SCENARIOS, default=list(SCENARIOS))
    parser.add_argument("--write", help="also write the Markdown tables to this file")
    parser.add_argument("--stored-only", action="store_true",
                        help="tables from the finished runs in --out only: run nothing")
    args = parser.parse_args(argv)
    out = Path(args.out)
    for name in args.only:
        for seed in args.seeds if not args.stored_only else ():
            run_scenario(out, SCENARIOS[name], seed)
    text = "\n\n".join(section(out, SCENARIOS[n], args.seeds) for n in args.only) + "\n"
    print(text)
    write_text_atomic(out / "scenarios" / "tables.md", text)
    if args.write:
        write_tables(Path(args.write), text, BEGIN, END)
    return 0


if __name__ == "__main__":
    sys.exit(main())
