"""Read lmms-eval and lm-eval result folders: the results JSON plus per-sample JSONL logs.

On-disk layouts (both write into ``<output_path>/<sanitized model name>/``):

- lmms-eval: ``<date>_results.json`` (has ``lmms_eval_version``) and
  ``<date>_samples_<task>.jsonl`` (no ``doc``).
- lm-eval: ``results_<date>.json`` (has ``lm_eval_version``) and
  ``samples_<task>_<date>.jsonl`` (keeps ``doc``).
- the likelihood scorer (`tasks.likelihood`): ``likelihood_<direction>_<half>.jsonl`` beside
  either, one flat record a line with ``rank`` (1 = best), ``correct`` and ``k`` distractors.

Every per-sample metric value is the record of docs/CONTRACT.md. `exact`/`contains` are
recomputed from `prediction` and `answer`; a stored value that disagrees, a prediction that
is not the logged model response, or an aggregate in the results JSON that the samples do
not reproduce is reported as tampering. Nothing here trusts a summary number.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from persona_bench.checks import strict_json_loads
from persona_bench.errors import UserError
from persona_bench.experiments import CONFIGS
from persona_bench.leaderboards.schema import (
    HARNESSES,
    MAX_JSON_BYTES,
    MAX_SAMPLES_BYTES,
    MODALITIES,
)
from persona_bench.matching import contains_match, exact_match, normalize
from persona_bench.persona_gen.vocab import ALL_FACTS, ATTRIBUTE_FACTS

RECORD_FIELDS = ("id", "persona_id", "fact", "modality", "answer", "prediction")

def _alternation(names: object) -> str:
    return "|".join(sorted(map(re.escape, names), key=len, reverse=True))  # longest first


# `..._<config>_<role>` of any registered experiment (persona_bench/experiments)
TASK_RE = re.compile(rf"(?:^|_)({_alternation(CONFIGS)})_"
                     rf"({_alternation({r for c in CONFIGS.values() for r in c.roles})})$")
RESULTS_RE = {  # dates start with a digit (so likelihood_*_results.json never matches)
    "lmms-eval": re.compile(r"^(?P<date>\d[\w.:-]*)_results\.json$"),
    "lm-eval": re.compile(r"^results_(?P<date>\d[\w.:-]*)\.json$"),
}
VERSION_KEY = {"lmms-eval": "lmms_eval_version", "lm-eval": "lm_eval_version"}
LIKELIHOOD_RE = re.compile(r"^likelihood_(?P<task>.+)\.jsonl$")
TOLERANCE = 1e-6
# `leaderboard add` has no --harness flag: it reads the manifest's
_HARNESS_FIX = ' (`leaderboard score`), or set "harness" in run_manifest.json (`leaderboard add`)'


@dataclass(frozen=True)
class SampleRecord:
    """One answered question; `exact`/`contains` recomputed here.

    Likelihood logs add `rank` of the true answer (1 = best) among itself and `k` distractors.
    """

    id: str
    persona_id: str
    fact: str
    modality: str
    answer: str
    prediction: str
    exact: bool
    contains: bool
    k: int | None = None
    rank: int | None = None

    @property
    def correct(self) -> bool:
        """Likelihood recall: the true answer ranks first (ties count against it)."""
        return self.rank == 1


@dataclass
class TaskLog:
    task: str
    direction: str
    role: str  # source | target | seen
    path: Path
    sha256: str
    records: list[SampleRecord]


@dataclass
class TaskProvenance:
    """What produced one task's samples: file, version, data, generation settings, seeds."""

    results_file: str
    samples_file: str
    samples_sha256: str
    date: str
    version: str
    dataset_id: str
    dataset_hash: str
    n_samples: int
    generation: dict[str, Any]
    seeds: dict[str, Any]
    batch_size: Any
    limit: Any


@dataclass
class Provenance:
    harness: str
    harness_version: str
    model_id: str
    model_revision: str | None
    model_args: str
    dataset_id: str
    dataset_hash: str
    tasks: dict[str, TaskProvenance] = field(default_factory=dict)
    likelihood_files: dict[str, str] = field(default_factory=dict)  # task -> sha256


@dataclass
class RunFiles:
    """The files of one evaluation run, found by `locate_run` or restored from a board."""

    harness: str
    results: dict[str, Path]  # task -> results JSON that reports it (newest wins)
    samples: dict[str, Path]  # task -> samples JSONL
    likelihood: dict[str, Path] = field(default_factory=dict)  # task -> likelihood JSONL


@dataclass
class EvalRun:
    files: RunFiles
    provenance: Provenance
    tasks: dict[str, TaskLog]
    likelihood: dict[str, TaskLog]


def parse_task(task: str) -> tuple[str, str] | None:
    """(config, role) of a persona task name, or None for any other task."""
    match = TASK_RE.search(task)
    if not match or match.group(2) not in CONFIGS[match.group(1)].roles:
        return None
    return match.group(1), match.group(2)


def read_limited(path: Path, limit: int) -> bytes:
    """The bytes of a regular file of at most `limit` bytes (no symlinks: submissions are data)."""
    if path.is_symlink() or not path.is_file():
        raise UserError(f"{path} is not a regular file; copy the real file into the folder")
    size = path.stat().st_size
    if size > limit:
        raise UserError(f"{path} is {size / 2**20:.1f} MiB, over the {limit / 2**20:.0f} MiB "
                        "limit for submitted files; evaluate fewer tasks per run")
    return path.read_bytes()


def load_json(path: Path, limit: int = MAX_JSON_BYTES) -> Any:
    """Strict JSON (NaN and Infinity refused: a comparison with NaN is never "different")."""
    try:
        return strict_json_loads(read_limited(path, limit))
    except (ValueError, RecursionError) as err:
        raise UserError(f"{path} is not valid JSON ({err}); the file is truncated or "
                        "corrupt: re-run the step that wrote it") from None


def _harness_files(folder: Path) -> dict[str, list[Path]]:
    """Results JSON files per harness in `folder` and its immediate sub-folders."""
    found: dict[str, list[Path]] = {h: [] for h in HARNESSES}
    inside = folder.resolve()
    for path in sorted([*folder.glob("*.json"), *folder.glob("*/*.json")]):
        if path.is_symlink() or path.parent.is_symlink() or not path.resolve().is_relative_to(
                inside):
            raise UserError(f"{path} is a symbolic link or lies outside {folder}; a "
                            "submission is the folder given: copy the real files into it")
        for harness, pattern in RESULTS_RE.items():
            if pattern.match(path.name):
                found[harness].append(path)
    return found


def detect_harness(folder: Path, harness: str | None = None) -> str:
    """The harness that wrote `folder`; a clear error when it is not the one expected."""
    if harness is not None and harness not in HARNESSES:
        raise UserError(f"unknown harness {harness!r}; choose one of {', '.join(HARNESSES)}")
    if not folder.is_dir():
        raise UserError(f"results folder {folder} does not exist; pass the --output_path "
                        "given to lmms-eval/lm-eval")
    found = {h: paths for h, paths in _harness_files(folder).items() if paths}
    if harness is not None and harness not in found and found:
        other = next(iter(found))
        raise UserError(f"{folder} holds {other} output ({found[other][0].name}), not "
                        f"{harness}; pass --harness {other}{_HARNESS_FIX} or the right folder")
    if not found:
        raise UserError(f"no results JSON in {folder} or its sub-folders (lmms-eval writes "
                        "<model>/<date>_results.json, lm-eval <model>/results_<date>.json); "
                        "did the evaluation finish?")
    if harness is None and len(found) > 1:
        raise UserError(f"{folder} holds both lmms-eval and lm-eval output; "
                        f"pass --harness to pick one{_HARNESS_FIX}")
    return harness or next(iter(found))


def _samples_path(results: Path, harness: str, date: str, task: str) -> Path:
    name = f"{date}_samples_{task}.jsonl" if harness == "lmms-eval" else (
        f"samples_{task}_{date}.jsonl")
    return results.with_name(name)


def locate_run(folder: str | Path, harness: str | None = None) -> RunFiles:
    """Find the results and samples of every persona task; the newest run of a task wins."""
    folder = Path(folder)
    harness = detect_harness(folder, harness)
    results: dict[str, Path] = {}
    samples: dict[str, Path] = {}
    dates: dict[str, str] = {}
    for path in _harness_files(folder)[harness]:
        date = RESULTS_RE[harness].match(path.name).group("date")
        meta = load_json(path)
        _check_harness(path, meta, harness)
        for task in meta["results"]:
            sample_path = _samples_path(path, harness, date, task)
            if parse_task(task) and sample_path.exists() and date >= dates.get(task, ""):
                results[task], samples[task], dates[task] = path, sample_path, date
    if not samples:
        raise UserError(f"{folder} has no per-sample logs of persona tasks "
                        "(*_samples_persona_*.jsonl); run the harness with --log_samples")
    likelihood: dict[str, Path] = {}
    for where in sorted({folder, *(p.parent for p in results.values())}):
        for path in sorted(where.glob("likelihood_*.jsonl")):
            task = LIKELIHOOD_RE.match(path.name).group("task")
            if parse_task(task):
                likelihood[task] = path
    return RunFiles(harness, results, samples, likelihood)


def _iter_jsonl(path: Path, data: bytes) -> list[dict]:
    try:
        lines = data.decode("utf-8").split("\n")
    except UnicodeDecodeError:
        raise UserError(f"{path} is not UTF-8 text: not a harness log") from None
    if lines and lines[-1] == "":
        lines.pop()
    elif lines:
        raise UserError(f"{path} does not end with a newline: the file is truncated; "
                        "re-run the evaluation")
    out = []
    for number, line in enumerate(lines, 1):
        try:
            obj = strict_json_loads(line)
        except (ValueError, RecursionError) as err:
            raise UserError(f"{path} line {number} is not valid JSON ({err}): the file is "
                            "truncated or corrupt; re-run the evaluation") from None
        if not isinstance(obj, dict):
            raise UserError(f"{path} line {number} is not a JSON object")
        out.append(obj)
    return out


def _record(raw: dict, where: str, likelihood: bool = False) -> SampleRecord:
    for key in RECORD_FIELDS:
        if not isinstance(raw.get(key), str):
            raise UserError(f"{where}: the record has no string {key!r}; "
                            "see docs/CONTRACT.md for the per-sample record")
    if raw["fact"] not in ALL_FACTS or raw["modality"] not in MODALITIES:
        raise UserError(f"{where}: unknown fact {raw['fact']!r} or modality "
                        f"{raw['modality']!r}; is this a persona-bench task?")
    record = SampleRecord(
        *(raw[key] for key in RECORD_FIELDS),
        exact=exact_match(raw["prediction"], raw["answer"]),
        contains=contains_match(raw["prediction"], raw["answer"]),
        **(_check_rank(raw, where) if likelihood else {}),
    )
    for key in ("exact", "contains", *(("correct",) if likelihood else ())):
        stored, expected = raw.get(key), getattr(record, key)
        if stored is not None and stored != expected:
            raise UserError(f"{where}: stored {key}={stored} but the logged prediction/rank gives "
                            f"{expected}: the log was edited (tampered); re-run the evaluation")
    if likelihood and record.correct and not record.exact:
        raise UserError(f"{where}: rank 1 but the top prediction is not the answer (tampered)")
    return record


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_rank(raw: dict, where: str) -> dict[str, int]:
    k, rank = raw.get("k"), raw.get("rank")
    if not _is_int(k) or k < 1 or not _is_int(rank) or not 1 <= rank <= k + 1:
        raise UserError(f"{where}: a likelihood record needs integers k >= 1 (distractors) and "
                        "rank in 1..k+1 (see tasks/likelihood.py)")
    return {"k": k, "rank": rank}


def _response_text(value: Any) -> str | None:
    """The single generated string of `filtered_resps` in either harness's layout."""
    while isinstance(value, list) and len(value) == 1:
        value = value[0]
    return value if isinstance(value, str) else None


def _sample_record(sample: dict, where: str) -> SampleRecord:
    """The contract record among a logged sample's metric values, scored from the raw response.

    The model's logged response (`filtered_resps`) is required: `prediction`, `exact` and
    `contains` are recomputed from it, never taken from the record. A cross-check field
    that is missing counts as a failure, not as a pass.
    """
    raws = [v for v in sample.values() if isinstance(v, dict) and "prediction" in v]
    if not raws:
        raise UserError(f"{where}: no per-sample record among the metric values; the task "
                        "must return the record of docs/CONTRACT.md from process_results")
    if any(r != raws[0] for r in raws[1:]):
        raise UserError(f"{where}: the metric records of one sample disagree (tampered)")
    response = _response_text(sample.get("filtered_resps"))
    if response is None:
        raise UserError(f"{where}: no logged model response (filtered_resps); a score is only "
                        "computed from what the model said: re-run with --log_samples")
    record = _record({**raws[0], "prediction": response.strip()}, where)
    if normalize(response) != normalize(str(raws[0]["prediction"])):
        raise UserError(f"{where}: prediction {str(raws[0]['prediction'])[:60]!r} is not the "
                        f"logged model response {response[:60]!r} (tampered); re-run the "
                        "evaluation")
    target = sample.get("target")
    if target is not None and _response_text(target) != record.answer:
        raise UserError(f"{where}: the record's answer {record.answer[:60]!r} is not the logged "
                        f"target {str(target)[:60]!r} (tampered)")
    doc = sample.get("doc")
    if isinstance(doc, dict) and any(doc.get(k, getattr(record, k)) != getattr(record, k)
                                     for k in ("id", "answer", "persona_id", "fact")):
        raise UserError(f"{where}: the record does not match the logged doc (tampered)")
    if target is None and not isinstance(doc, dict):
        raise UserError(f"{where}: neither the logged target nor the doc is present, so the "
                        "gold answer cannot be cross-checked (tampered); re-run the evaluation")
    return record


def read_task_log(path: Path, task: str, likelihood: bool = False) -> TaskLog:
    data = read_limited(path, MAX_SAMPLES_BYTES)
    rows = _iter_jsonl(path, data)
    if not rows:
        raise UserError(f"{path} is empty; re-run the evaluation")
    if likelihood:
        records = [_record(row, f"{path} line {i}", True) for i, row in enumerate(rows, 1)]
    else:
        records = [_sample_record(row, f"{path} line {i}") for i, row in enumerate(rows, 1)]
        doc_ids = [row.get("doc_id") for row in rows]
        if len(set(map(str, doc_ids))) != len(doc_ids):
            raise UserError(f"{path} logs a doc_id twice (two runs appended to one file?); "
                            "re-run into an empty --output_path")
    ids = [r.id for r in records]
    if len(set(ids)) != len(ids):
        raise UserError(f"{path} has duplicate question ids; re-run into an empty folder")
    direction, role = parse_task(task)
    return TaskLog(task, direction, role, path, hashlib.sha256(data).hexdigest(), records)


FACTS_ASKED = {"all": ALL_FACTS, "name": ("name",), "attributes": ATTRIBUTE_FACTS}


def check_coverage(log: TaskLog) -> None:
    """A half of a leaderboard row asks every fact it declares (`Half.asks`) of every persona
    it names, each once."""
    wanted = set(FACTS_ASKED[CONFIGS[log.direction].half(log.role).asks])
    facts: dict[str, list[str]] = {}
    for record in log.records:
        facts.setdefault(record.persona_id, []).append(record.fact)
    for persona, asked in sorted(facts.items()):
        if len(asked) != len(set(asked)):
            raise UserError(f"{log.path.name}: persona {persona} is asked one fact twice; a "
                            "half asks every persona/fact pair exactly once: re-run on the "
                            "unmodified test split")
        if set(asked) != wanted:
            missing = sorted(wanted - set(asked)) or sorted(set(asked) - wanted)
            raise UserError(f"{log.path.name}: persona {persona} is not asked "
                            f"{', '.join(missing)}; re-run on the unmodified test split")


def _model_args(config: dict) -> tuple[str, dict[str, str]]:
    raw = config.get("model_args") or ""
    if isinstance(raw, dict):
        return json.dumps(raw, sort_keys=True), {k: str(v) for k, v in raw.items()}
    pairs = dict(p.split("=", 1) for p in str(raw).split(",") if "=" in p)
    return str(raw), pairs


def _task_provenance(task: str, results_path: Path, meta: dict, log: TaskLog) -> TaskProvenance:
    where = f"{results_path} task {task}"
    config = meta.get("config") or {}
    task_config = (meta.get("configs") or {}).get(task) or {}
    metadata = task_config.get("metadata") or {}
    dataset_hash = metadata.get("content_hash") or metadata.get("dataset_hash")
    if not isinstance(dataset_hash, str):
        raise UserError(f"{where}: no metadata.content_hash in the task config (the dataset "
                        "version is unknown); evaluate with a pack written by `persona-bench "
                        "tasks --data DIR` (as `persona-bench eval` does)")
    n_samples = ((meta.get("n-samples") or {}).get(task) or {}).get("effective")
    if n_samples is not None and n_samples != len(log.records):
        raise UserError(f"{log.path} has {len(log.records)} samples but {results_path.name} "
                        f"reports {n_samples}: the samples file is truncated or from another run")
    return TaskProvenance(
        results_file=results_path.name,
        samples_file=log.path.name,
        samples_sha256=log.sha256,
        date=str(meta.get("date", "")),
        version=str((meta.get("versions") or {}).get(task, metadata.get("version", ""))),
        dataset_id=str(metadata.get("dataset_id") or metadata.get("dataset_path")
                       or task_config.get("dataset_path") or ""),
        dataset_hash=dataset_hash,
        n_samples=len(log.records),
        generation={"task": task_config.get("generation_kwargs"),
                    "override": config.get("gen_kwargs")},
        seeds={k: config.get(k) for k in ("random_seed", "numpy_seed", "torch_seed",
                                          "fewshot_seed")},
        batch_size=config.get("batch_size"),
        limit=config.get("limit"),
    )


def _check_aggregates(task: str, results_path: Path, meta: dict, log: TaskLog) -> None:
    """Every `<metric>,<filter>` number in the results JSON must match the samples."""
    for key, value in ((meta.get("results") or {}).get(task) or {}).items():
        metric = key.split(",")[0]
        kind = next((k for k in ("exact", "contains") if metric.endswith(k)), None)
        if kind is None or not isinstance(value, int | float) or isinstance(value, bool):
            continue
        recomputed = sum(getattr(r, kind) for r in log.records) / len(log.records)
        if abs(recomputed - value) > TOLERANCE:
            raise UserError(f"{results_path.name} reports {key}={value:.4f} for {task} but its "
                            f"samples give {recomputed:.4f}: results and samples disagree "
                            "(tampered or mixed runs); re-run the evaluation")


def load_run(files: RunFiles) -> EvalRun:
    """Read, check and cross-check every file of a run."""
    metas = {path: load_json(path) for path in set(files.results.values())}
    for path, meta in metas.items():
        _check_harness(path, meta, files.harness)
    tasks: dict[str, TaskLog] = {}
    task_prov: dict[str, TaskProvenance] = {}
    for task, samples_path in sorted(files.samples.items()):
        meta = metas[files.results[task]]
        log = read_task_log(samples_path, task)
        task_prov[task] = _task_provenance(task, files.results[task], meta, log)
        _check_aggregates(task, files.results[task], meta, log)
        tasks[task] = log
    likelihood = {t: read_task_log(p, t, likelihood=True) for t, p in files.likelihood.items()}
    return EvalRun(files, _provenance(files, metas, task_prov, likelihood), tasks, likelihood)


def _check_harness(path: Path, meta: Any, harness: str) -> None:
    if not isinstance(meta, dict) or not isinstance(meta.get("results"), dict):
        raise UserError(f"{path} has no 'results' object: not a harness results file")
    other = next(h for h in HARNESSES if h != harness)
    if VERSION_KEY[harness] not in meta and VERSION_KEY[other] in meta:
        raise UserError(f"{path} was written by {other}, not {harness}; pass --harness {other}"
                        f"{_HARNESS_FIX}")


def _one(values: dict[str, Any], what: str) -> Any:
    distinct = set(map(str, values.values()))
    if len(distinct) > 1:
        raise UserError(f"the tasks of this run disagree on the {what} ({', '.join(distinct)}); "
                        "they must come from one model and one dataset version")
    return next(iter(values.values()))


def _provenance(files: RunFiles, metas: dict[Path, dict],
                tasks: dict[str, TaskProvenance], likelihood: dict[str, TaskLog]) -> Provenance:
    used = {str(files.results[t]): metas[files.results[t]] for t in tasks}
    args = {p: _model_args(m.get("config") or {}) for p, m in used.items()}
    names = {p: m.get("model_name") or args[p][1].get("pretrained")
             or (m.get("config") or {}).get("model", "") for p, m in used.items()}
    return Provenance(
        harness=files.harness,
        harness_version=str(_one({p: m.get(VERSION_KEY[files.harness], "")
                                  for p, m in used.items()}, "harness version")),
        model_id=str(_one(names, "model")),
        model_revision=_one({p: a[1].get("revision") for p, a in args.items()}, "revision"),
        model_args=_one({p: a[0] for p, a in args.items()}, "model arguments"),
        dataset_id=_one({t: p.dataset_id for t, p in tasks.items()}, "dataset id"),
        dataset_hash=_one({t: p.dataset_hash for t, p in tasks.items()}, "dataset hash"),
        tasks=tasks,
        likelihood_files={t: log.sha256 for t, log in likelihood.items()},
    )
