"""`persona-bench experiment unlearn`: teach both modalities, unlearn through one, measure both.

For each seed S (folders under DIR/seed<S>/, every step skipped when its output exists)::

    both/model, both/eval           the model taught `unlearn` train (both modalities)
                                    (--model itself when its record says so), and its
                                    recall before unlearning: the "base" of the scores below
    retain<RR>/model, .../eval      the standard reference: the same recipe on the retain
                                    set only (what forgetting should look like)
    <method>-<NN>-<modality>[-<hash of --unlearn-args>]/model   the unlearned model
                                    (curve.json: recall during the run)
    <method>-<NN>-<modality>[-...]/eval   its lmms-eval and likelihood logs

The models taught both modalities and on the retain set only are shared by every method
and setting run into the same DIR.

then ``DIR/results.json``, ``DIR/table.md`` and ``DIR/plot.png`` (forget and retain recall
in each modality against unlearning steps, the four curves of the unlearning papers).

Forget quality follows TOFU: a two-sample Kolmogorov-Smirnov test between the truth ratios
of the unlearned model and of the retain-only reference on the forget questions (one per
modality); the p-value is reported (high: indistinguishable from never having learned it).
The truth ratio of a question is the mean probability of its distractors over the
probability of the true answer, from the likelihood logs (`tasks.likelihood`, `scores`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import math
import shlex
import shutil
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from persona_bench.atomic import write_bytes_atomic, write_text_atomic
from persona_bench.contracts import (
    MODALITIES,
    RESULTS_SCHEMA,
    likelihood_samples,
    read_train_record,
)
from persona_bench.errors import UserError
from persona_bench.experiment import fmt_cell, mean_sd, png_bytes, training_seeds
from persona_bench.experiments import get_experiment
from persona_bench.experiments.unlearn import (
    DATA,
    FRACTIONS,
    RETAIN,
    config_name,
    forget_split,
    retain_split,
)
from persona_bench.pipeline import Steps, evaluate

RESULTS, TABLE, PLOT = "results.json", "table.md", "plot.png"


@dataclass(frozen=True)
class Plan:
    """What one seed of the experiment trains and where."""

    root: Path
    seed: int
    method: str
    fraction: str
    modality: str
    settings: str = ""  # --unlearn-args: runs with other settings get their own folder

    @property
    def config(self) -> str:
        return config_name(self.fraction)

    def folder(self, model: str) -> Path:
        unlearned = f"{self.method}-{self.fraction}-{self.modality}"
        if self.settings:
            digest = hashlib.sha256(self.settings.encode()).hexdigest()[:8]
            unlearned += f"-{digest}"
        name = {"before": "both", "retain": f"retain{RETAIN[self.fraction]}",
                "unlearned": unlearned}[model]
        return self.root / f"seed{self.seed}" / name


def check_args(args: argparse.Namespace) -> None:
    """The unlearn-only flags of `persona-bench experiment`, before any work."""
    from persona_bench.trainers.unlearn import check_method

    if not args.method:
        raise UserError("the unlearn experiment needs --method NAME (e.g. npo, grad_diff)")
    if args.forget not in FRACTIONS:
        raise UserError(f"unknown --forget {args.forget!r}; the {DATA} config has forget sets "
                        f"{', '.join(FRACTIONS)} (% of the trained personas)")
    check_method(args.method, args.forget_modality)


def taught_both(model: str) -> dict | None:
    """The record of `model` when it already is a both-modality `unlearn` model."""
    record = read_train_record(model) if Path(model).is_dir() else None
    if record and record.get("dataset_config") == DATA and record.get("dataset_split") == "train" \
            and not record.get("unlearning"):
        return record
    return None


def train_steps(args: argparse.Namespace, plan: Plan, steps: Steps) -> dict[str, Path]:
    """Train (or reuse) the three models of one seed and evaluate each; their eval dirs."""
    from persona_bench.tasks.evaluate import finished_results
    from persona_bench.trainers.sft import is_trained, train_model
    from persona_bench.trainers.unlearn import unlearn_model

    extra = shlex.split(args.train_args)
    record = taught_both(args.model)
    base = record["base_model"] if record else args.model
    before = Path(args.model) if record else plan.folder("before") / "model"
    label = f"seed {plan.seed}"
    if not record:
        steps(f"{label}: teach both modalities", is_trained(before),
              lambda: train_model(base, args.data, DATA, before, seed=plan.seed, extra=extra))
    retain = plan.folder("retain") / "model"
    if not args.no_retrain:
        steps(f"{label}: retain-only reference", is_trained(retain),
              lambda: train_model(base, args.data, DATA, retain, seed=plan.seed,
                                  extra=["--dataset_train_split", retain_split(plan.fraction),
                                         *extra]))
    unlearned = plan.folder("unlearned") / "model"
    steps(f"{label}: unlearn ({plan.method}, {forget_split(plan.fraction)}, {plan.modality})",
          is_trained(unlearned),
          lambda: unlearn_model(before, args.data, unlearned, method=plan.method,
                                forget=forget_split(plan.fraction), modality=plan.modality,
                                seed=plan.seed, extra=["--curve_points", str(args.curve_points),
                                                       *shlex.split(args.unlearn_args)]))
    models = {"before": before, "unlearned": unlearned,
              **({} if args.no_retrain else {"retain": retain})}
    evals = {}
    for name, model in models.items():
        out = plan.folder(name) / "eval"
        steps(f"{label}: evaluate {name}", finished_results(out) is not None,
              lambda model=model, out=out: evaluate(str(model), args.data, plan.config, out, args))
        evals[name] = finished_results(out)
    return evals


# --------------------------------------------------------------------------- forget quality

def truth_ratios(results: Path, config: str, role: str) -> list[float]:
    """log of (mean distractor probability / true-answer probability) per question."""
    path = results / likelihood_samples(config, role)
    if not path.is_file():
        return []
    ratios = []
    for line in path.read_text("utf-8").splitlines():
        scores = json.loads(line).get("scores") or []
        if len(scores) > 1:
            top = max(scores[1:])
            mean = top + math.log(statistics.fmean(math.exp(s - top) for s in scores[1:]))
            ratios.append(mean - scores[0])
    return ratios


def forget_quality(unlearned: Path, retain: Path, config: str) -> dict[str, Any]:
    """Per modality: the KS test of truth ratios, unlearned vs retain-only reference."""
    from scipy.stats import ks_2samp

    found = {}
    for m in MODALITIES:
        ours, theirs = (truth_ratios(r, config, f"forget_{m}") for r in (unlearned, retain))
        if not ours or not theirs:
            found[m] = None
            continue
        test = ks_2samp(ours, theirs)
        found[m] = {"p_value": float(test.pvalue), "ks_statistic": float(test.statistic),
                    "n": len(ours)}
    return found


# --------------------------------------------------------------------------- scores and tables

def score_models(args: argparse.Namespace, plan: Plan, evals: dict[str, Path]
                 ) -> dict[str, Any]:
    from persona_bench.leaderboards.scoring import score_results

    entry: dict[str, Any] = {"seed": plan.seed, "models": {}}
    for name, results in evals.items():
        base = None if name == "before" else evals["before"]
        score = score_results(results, plan.config, base, dataset=args.data,
                              metric=args.metric).to_dict()
        write_text_atomic(plan.folder(name) / "score.json", json.dumps(score, indent=2) + "\n")
        group = score["directions"][plan.config]["groups"]["all"]
        entry["models"][name] = {
            "folder": str(plan.folder(name)), "chance": group["chance"],
            "likelihood_chance": group["likelihood_chance"],
            "metrics": {k: {x: v[x] for x in ("value", "low", "high")}
                        for k, v in group["metrics"].items()},
            "warnings": score["warnings"]}
    if "retain" in evals:
        entry["forget_quality"] = forget_quality(evals["unlearned"], evals["retain"],
                                                 plan.config)
    curve = plan.folder("unlearned") / "model" / "curve.json"
    entry["curve"] = json.loads(curve.read_text()) if curve.is_file() else []
    return entry


SUMMARY = ("forget_image", "forget_text", "retain_image", "retain_text", "forgetting_image",
           "forgetting_text", "unlearn_gap_image", "unlearn_gap_text",
           "likelihood_forgetting_image", "likelihood_forgetting_text")


def over_seeds(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """Per model and headline metric: mean and standard deviation over seeds."""
    summary: dict[str, Any] = {}
    for name in dict.fromkeys(m for e in entries for m in e["models"]):
        summary[name] = {}
        for metric in SUMMARY:
            values = [e["models"][name]["metrics"][metric]["value"] for e in entries
                      if name in e["models"] and metric in e["models"][name]["metrics"]
                      and e["models"][name]["metrics"][metric]["value"] is not None]
            if values:
                summary[name][metric] = mean_sd(values)
    return summary


def gap_metric(modality: str) -> str | None:
    """The cross-modal unlearning gap of a run that unlearned through `modality`."""
    return f"unlearn_gap_{modality}" if modality in MODALITIES else None


def table_markdown(results: dict[str, Any]) -> str:
    modality, gap = results["forget_modality"], gap_metric(results["forget_modality"])
    cols = [f"{g}_{m}" for g in ("forget", "retain", "holdout") for m in MODALITIES]
    lines = [f"# unlearn: {results['method']} on {results['forget_split']} through {modality}",
             "", f"Model `{results['model']}`, dataset `{results['dataset']['content_hash'][:19]}`,"
             f" metric {results['metric']} match; 95% CIs: bootstrap over personas. Forget "
             "recall: lower is better after unlearning; retain and holdout: utility, higher is "
             "better; holdout personas were never trained (the level of an unlearned fact).", "",
             "| model | seed | chance | " + " | ".join(c.replace("_", " ") for c in cols)
             + " | lik. forget image | lik. forget text |", "|" + "---|" * (5 + len(cols))]
    for entry in results["seeds"]:
        for name, model in entry["models"].items():
            m = model["metrics"]
            lines.append(f"| {name} | {entry['seed']} | {model['chance']:.3f} | "
                         + " | ".join(fmt_cell(m.get(c)) for c in cols) + " | "
                         + " | ".join(fmt_cell(m.get(f"likelihood_forget_{x}")) for x in MODALITIES)
                         + " |")
    both = "" if gap else "; none: both were unlearned"
    lines += ["", "Forgetting (recall lost, before minus after; paired bootstrap over "
              "personas) and the cross-modal gap (forgetting in the unlearned modality minus "
              f"the other{both}), by exact match and by likelihood recall; forget quality: "
              "KS-test p-value of truth ratios against the retain-only reference (higher: "
              "closer to never having learned):", "",
              "| seed | forgetting image | forgetting text | unlearning gap | lik. forgetting "
              "image | lik. forgetting text | lik. unlearning gap | retain drop image | "
              "retain drop text | forget quality image | forget quality text |",
              "|" + "---|" * 11]
    for entry in results["seeds"]:
        m = entry["models"]["unlearned"]["metrics"]
        quality = entry.get("forget_quality") or {}
        fq = [f"{quality[x]['p_value']:.2g} (n={quality[x]['n']})" if quality.get(x) else "–"
              for x in MODALITIES]
        cells = [fmt_cell(m.get("forgetting_image")), fmt_cell(m.get("forgetting_text")),
                 fmt_cell(m.get(gap)) if gap else "–",
                 fmt_cell(m.get("likelihood_forgetting_image")),
                 fmt_cell(m.get("likelihood_forgetting_text")),
                 fmt_cell(m.get(f"likelihood_{gap}")) if gap else "–",
                 fmt_cell(m.get("retain_drop_image")), fmt_cell(m.get("retain_drop_text")), *fq]
        lines.append(f"| {entry['seed']} | " + " | ".join(cells) + " |")
    lines += ["", "Likelihood chance, 1/(k+1), assumes candidates a model knows nothing of; "
              "here the distractors are values taught for other personas, so a model that "
              "never learned a persona ranks them above its true value: compare likelihood "
              "forget recall with the retain-only model, not with chance."]
    if len(results["seeds"]) > 1:
        lines += ["", f"Mean ± sd over {len(results['seeds'])} seeds:", "",
                  "| model | " + " | ".join(m.replace("_", " ") for m in SUMMARY) + " |",
                  "|" + "---|" * (1 + len(SUMMARY))]
        for name, metrics in results["over_seeds"].items():
            cells = [f"{metrics[m]['mean']:.3f} ± {metrics[m]['sd'] or 0:.3f}"
                     if m in metrics else "–" for m in SUMMARY]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    warnings = sorted({w for e in results["seeds"] for mo in e["models"].values()
                       for w in mo["warnings"]})
    lines += ["", *[f"- warning: {w}" for w in warnings]] if warnings else []
    lines += ["", f"Command: `{results['command']}`"]
    return "\n".join(lines) + "\n"


def plot_png(results: dict[str, Any]) -> bytes:
    """Forget and retain recall in each modality against unlearning steps (seed 0's curve),
    with the holdout level of the final model as the "never learned" line."""

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.0, 3.6))
    entry = results["seeds"][0]
    curve = entry["curve"]
    styles = {"forget": "-", "retain": "--"}
    colors = {"image": "tab:blue", "text": "tab:orange"}
    for group in ("forget", "retain"):
        for m in MODALITIES:
            key = f"{group}_{m}"
            if curve:
                ax.plot([p["step"] for p in curve], [p[key] for p in curve], styles[group],
                        color=colors[m], marker="o", markersize=3, label=f"{group}, {m}")
    holdout = entry["models"]["unlearned"]["metrics"].get("holdout_image")
    if holdout and holdout.get("value") is not None:
        ax.axhline(holdout["value"], color="grey", linestyle=":", linewidth=1,
                   label="holdout (never trained), image")
    ax.axhline(entry["models"]["unlearned"]["chance"], color="black", linestyle="-.",
               linewidth=0.8, label="chance")
    ax.set_xlabel("unlearning step")
    ax.set_ylabel(f"greedy recall ({results['metric']} match)")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(f"{results['method']}: forget {results['forget_split']} through "
                 f"{results['forget_modality']}", fontsize=10)
    return png_bytes(fig, ax)


def add_to_board(args: argparse.Namespace, plan: Plan, command: str) -> None:
    """The unlearned model as a board row: its logs plus the before-unlearning logs (the
    base of its scores), recomputed by the board."""
    from persona_bench.leaderboards.actions import STATUS_WORDS, add_run
    from persona_bench.pipeline import write_manifest
    from persona_bench.tasks.evaluate import finished_results

    folder = plan.folder("unlearned")
    inside = folder / "base_eval"
    if not inside.exists():
        shutil.copytree(plan.folder("before") / "eval", inside)
    name = (f"{args.name or Path(args.model).name} [{args.method}, forget{plan.fraction}, "
            f"{plan.modality}, seed {plan.seed}]")
    write_manifest(folder, plan.config, args.data, [command], finished_results(inside), name)
    status, row = add_run(folder, args.board, dataset=args.data, name=name, replace=True)
    print(f"[persona-bench] {STATUS_WORDS[status]} row {row['row_id']} ({row['track']} track) "
          f"in {args.board}")


def run_unlearn_experiment(args: argparse.Namespace, command: str) -> Path:
    """Every step of `persona-bench experiment unlearn`; returns the results.json path."""
    from persona_bench.tasks.data import check_has_config, content_hash, resolve_dataset_path

    experiment = get_experiment("unlearn")
    check_args(args)
    dataset = resolve_dataset_path(args.data)
    check_has_config(dataset, config_name(args.forget))
    root, steps = Path(args.out), Steps()
    entries = []
    for seed in training_seeds(args):
        plan = Plan(root, seed, args.method, args.forget, args.forget_modality,
                    " ".join(shlex.split(args.unlearn_args)))
        entries.append(score_models(args, plan, train_steps(args, plan, steps)))
        if args.board:
            add_to_board(args, plan, command)
    results = {
        "schema": RESULTS_SCHEMA, "experiment": experiment.name, "command": command,
        "model": args.model, "dataset": {"id": dataset, "content_hash": content_hash(dataset)},
        "metric": args.metric, "method": args.method, "forget_split": forget_split(args.forget),
        "retain_split": retain_split(args.forget), "forget_modality": args.forget_modality,
        "train_args": args.train_args, "unlearn_args": args.unlearn_args,
        "limit": args.limit, "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "seeds": entries, "over_seeds": over_seeds(entries),
    }
    write_text_atomic(root / TABLE, table_markdown(results))
    write_bytes_atomic(root / PLOT, plot_png(results))
    write_text_atomic(root / RESULTS, json.dumps(results, indent=2) + "\n")  # last: "done"
    print(steps.table())
    return root / RESULTS
