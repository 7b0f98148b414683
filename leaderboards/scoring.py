"""Turn per-sample logs into the headline numbers of each direction.

Per direction (`img2text`: trained on portraits, tested on descriptions; `text2img` the
mirror) and per fact group (all, name, attributes, each attribute fact):

- ``source``   recall on held-out questions in the trained modality       (higher is better)
- ``target``   recall on the same questions in the other modality         (higher is better)
- ``gap``      source - target                                            (lower is better)
- ``transfer_ratio``  target / source                                     (higher is better)
- ``seen``     recall on training questions (a memorisation sanity check)  (higher is better)
- ``likelihood_source`` / ``likelihood_target``: the answer ranks first by likelihood among
  itself and k distractors (`tasks.likelihood`; chance 1/(k+1))       (higher is better)
- with a base-model run: ``base_source`` / ``base_target`` (guessing and prior knowledge),
  ``source_gain`` / ``target_gain`` (recall above the base model) and
  ``adjusted_ratio`` = target_gain / source_gain                        (higher is better)

Recall pools every question of the group: correct answers / questions asked. Intervals
are paired percentile bootstraps over personas (`persona_bench.leaderboards.bootstrap`). The chance
level of a fact is 1 / the number of distinct values of that fact in the dataset.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from persona_bench.checks import printable
from persona_bench.contracts import MODALITIES, read_train_record
from persona_bench.errors import UserError
from persona_bench.experiments import CONFIGS, EXPERIMENTS, Half, check_config, experiment_of
from persona_bench.leaderboards.bootstrap import (
    CONFIDENCE,
    N_RESAMPLES,
    Interval,
    interval,
    ratio,
    recall_draws,
    resample_weights,
)
from persona_bench.leaderboards.columns import fmt_interval, text_table
from persona_bench.leaderboards.readers import (
    EvalRun,
    Provenance,
    SampleRecord,
    TaskLog,
    load_run,
    locate_run,
)
from persona_bench.leaderboards.schema import METRICS, SCORE_SCHEMA
from persona_bench.persona_gen.vocab import ALL_FACTS, ATTRIBUTE_FACTS

GROUPS: dict[str, tuple[str, ...]] = {
    "all": ALL_FACTS,
    "name": ("name",),
    "attributes": ATTRIBUTE_FACTS,
    **{fact: (fact,) for fact in ATTRIBUTE_FACTS},
}
# a side is PREFIX + a role of the config: the model's generation and likelihood logs, then
# the base model's (the untrained model; for unlearning, the model before unlearning)
PREFIXES = ("", "likelihood_", "base_", "base_likelihood_")
LIKELIHOOD_SIDES = ("likelihood_", "base_likelihood_")
OPS: dict[str, Callable[[Any, Any], Any]] = {
    "difference": np.subtract, "ratio": ratio, "product": np.multiply}


def _directions_of_sides() -> dict[str, bool | None]:
    """Every side and derived metric of every experiment, with its direction (a name means
    the same thing, and points the same way, in every experiment: a test checks it)."""
    found: dict[str, bool | None] = {}
    for experiment in EXPERIMENTS.values():
        for config in experiment.configs:
            for half in config.halves:
                up = half.higher_is_better
                found |= {half.role: up, f"likelihood_{half.role}": up, f"base_{half.role}": None,
                          f"base_likelihood_{half.role}": None}
        found |= {d.name: d.higher_is_better for d in experiment.derived}
    return found


HIGHER_IS_BETTER: dict[str, bool | None] = _directions_of_sides()


@dataclass
class GroupScore:
    n_pairs: int
    chance: float  # mean chance level of the group's questions
    likelihood_chance: float | None  # mean 1/(k+1) of the likelihood questions (k distractors)
    metrics: dict[str, Interval]


@dataclass
class DirectionScore:
    direction: str
    source_modality: str
    target_modality: str
    n_personas: int
    tasks: dict[str, str]  # side -> task name
    groups: dict[str, GroupScore]


@dataclass
class Score:
    metric: str  # "exact" or "contains" (persona_bench.matching)
    n_resamples: int
    seed: int
    confidence: float
    chance: dict[str, float]  # fact -> chance level
    chance_source: str  # "dataset", "samples" or "given"
    directions: dict[str, DirectionScore]
    provenance: Provenance
    base_provenance: Provenance | None = None
    warnings: list[str] = field(default_factory=list)
    higher_is_better: dict[str, bool | None] = field(default_factory=lambda: HIGHER_IS_BETTER)
    schema: str = SCORE_SCHEMA

    def to_dict(self) -> dict[str, Any]:
        return plain(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"


def plain(obj: Any) -> Any:
    """A dataclass as JSON-ready dicts and lists (what JSON files and the board store)."""
    return json.loads(json.dumps(asdict(obj), default=str))


def chance_from_records(logs: list[TaskLog]) -> dict[str, float]:
    """1 / distinct gold answers per fact over the logged questions (all personas asked)."""
    values: dict[str, set[str]] = {}
    for log in logs:
        for record in log.records:
            values.setdefault(record.fact, set()).add(record.answer)
    return {fact: 1 / len(answers) for fact, answers in sorted(values.items())}


def dataset_facts(dataset_dir: str | Path) -> dict[str, dict[str, str]]:
    """persona_id -> fact -> value, from the dataset's `personas` config."""
    from datasets import load_dataset  # lazy: only this path needs the datasets stack
    from datasets.utils.logging import disable_progress_bar

    from persona_bench.persona_gen.publish import load_options

    disable_progress_bar()
    loaded = load_dataset(str(dataset_dir), "personas", **load_options(dataset_dir))
    personas = next(iter(loaded.values()))
    personas = personas.select_columns(["persona_id", "facts"])
    return {row["persona_id"]: dict(row["facts"]) for row in personas}


def chance_from_facts(facts: Mapping[str, Mapping[str, str]]) -> dict[str, float]:
    """1 / distinct values of each fact over the personas."""
    return {fact: 1 / len({p[fact] for p in facts.values()}) for fact in ALL_FACTS}


def chance_from_dataset(dataset_dir: str | Path) -> dict[str, float]:
    return chance_from_facts(dataset_facts(dataset_dir))


def check_hash(run: EvalRun, expected: str | None, label: str) -> None:
    if expected and expected != run.provenance.dataset_hash:
        raise UserError(f"the samples are from dataset {run.provenance.dataset_hash} but the "
                        f"{label} is {expected}: another dataset version; evaluate on the same "
                        "dataset")


def check_dataset(dataset_dir: str | Path, runs: list[EvalRun]) -> tuple[str, dict[str, float]]:
    """The dataset's content hash and chance levels; every run must be of this dataset and
    every logged gold answer must be the dataset's value of that fact."""
    from persona_bench.persona_gen.publish import read_metadata

    content_hash = read_metadata(dataset_dir).get("content_hash")
    facts = dataset_facts(dataset_dir)
    for run in runs:
        check_hash(run, content_hash, f"dataset in {dataset_dir}")
        for log in [*run.tasks.values(), *run.likelihood.values()]:
            wrong = next((r for r in log.records
                          if facts.get(r.persona_id, {}).get(r.fact) != r.answer), None)
            if wrong is not None:
                raise UserError(f"{log.path.name}: question {wrong.id} has answer "
                                f"{wrong.answer!r}, not the dataset's "
                                f"{facts.get(wrong.persona_id, {}).get(wrong.fact)!r}: "
                                "the log was edited (tampered)")
            if log.role in ("source", "target"):
                left_out = sorted(set(facts) - {r.persona_id for r in log.records})
                if left_out and run.provenance.tasks.get(log.task, None) is not None and \
                        run.provenance.tasks[log.task].limit in (None, "", 0):
                    raise UserError(f"{log.path.name} leaves out {len(left_out)} of the "
                                    f"dataset's {len(facts)} personas (e.g. {left_out[0]}); "
                                    "evaluate the full test split")
    return content_hash, chance_from_facts(facts)


def _sides(run: EvalRun, base: EvalRun | None, direction: str) -> dict[str, TaskLog]:
    sides: dict[str, TaskLog] = {}
    roles = CONFIGS[direction].roles
    for prefix, logs in zip(PREFIXES, (run.tasks, run.likelihood, base.tasks if base else {},
                                       base.likelihood if base else {}), strict=True):
        for log in logs.values():
            if log.direction == direction and log.role in roles:
                sides[prefix + log.role] = log
    return sides


def _half(direction: str, side: str) -> Half:
    role = next(side.removeprefix(p) for p in sorted(PREFIXES, key=len, reverse=True)
                if side.startswith(p))
    return CONFIGS[direction].half(role)


def _reference(sides: dict[str, TaskLog]) -> TaskLog:
    """The side the others are checked against (and whose questions define a group)."""
    return sides.get("source") or sides.get("target") or next(iter(sides.values()))


def _check_sides(sides: dict[str, TaskLog], direction: str) -> None:
    """Every paired side asks the same persona/fact pairs with the same gold answers; every
    side asks in the modality its half declares."""
    ref = _reference(sides)
    want = Counter((r.persona_id, r.fact) for r in ref.records)
    answers = {(r.persona_id, r.fact): r.answer for r in ref.records}
    for side, log in sides.items():
        half = _half(direction, side)
        modality = half.modality
        wrong = next((r for r in log.records if r.modality != modality), None)
        if wrong is not None:
            raise UserError(f"{log.path.name}: question {wrong.id} is in modality "
                            f"{wrong.modality!r}, but the {side} side of {direction} is "
                            f"{modality!r}; the task is mislabelled")
        if not half.paired:
            continue
        other = next((r for r in log.records
                      if answers.get((r.persona_id, r.fact), r.answer) != r.answer), None)
        if other is not None:
            raise UserError(f"{log.path.name}: question {other.id} has answer {other.answer!r} "
                            f"but {ref.path.name} has {answers[other.persona_id, other.fact]!r} "
                            "for the same persona and fact (tampered, or another dataset)")
        got = Counter((r.persona_id, r.fact) for r in log.records)
        if got != want:
            missing, extra = want - got, got - want
            example = next(iter(missing or extra))
            raise UserError(f"{log.path.name} and {ref.path.name} do not ask the same "
                            f"persona/fact pairs ({sum(missing.values())} missing, "
                            f"{sum(extra.values())} extra, e.g. {example}); evaluate every "
                            "half on the full test splits of one dataset version")


def _tally(records: list[SampleRecord], index: dict[str, int], facts: tuple[str, ...],
           metric: str) -> tuple[np.ndarray, np.ndarray]:
    correct, total = np.zeros(len(index)), np.zeros(len(index))
    for record in records:
        if record.fact in facts:
            total[index[record.persona_id]] += 1
            correct[index[record.persona_id]] += getattr(record, metric)
    return correct, total


def _points_and_draws(direction: str, sides: dict[str, TaskLog], facts: tuple[str, ...],
                      index: dict[str, int], weights: np.ndarray, metric: str
                      ) -> tuple[dict[str, Any], dict[str, np.ndarray]] | None:
    """Every side's and derived metric's point value and bootstrap draws (None: a side asks
    nothing of this fact group)."""
    points: dict[str, Any] = {}
    draws: dict[str, np.ndarray] = {}
    for side, log in sides.items():
        side_metric = "correct" if side.startswith(LIKELIHOOD_SIDES) else metric
        asked = ALL_FACTS if _half(direction, side).all_facts else facts
        correct, total = _tally(log.records, index, asked, side_metric)
        if not total.sum():
            return None
        points[side] = ratio(correct.sum(), total.sum())
        draws[side] = recall_draws(correct, total, weights)
    for d in experiment_of(direction).derived:
        if d.a in points and d.b in points:
            op = OPS[d.op]
            points[d.name], draws[d.name] = op(points[d.a], points[d.b]), op(draws[d.a], draws[d.b])
    return points, draws


def _group_score(direction: str, sides: dict[str, TaskLog], facts: tuple[str, ...],
                 index: dict[str, int], weights: np.ndarray, metric: str,
                 chance: Mapping[str, float], confidence: float) -> GroupScore | None:
    found = _points_and_draws(direction, sides, facts, index, weights, metric)
    if found is None:
        return None
    points, draws = found
    asked = [r for r in _reference(sides).records if r.fact in facts]
    ks = [r.k for side, log in sides.items() if side.startswith("likelihood_")
          for r in log.records if r.fact in facts]
    return GroupScore(
        n_pairs=len(asked),
        chance=float(np.mean([chance[r.fact] for r in asked])),
        likelihood_chance=float(np.mean([1 / (k + 1) for k in ks])) if ks else None,
        metrics={name: interval(points[name], draws[name], confidence)
                 for name in HIGHER_IS_BETTER if name in points},
    )


def score_direction(run: EvalRun, direction: str, base: EvalRun | None,
                    chance: Mapping[str, float], metric: str, n_resamples: int, seed: int,
                    confidence: float = CONFIDENCE) -> DirectionScore:
    sides = _sides(run, base, direction)
    if base is not None and not any(side.startswith("base_") for side in sides):
        raise UserError(f"the base-model results have no {direction} source or target tasks; "
                        f"evaluate the base model on the persona_{direction} group")
    _check_sides(sides, direction)
    missing = {r.fact for log in sides.values() for r in log.records} - set(chance)
    if missing:
        raise UserError(f"no chance level for facts {sorted(missing)}; pass them or the dataset")
    personas = sorted({r.persona_id for log in sides.values() for r in log.records})
    index = {p: i for i, p in enumerate(personas)}
    weights = resample_weights(len(personas), n_resamples, seed)
    groups = {name: _group_score(direction, sides, facts, index, weights, metric, chance,
                                 confidence)
              for name, facts in GROUPS.items()}
    return DirectionScore(
        direction=direction,
        source_modality=CONFIGS[direction].trained,
        target_modality=CONFIGS[direction].other,
        n_personas=len(personas),
        tasks={side: log.task for side, log in sides.items()},
        groups={name: group for name, group in groups.items() if group is not None},
    )


def _warnings(run: EvalRun, directions: dict[str, DirectionScore]) -> list[str]:
    notes = [f"{task}: evaluated with limit={p.limit}, not the full split"
             for task, p in run.provenance.tasks.items() if p.limit not in (None, "", 0)]
    for name, score in directions.items():
        declared = CONFIGS[name].roles
        notes += [f"{name}: no {half} half, so no gap or transfer ratio"
                  for half in ("source", "target") if half in declared and half not in score.tasks]
    return notes


def trained_modality(model_id: str) -> str | None:
    """`image` or `text` when `model_id` is a local checkpoint trained by persona-bench on one
    modality (its `persona_train.json`), else None (Hub ids, base models, pretraining)."""
    try:
        record = read_train_record(model_id) if model_id and Path(model_id).is_dir() else None
    except (OSError, ValueError):
        return None
    modality = (record or {}).get("source_modality")
    return modality if modality in MODALITIES else None


def _directions_for_model(run: EvalRun, found: list[str], direction: str | None
                          ) -> tuple[list[str], list[str]]:
    """The directions to score and warnings. The harness only knows task names: a text-only
    run of a text-trained model also holds `img2text` target tasks (the same questions), so
    when the model's record says which modality it was trained on, only the direction with
    that source modality is scored (an explicit `direction` is kept, with a warning)."""
    trained = trained_modality(run.provenance.model_id)
    wanted = [direction] if direction else found
    if trained is None:
        return wanted, []
    mismatched = [d for d in wanted if CONFIGS[d].trained != trained]
    if direction:
        notes = [f"{direction}: the model was trained on {trained} (persona_train.json), "
                 f"not {CONFIGS[direction].trained}"] if mismatched else []
        return wanted, notes
    kept = [d for d in wanted if d not in mismatched]
    if not kept:
        other = next(c.name for c in experiment_of(found[0]).configs if c.trained == trained)
        raise UserError(f"{run.provenance.model_id} was trained on {trained} (its "
                        f"persona_train.json) but the results hold only {', '.join(found)} "
                        f"tasks; evaluate the {other} tasks (lmms-eval persona_{other}, "
                        f"lm-eval pbench_text_{other})")
    return kept, [f"{d}: not scored, the model was trained on {trained} (persona_train.json)"
                  for d in mismatched]


def paired_change(results: str | Path, reference: str | Path, direction: str,
                  names: tuple[str, ...], metric: str = "exact", n_resamples: int = N_RESAMPLES,
                  seed: int = 0, confidence: float = CONFIDENCE) -> dict[str, Interval]:
    """`name` of `results` minus `name` of `reference` (two models evaluated on the same
    questions), each with a paired bootstrap interval over personas: the same resampled
    personas in both, so what the two share cancels out."""
    runs = [load_run(locate_run(folder)) for folder in (results, reference)]
    sides = [_sides(run, None, direction) for run in runs]
    for each in sides:
        _check_sides(each, direction)
    personas = sorted({r.persona_id for each in sides for log in each.values()
                       for r in log.records})
    index = {p: i for i, p in enumerate(personas)}
    weights = resample_weights(len(personas), n_resamples, seed)
    found = [_points_and_draws(direction, each, ALL_FACTS, index, weights, metric)
             for each in sides]
    if any(f is None for f in found):
        return {}
    (points, draws), (ref_points, ref_draws) = found
    return {name: interval(points[name] - ref_points[name], draws[name] - ref_draws[name],
                           confidence)
            for name in names if name in points and name in ref_points}


def score_run(run: EvalRun, direction: str | None = None, base: EvalRun | None = None,
              chance: Mapping[str, float] | None = None, metric: str = "exact",
              n_resamples: int = N_RESAMPLES, seed: int = 0,
              dataset_hash: str | None = None, chance_source: str = "given") -> Score:
    """Score a loaded run (and optionally its base-model run) for one or all directions."""
    if metric not in METRICS:
        raise UserError(f"unknown metric {metric!r}; choose one of {', '.join(METRICS)}")
    if n_resamples < 1:
        raise UserError("n_resamples must be at least 1")
    found = sorted({log.direction for log in run.tasks.values()})
    if direction is not None and check_config(direction).name not in found:
        raise UserError(f"the results have no {direction} tasks (found: {', '.join(found)}); "
                        f"evaluate the persona_{direction} group or pick another direction")
    check_hash(run, dataset_hash, "expected dataset")
    check_hash(run, base and base.provenance.dataset_hash, "base run's dataset")
    if chance is None:
        chance, chance_source = chance_from_records(list(run.tasks.values())), "samples"
    scored, notes = _directions_for_model(run, found, direction)
    directions = {d: score_direction(run, d, base, chance, metric, n_resamples, seed)
                  for d in scored}
    return Score(
        metric=metric, n_resamples=n_resamples, seed=seed, confidence=CONFIDENCE,
        chance=dict(chance), chance_source=chance_source, directions=directions,
        provenance=run.provenance, base_provenance=base.provenance if base else None,
        warnings=notes + _warnings(run, directions),
    )


def score_results(results_dir: str | Path, direction: str | None = None,
                  base_results_dir: str | Path | None = None, harness: str | None = None,
                  chance: Mapping[str, float] | None = None, dataset: str | Path | None = None,
                  metric: str = "exact", n_resamples: int = N_RESAMPLES, seed: int = 0) -> Score:
    """Read a harness results folder and score it; every number comes from the samples.

    `dataset`: the dataset folder, to check the content hash and take chance levels from;
    `chance`: explicit chance levels per fact (else from the dataset, else from the samples).
    """
    run = load_run(locate_run(results_dir, harness))
    base = load_run(locate_run(base_results_dir, harness)) if base_results_dir else None
    dataset_hash, source = None, "given"
    if dataset is not None:
        dataset_hash, dataset_chance = check_dataset(dataset, [run, *([base] if base else [])])
        if chance is None:
            chance, source = dataset_chance, "dataset"
    return score_run(run, direction, base, chance, metric, n_resamples, seed, dataset_hash,
                     source)


TABLES = (  # what the terminal shows together, each table with the chance level it needs
    ("chance", ("source", "target", "gap", "transfer_ratio")),
    ("likelihood_chance", ("likelihood_source", "likelihood_target")),
    ("chance", ("seen", "base_source", "base_target")),
    ("", ("source_gain", "target_gain", "adjusted_ratio")),
)
SHORT = {"transfer_ratio": "ratio", "likelihood_source": "lik. source",
         "likelihood_target": "lik. target", "adjusted_ratio": "adj. ratio"}


def _header(metric: str) -> str:
    arrow = {True: " ↑", False: " ↓", None: ""}[HIGHER_IS_BETTER[metric]]
    return SHORT.get(metric, metric.replace("_", " ")) + arrow


def _group_table(direction: DirectionScore, metrics: list[str], chance: str) -> str:
    """One line per fact group, with the chance level `chance` ("" for none)."""
    headers = ["group", "pairs", *([chance.replace("likelihood_", "lik. ")] if chance else []),
               *map(_header, metrics)]
    rows = [[name, str(g.n_pairs), *([f"{getattr(g, chance):.3f}"] if chance else []),
             *(fmt_interval(g.metrics.get(m)) for m in metrics)]
            for name, g in direction.groups.items()]
    return text_table(headers, rows)


def format_table(score: Score) -> str:
    """A terminal summary: per direction, the headline table, then any further metrics."""
    prov = score.provenance
    revision = f"@{prov.model_revision}" if prov.model_revision else ""
    lines = [  # ids come from the logs: shown with control/bidi characters escaped
        printable(f"model {prov.model_id}{revision} | {prov.harness} {prov.harness_version} | "
                  f"dataset {prov.dataset_hash[:19]}", limit=400),
        f"metric: {score.metric} match; {score.confidence:.0%} CI: paired bootstrap over "
        f"personas ({score.n_resamples} resamples, seed {score.seed})",
        f"chance levels from the {score.chance_source}; ↑ higher is better, ↓ lower is better",
    ]
    for name, direction in score.directions.items():
        present = direction.groups["all"].metrics
        lines += ["", f"{name}: trained on {direction.source_modality}, tested on "
                      f"{direction.target_modality} ({direction.n_personas} personas)"]
        listed = {m for _, metrics in TABLES for m in metrics}
        rest = ("", tuple(m for m in present if m not in listed))  # other experiments' metrics
        for chance, metrics in (*TABLES, rest):
            shown = [m for m in metrics if m in present]
            if shown:
                lines += [_group_table(direction, shown, chance), ""]
    lines += [printable(f"warning: {w}", limit=1000) for w in score.warnings]
    return "\n".join(lines)
