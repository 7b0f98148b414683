"""`persona-bench experiment NAME`: every arm of a registered experiment, resumable.

For each config of the experiment (`persona_bench/experiments/`) and each seed::

    DIR/base/<config>/...            the untrained model's answers (once per config)
    DIR/seed<S>/<arm>/model/         the model of that arm (config + what is mixed in), seed S
    DIR/seed<S>/<arm>/eval/...       lmms-eval logs of every half + likelihood logs
    DIR/seed<S>/<arm>/score.json     scored from the samples (CIs over personas)

then ``DIR/results.json`` (every number with its CI, arm, seed, dataset hash and command),
``DIR/table.md`` and ``DIR/plot.png``. A step whose output exists is skipped, so an
interrupted experiment resumes where it stopped.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shlex
import statistics
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from persona_bench.argparsing import ArgumentParser
from persona_bench.atomic import write_bytes_atomic, write_text_atomic
from persona_bench.checks import non_negative_int, positive_int
from persona_bench.contracts import RESULTS_SCHEMA
from persona_bench.errors import UserError
from persona_bench.experiments import EXPERIMENTS, Arm, Experiment, get_experiment
from persona_bench.experiments.base import load
from persona_bench.pipeline import Steps, evaluate

RESULTS, TABLE, PLOT = "results.json", "table.md", "plot.png"


def training_seeds(args: argparse.Namespace) -> range:
    """The training seeds of one run: `--seeds` of them from `--first-seed`."""
    return range(args.first_seed, args.first_seed + args.seeds)


def experiment_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="persona-bench experiment",
        description="Run every arm of an experiment: base eval, train each config, evaluate "
        "every half, score; then results.json, table.md and plot.png.",
        epilog=f"registered experiments: {', '.join(EXPERIMENTS)}",
    )
    parser.add_argument("experiment", help=" | ".join(EXPERIMENTS))
    parser.add_argument("--model", required=True, help="base checkpoint folder or Hub id")
    parser.add_argument("--data", required=True, help="dataset folder or Hub id")
    parser.add_argument("--out", required=True, help="experiment folder (resumable)")
    parser.add_argument("--seeds", type=positive_int("--seeds"), default=1,
                        help="training seeds per config: FIRST..FIRST+N-1 (--first-seed)")
    parser.add_argument("--first-seed", type=non_negative_int("--first-seed"), default=0,
                        help="first training seed (default 0); pass the seed --model was "
                        "pretrained and the dataset generated with, to repeat the demo's run")
    parser.add_argument("--configs", nargs="+", metavar="CONFIG_OR_ARM",
                        help="only the arms of these configs (or these arms) (default: all)")
    parser.add_argument("--augment-ratio", type=float, default=0.5,
                        help="rows mixed in by an augmentation arm, as a share of the train "
                        "rows, in (0, 1]")
    parser.add_argument("--train-args", default="",
                        help="extra `persona-bench train` flags, one string")
    parser.add_argument("--metric", default="exact", help="exact | contains")
    parser.add_argument("--batch-size", type=positive_int("--batch-size"), default=16)
    parser.add_argument("--limit", type=positive_int("--limit"),
                        help="questions per task (smoke tests only)")
    parser.add_argument("--device", help="cpu, cuda, cuda:0 ... (default: best available)")
    parser.add_argument("--dtype", help="float32, bfloat16, float16 (default: model's)")
    parser.add_argument("--no-likelihood", action="store_true", help="skip likelihood recall")
    parser.add_argument("--no-base-eval", action="store_true",
                        help="skip evaluating the untrained base model")
    parser.add_argument("--board", help="also add every arm to this leaderboard folder (its "
                        "track: transfer, multihop, mitigation or unlearning), validated from "
                        "the samples")
    parser.add_argument("--name", help="display name on the leaderboard (default: the model)")
    unlearn = parser.add_argument_group("unlearn experiment")
    unlearn.add_argument("--method", help="unlearning method (persona-bench unlearn --help): "
                         "ga, grad_diff, kl, npo, simnpo, idk")
    unlearn.add_argument("--forget", default="05", help="forget set: 01, 05 or 10 (%% of the "
                         "trained personas)")
    unlearn.add_argument("--forget-modality", default="image",
                         help="present the forget set as image, text or both questions")
    unlearn.add_argument("--unlearn-args", default="",
                         help="extra `persona-bench unlearn` flags, one string")
    unlearn.add_argument("--curve-points", type=int, default=5,
                         help="recall measurements during unlearning (the plot)")
    unlearn.add_argument("--no-retrain", action="store_true",
                         help="skip the retain-only reference model (no forget quality)")
    return parser


@dataclass(frozen=True)
class SeededArm:
    """One trained model of the experiment: an arm and a seed."""

    arm: Arm
    seed: int

    def folder(self, root: Path) -> Path:
        return root / f"seed{self.seed}" / self.arm.name


def _arms(experiment: Experiment, chosen: list[str] | None) -> list[Arm]:
    arms = experiment.arms
    names = {a.name for a in arms} | {a.config for a in arms}
    unknown = [c for c in chosen or () if c not in names]
    if unknown:
        choices = dict.fromkeys([*(a.config for a in arms), *(a.name for a in arms)])
        raise UserError(f"{experiment.name} has no config or arm {unknown[0]!r}; choose from "
                        f"{', '.join(choices)}")
    return [a for a in arms if not chosen or a.name in chosen or a.config in chosen]


def _check_data(data: str, configs: list[str | None]) -> str:
    """The resolved dataset; every config it needs must be in it (before any work)."""
    from persona_bench.tasks.data import check_has_config, resolve_dataset_path

    dataset = resolve_dataset_path(data)
    for config in configs:
        if config is not None:
            check_has_config(dataset, config)
    return dataset


def _check_model(model_dir: Path, arm: Arm) -> None:
    """A finished model of this arm must have been trained as the arm says (resume)."""
    from persona_bench.contracts import read_train_record

    record = read_train_record(model_dir) or {}
    mixed = (record.get("augment") or {}).get("config")
    if record and (record.get("dataset_config") != arm.config or mixed != arm.augment):
        raise UserError(f"{model_dir} was trained on {record.get('dataset_config')} with "
                        f"augment {mixed}, not {arm.config} with {arm.augment} (arm {arm.name}); "
                        "move it away or choose another --out")


def run_arm(args: argparse.Namespace, seeded: SeededArm, steps: Steps) -> dict[str, Any]:
    """Train -> evaluate -> score one arm; returns its score (a plain dict)."""
    from persona_bench.leaderboards.scoring import score_results
    from persona_bench.tasks.evaluate import finished_results
    from persona_bench.trainers.sft import is_trained, train_model

    root, arm = Path(args.out), seeded.arm
    folder = seeded.folder(root)
    model_dir, eval_dir = folder / "model", folder / "eval"
    _check_model(model_dir, arm)
    extra = shlex.split(args.train_args)
    if arm.augment:
        extra += ["--augment", arm.augment, "--augment_ratio", str(args.augment_ratio)]
    label = f"{arm.name} seed {seeded.seed}"
    steps(f"{label}: train", is_trained(model_dir),
          lambda: train_model(args.model, args.data, arm.config, model_dir, seed=seeded.seed,
                              extra=extra))
    steps(f"{label}: evaluate", finished_results(eval_dir) is not None,
          partial(evaluate, str(model_dir), args.data, arm.config, eval_dir, args))
    base = None if args.no_base_eval else finished_results(root / "base" / arm.config)
    score = score_results(finished_results(eval_dir), arm.config, base, dataset=args.data,
                          metric=args.metric)
    write_text_atomic(folder / "score.json", score.to_json())
    return score.to_dict()


def add_to_board(args: argparse.Namespace, seeded: SeededArm, command: str) -> None:
    """Write the arm's run manifest (its base-model logs copied beside it: a submission is
    one folder) and add it to `--board`; the board recomputes every number."""
    import shutil

    from persona_bench.leaderboards.actions import STATUS_WORDS, add_run
    from persona_bench.pipeline import write_manifest
    from persona_bench.tasks.evaluate import finished_results

    folder, arm = seeded.folder(Path(args.out)), seeded.arm
    base, inside = Path(args.out) / "base" / arm.config, folder / "base_eval"
    if not args.no_base_eval and not inside.exists() and base.is_dir():
        shutil.copytree(base, inside)
    name = f"{args.name or Path(args.model).name} [{arm.name}, seed {seeded.seed}]"
    write_manifest(folder, arm.config, args.data, [command],
                   finished_results(inside) if not args.no_base_eval else None, name)
    status, row = add_run(folder, args.board, dataset=args.data, name=name, replace=True)
    print(f"[persona-bench] {STATUS_WORDS[status]} row {row['row_id']} ({row['track']} track) "
          f"in {args.board}")


def change_vs_none(args: argparse.Namespace, seeded: SeededArm, arms: list[Arm]
                   ) -> dict[str, Any] | None:
    """An augmentation arm's headline change against its config's `none` arm (same seed),
    with paired bootstrap CIs over personas."""
    from persona_bench.leaderboards.scoring import paired_change, plain
    from persona_bench.tasks.evaluate import finished_results

    none = next((a for a in arms if a.config == seeded.arm.config and a.augment is None), None)
    if seeded.arm.augment is None or none is None:
        return None
    root = Path(args.out)
    mine = finished_results(seeded.folder(root) / "eval")
    theirs = finished_results(SeededArm(none, seeded.seed).folder(root) / "eval")
    change = paired_change(mine, theirs, seeded.arm.config, ("source", "target", "gap"),
                           metric=args.metric)
    return {"against": none.name, **{k: plain(v) for k, v in change.items()}}


def _interval(value: dict | None) -> dict | None:
    return None if value is None else {k: value[k] for k in ("value", "low", "high")}


def arm_entry(seeded: SeededArm, score: dict[str, Any], headline: tuple[str, ...]
              ) -> dict[str, Any]:
    """What results.json keeps of one arm: every metric of every fact group, with its CI."""
    arm = seeded.arm
    direction = score["directions"][arm.config]
    groups = {name: {"n_pairs": g["n_pairs"], "chance": g["chance"],
                     "likelihood_chance": g["likelihood_chance"],
                     "metrics": {m: _interval(v) for m, v in g["metrics"].items()}}
              for name, g in direction["groups"].items()}
    return {"arm": arm.name, "config": arm.config, "augment": arm.augment, "seed": seeded.seed,
            "trained": direction["source_modality"],
            "n_personas": direction["n_personas"], "tasks": direction["tasks"],
            "headline": {m: groups["all"]["metrics"].get(m) for m in headline},
            "groups": groups, "warnings": score["warnings"]}


def mean_sd(values: list[float]) -> dict[str, Any]:
    """Mean and standard deviation of a metric over seeds (None where undefined)."""
    return {"mean": statistics.fmean(values) if values else None,
            "sd": statistics.stdev(values) if len(values) > 1 else None,
            "seeds": len(values)}


def over_seeds(arms: list[dict[str, Any]], headline: tuple[str, ...]) -> dict[str, Any]:
    """Per arm and headline metric: mean and standard deviation over seeds."""
    summary: dict[str, Any] = {}
    for name in dict.fromkeys(a["arm"] for a in arms):
        mine = [a for a in arms if a["arm"] == name]
        summary[name] = {}
        for metric in headline:
            values = [a["headline"][metric]["value"] for a in mine
                      if a["headline"].get(metric) and a["headline"][metric]["value"] is not None]
            summary[name][metric] = mean_sd(values)
        changes = [a["change_vs_none"]["gap"]["value"] for a in mine
                   if a.get("change_vs_none") and a["change_vs_none"].get("gap")
                   and a["change_vs_none"]["gap"]["value"] is not None]
        if changes:
            summary[name]["gap_change_vs_none"] = mean_sd(changes)
    return summary


def fmt_cell(v: dict | None) -> str:
    """`value [low, high]` of a results.json interval, `–` when undefined."""
    if not v or v.get("value") is None:
        return "–"
    if v.get("low") is None:
        return f"{v['value']:.3f}"
    return f"{v['value']:.3f} [{v['low']:.3f}, {v['high']:.3f}]"


def table_markdown(results: dict[str, Any]) -> str:
    """One row per arm: the headline metrics with 95% CIs, chance and the base model."""
    experiment = EXPERIMENTS[results["experiment"]]
    headline = experiment.headline
    direction = {True: " ↑", False: " ↓", None: ""}
    from persona_bench.leaderboards.scoring import HIGHER_IS_BETTER

    lines = [f"# {experiment.name}: {experiment.about}", "",
             f"Model `{results['model']}`, dataset `{results['dataset']['content_hash'][:19]}`, "
             f"metric {results['metric']} match; 95% CIs: paired bootstrap over personas. "
             "Chance: 1 / distinct values of each fact (likelihood: 1/(k+1)).", "",
             "| arm | seed | chance | lik. chance | base source | base target | "
             + " | ".join(m.replace("_", " ") + direction[HIGHER_IS_BETTER.get(m)]
                          for m in headline) + " |",
             "|" + "---|" * (6 + len(headline))]
    for arm in results["arms"]:
        group = arm["groups"]["all"]
        lik = group["likelihood_chance"]
        base = [fmt_cell(group["metrics"].get(m)) for m in ("base_source", "base_target")]
        cells = [arm["arm"], str(arm["seed"]), f"{group['chance']:.3f}",
                 f"{lik:.3f}" if lik is not None else "–", *base,
                 *(fmt_cell(arm["headline"].get(m)) for m in headline)]
        lines.append("| " + " | ".join(cells) + " |")
    changed = [a for a in results["arms"] if a.get("change_vs_none")]
    if changed:
        lines += ["", "Change against the arm with nothing mixed in (same config and seed; "
                  "paired bootstrap over personas; a negative gap change narrows the gap):", "",
                  "| arm | seed | against | source change | target change | gap change |",
                  "|---|---|---|---|---|---|"]
        for arm in changed:
            c = arm["change_vs_none"]
            cells = [fmt_cell(c.get(m)) for m in ("source", "target", "gap")]
            lines.append(f"| {arm['arm']} | {arm['seed']} | {c['against']} | "
                         + " | ".join(cells) + " |")
    if results["seeds"] > 1:
        columns = list(dict.fromkeys(m for v in results["over_seeds"].values() for m in v))
        lines += ["", f"Mean ± sd over {results['seeds']} seeds:", "",
                  "| arm | " + " | ".join(columns) + " |", "|" + "---|" * (1 + len(columns))]
        for name, metrics in results["over_seeds"].items():
            cells = [f"{metrics[m]['mean']:.3f} ± {metrics[m]['sd'] or 0:.3f}"
                     if m in metrics and metrics[m]["mean"] is not None else "–"
                     for m in columns]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    warnings = sorted({w for arm in results["arms"] for w in arm["warnings"]})
    lines += ["", *[f"- warning: {w}" for w in warnings]] if warnings else []
    lines += ["", f"Command: `{results['command']}`"]
    return "\n".join(lines) + "\n"


def plot_png(results: dict[str, Any]) -> bytes:
    """Grouped bars: each headline recall per config (mean over seeds), CI or sd whiskers,
    with the chance level as a dashed line."""

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    experiment = EXPERIMENTS[results["experiment"]]
    metrics = list(experiment.headline)
    configs = list(dict.fromkeys(a["arm"] for a in results["arms"]))
    fig, ax = plt.subplots(figsize=(1.2 + 1.1 * len(metrics) * max(1, len(configs)) / 2, 3.6))
    width = 0.8 / len(configs)
    for i, config in enumerate(configs):
        arms = [a for a in results["arms"] if a["arm"] == config]
        means, errs = [], [[], []]
        for m in metrics:
            values = [a["headline"][m]["value"] for a in arms
                      if a["headline"].get(m) and a["headline"][m]["value"] is not None]
            mean = statistics.fmean(values) if values else float("nan")
            if len(arms) == 1 and values and arms[0]["headline"][m]["low"] is not None:
                low, high = arms[0]["headline"][m]["low"], arms[0]["headline"][m]["high"]
            else:
                sd = statistics.stdev(values) if len(values) > 1 else 0.0
                low, high = mean - sd, mean + sd
            means.append(mean)
            errs[0].append(max(0.0, mean - low))
            errs[1].append(max(0.0, high - mean))
        xs = [j + (i - (len(configs) - 1) / 2) * width for j in range(len(metrics))]
        ax.bar(xs, means, width, yerr=errs, capsize=3, label=config)
    chance = statistics.fmean(a["groups"]["all"]["chance"] for a in results["arms"])
    ax.axhline(chance, color="grey", linestyle="--", linewidth=1,
               label=f"chance {chance:.2f} ({results['metric']})")
    ax.axhline(0, color="black", linewidth=0.6)
    ax.set_xticks(range(len(metrics)), [m.replace("_", "\n") for m in metrics], fontsize=8)
    ax.set_ylabel(f"recall ({results['metric']} match; likelihood: rank 1)")
    whiskers = "95% CI over personas" if results["seeds"] == 1 else "± sd over seeds"
    ax.set_title(f"{experiment.name} ({whiskers})", fontsize=10)
    return png_bytes(fig, ax)


def png_bytes(fig, ax) -> bytes:
    """The figure as PNG (legend outside on the right), closed afterwards."""
    import io

    import matplotlib.pyplot as plt

    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=120)
    plt.close(fig)
    return buffer.getvalue()


def run_experiment(args: argparse.Namespace, command: str) -> Path:
    """Every step of `persona-bench experiment`; returns the results.json path."""
    experiment = get_experiment(args.experiment)
    arms = _arms(experiment, args.configs)
    if not 0 < args.augment_ratio <= 1:
        raise UserError(f"--augment-ratio must be in (0, 1], got {args.augment_ratio}")
    configs = list(dict.fromkeys(a.config for a in arms))
    dataset = _check_data(args.data, [*configs, *dict.fromkeys(a.augment for a in arms)])
    root = Path(args.out)
    steps = Steps()
    if not args.no_base_eval:
        from persona_bench.tasks.evaluate import finished_results

        for config in configs:
            base = root / "base" / config
            steps(f"{config}: evaluate base model", finished_results(base) is not None,
                  partial(evaluate, args.model, args.data, config, base, args))
    seeded = [SeededArm(arm, seed) for seed in training_seeds(args) for arm in arms]
    entries = [arm_entry(s, run_arm(args, s, steps), experiment.headline) for s in seeded]
    for s, entry in zip(seeded, entries, strict=True):
        change = change_vs_none(args, s, arms)
        if change is not None:
            entry["change_vs_none"] = change
        if args.board:
            add_to_board(args, s, command)
    from persona_bench.leaderboards.scoring import HIGHER_IS_BETTER
    from persona_bench.tasks.data import content_hash

    results = {
        "schema": RESULTS_SCHEMA, "experiment": experiment.name, "command": command,
        "model": args.model, "dataset": {"id": dataset, "content_hash": content_hash(dataset)},
        "metric": args.metric, "seeds": args.seeds, "train_args": args.train_args,
        "augment_ratio": args.augment_ratio if any(a.augment for a in arms) else None,
        "limit": args.limit, "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "higher_is_better": {m: HIGHER_IS_BETTER.get(m) for m in experiment.headline},
        "arms": entries, "over_seeds": over_seeds(entries, experiment.headline),
    }
    write_text_atomic(root / TABLE, table_markdown(results))
    write_bytes_atomic(root / PLOT, plot_png(results))
    write_text_atomic(root / RESULTS, json.dumps(results, indent=2) + "\n")  # last: "done"
    print(steps.table())
    return root / RESULTS


def experiment_main(argv: list[str]) -> int:
    args = experiment_parser().parse_args(argv)
    get_experiment(args.experiment)  # an unknown name fails before any import of torch
    if args.metric not in ("exact", "contains"):
        raise UserError(f"unknown metric {args.metric!r}; use exact or contains")
    experiment = get_experiment(args.experiment)
    run = load(experiment.runner) if experiment.runner else run_experiment
    path = run(args, shlex.join(["persona-bench", "experiment", *argv]))
    print((path.parent / TABLE).read_text())
    print(f"results: {path}  table: {path.parent / TABLE}  plot: {path.parent / PLOT}")
    return 0
