"""A submission: a run folder (``run_manifest.json``) checked and turned into a board row.

The row is computed from the per-sample logs only; the files it was computed from are
returned as content-addressed blobs so that the board can keep them and `verify` can
recompute the row later from exactly those bytes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from persona_bench.checks import contained_path
from persona_bench.errors import UserError
from persona_bench.experiments import AUGMENT_CONFIGS, CONFIGS, dataset_config_of, track_of
from persona_bench.leaderboards.bootstrap import CONFIDENCE
from persona_bench.leaderboards.readers import (
    EvalRun,
    RunFiles,
    check_coverage,
    load_json,
    load_run,
    locate_run,
    parse_task,
)
from persona_bench.leaderboards.schema import (
    MANIFEST,
    MAX_SUBMISSION_BYTES,
    ROW_SCHEMA,
    Row,
    RunManifest,
    TrainRecord,
    check_direction,
    check_manifest,
    check_name,
    check_param_count,
    check_train_record,
)
from persona_bench.leaderboards.scoring import DirectionScore, chance_from_records, plain, score_run


@dataclass
class Submission:
    manifest_path: Path
    manifest: RunManifest
    train_record: TrainRecord | None
    train_record_path: Path | None
    direction: str
    run: EvalRun
    base: EvalRun | None


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str).encode()


def restrict(files: RunFiles, direction: str) -> RunFiles:
    """The files of one direction's tasks only."""
    def keep(paths: dict[str, Path]) -> dict[str, Path]:
        return {t: p for t, p in paths.items() if parse_task(t)[0] == direction}

    return replace(files, results=keep(files.results), samples=keep(files.samples),
                   likelihood=keep(files.likelihood))


def _resolve(base: Path, path: str, field: str) -> Path:
    """A manifest path, inside the submission folder only (no `..`, absolute paths, links)."""
    return contained_path(base, path, f"{base / MANIFEST} {field}")


def load_submission(path: str | Path, direction: str | None = None) -> Submission:
    """Read a run folder (or its manifest file) and every file it points at."""
    path = Path(path)
    manifest_path = path / MANIFEST if path.is_dir() else path
    if manifest_path.is_symlink():
        raise UserError(f"{manifest_path} is a symbolic link; copy the real manifest into the "
                        "run folder")
    if not manifest_path.is_file():
        raise UserError(f"no {MANIFEST} in {path}: pass a run folder written by "
                        "`persona-bench run`, or a manifest file (see leaderboards/schema.py)")
    manifest = check_manifest(load_json(manifest_path), str(manifest_path))
    if direction is not None and check_direction(direction) != manifest["direction"]:
        raise UserError(f"{manifest_path} is a {manifest['direction']} run, not {direction}; "
                        "drop --direction or pass the other run")
    direction = manifest["direction"]
    here = manifest_path.parent
    record, record_path = None, None
    if manifest.get("train_record"):
        record_path = _resolve(here, manifest["train_record"], "train_record")
        record = check_train_record(load_json(record_path), str(record_path))
        _check_training(record, manifest, record_path)
    harness = manifest["harness"]
    run = _load_direction(_resolve(here, manifest["results_dir"], "results_dir"), harness,
                          direction)
    base = None
    if manifest.get("base_results_dir"):
        base = _load_direction(_resolve(here, manifest["base_results_dir"], "base_results_dir"),
                               harness, direction)
    sub = Submission(manifest_path, manifest, record, record_path, direction, run, base)
    _check_evidence(sub)
    return sub


def _check_training(record: TrainRecord, manifest: RunManifest, path: Path) -> None:
    if record["dataset"]["content_hash"] != manifest["dataset"]["content_hash"]:
        raise UserError(f"{path}: the model was trained on dataset "
                        f"{record['dataset']['content_hash']} but evaluated on "
                        f"{manifest['dataset']['content_hash']}; use one dataset version")
    if record["dataset_config"] != dataset_config_of(manifest["direction"]):
        raise UserError(f"{path}: the model was trained for {record['dataset_config']} but the "
                        f"manifest submits it as {manifest['direction']}")


def _load_direction(folder: Path, harness: str, direction: str) -> EvalRun:
    files = restrict(locate_run(folder, harness), direction)
    if not files.samples:
        raise UserError(f"{folder} has no {direction} samples; evaluate the "
                        f"persona_{direction} task group with --log_samples")
    return load_run(files)


def required_halves(config: str) -> list[str]:
    """The halves a row must have samples of: source and target where the config has them
    (the gap), else every half of its task group (e.g. the unlearning experiment's)."""
    roles = CONFIGS[config].roles
    if "source" in roles:
        return [r for r in ("source", "target") if r in roles]
    return [h.role for h in CONFIGS[config].halves if h.in_group]


def _check_evidence(sub: Submission) -> None:
    roles = {log.role for log in sub.run.tasks.values()}
    missing = [half for half in required_halves(sub.direction) if half not in roles]
    if missing:
        tasks = ", ".join(f"persona_{sub.direction}_{h}" for h in missing)
        raise UserError(f"the {sub.direction} results lack the {' and '.join(missing)} half; "
                        f"a row needs the samples of {tasks}")
    expected = sub.manifest["dataset"]["content_hash"]
    for label, run in (("results", sub.run), ("base results", sub.base)):
        if run is not None and run.provenance.dataset_hash != expected:
            raise UserError(f"the {label} are from dataset {run.provenance.dataset_hash}, the "
                            f"manifest names {expected}: samples from another dataset version")
        limited = [t for t, p in (run.provenance.tasks.items() if run else ())
                   if p.limit not in (None, "", 0)]
        if limited:
            raise UserError(f"{', '.join(limited)} ran with --limit; a row needs the full test "
                            "splits: re-run without --limit")
    for run in (sub.run, sub.base):
        for log in [*run.tasks.values(), *run.likelihood.values()] if run else ():
            check_coverage(log)
    size = sum(p.stat().st_size for p in evidence_paths(sub).values())
    if size > MAX_SUBMISSION_BYTES:
        raise UserError(f"the submission is {size / 2**20:.0f} MiB, over the "
                        f"{MAX_SUBMISSION_BYTES / 2**20:.0f} MiB limit")


def _run_paths(files: RunFiles) -> dict[str, Path]:
    return {**{f"results:{t}": p for t, p in files.results.items()},
            **{f"samples:{t}": p for t, p in files.samples.items()},
            **{f"likelihood:{t}": p for t, p in files.likelihood.items()}}


def evidence_paths(sub: Submission) -> dict[str, Path]:
    paths = {f"run:{k}": p for k, p in _run_paths(sub.run.files).items()}
    if sub.base:
        paths |= {f"base:{k}": p for k, p in _run_paths(sub.base.files).items()}
    return paths


def _blob_name(path: Path, data: bytes) -> str:
    return sha256(data) + path.suffix


def _files_entry(files: RunFiles, blobs: dict[str, bytes]) -> dict[str, Any]:
    """Blob names of a run's files, recording each file's bytes in `blobs`."""
    entry: dict[str, Any] = {"harness": files.harness}
    for kind in ("results", "samples", "likelihood"):
        entry[kind] = {}
        for task, path in sorted(getattr(files, kind).items()):
            data = path.read_bytes()
            entry[kind][task] = _blob_name(path, data)
            blobs[entry[kind][task]] = data
    return entry


def run_files_from_blobs(entry: dict[str, Any], blob_dir: Path) -> RunFiles:
    """The inverse of `_files_entry`: a RunFiles over stored blobs."""
    return RunFiles(entry["harness"],
                    *({t: blob_dir / name for t, name in entry[kind].items()}
                      for kind in ("results", "samples", "likelihood")))


def submission_from_blobs(files: dict[str, Any], blob_dir: Path) -> Submission:
    """The submission a board row was built from, re-read from its stored blobs."""
    if not files.get("manifest"):
        raise UserError("the row stores no manifest blob; re-add the run")
    manifest_path = blob_dir / files["manifest"]
    manifest = check_manifest(load_json(manifest_path), f"stored manifest {files['manifest']}")
    record, record_path = None, None
    if files.get("train_record"):
        record_path = blob_dir / files["train_record"]
        record = check_train_record(load_json(record_path),
                                    f"stored training record {files['train_record']}")
        _check_training(record, manifest, record_path)
    run = load_run(run_files_from_blobs(files["run"], blob_dir))
    base = load_run(run_files_from_blobs(files["base"], blob_dir)) if files.get("base") else None
    sub = Submission(manifest_path, manifest, record, record_path, manifest["direction"], run,
                     base)
    _check_evidence(sub)
    return sub


def recipe(record: TrainRecord | None) -> dict[str, Any]:
    """What was trained, with a short label and an id over every training setting."""
    if record is None:
        return {"method": "none", "trained_parts": [], "recipe": "none (zero-shot)",
                "recipe_id": "none", "hyperparameters": {}, "seed": None}
    training = record["training"]
    parts = sorted(part for part, on in training["parts"].items() if on is True)
    settings = {"method": training["method"], "trained_parts": parts,
                "merged": training.get("merged"), "hyperparameters": record["hyperparameters"],
                "seed": record["seed"]}
    label = f"{training['method']}:{'+'.join(parts)}"
    if record.get("augment"):  # only then: the recipe ids of rows without it stay as they were
        settings["augment"] = augment_ref(record["augment"])
        label += f"+{settings['augment']['config']}"
    return {**settings, "recipe": label, "recipe_id": sha256(canonical(settings))[:12]}


def augment_ref(value: Any) -> dict[str, Any]:
    """The `augment` of a training record: a registered config, a ratio in (0, 1], a count."""
    where = "persona_train.json augment"
    if not isinstance(value, dict) or value.get("config") not in AUGMENT_CONFIGS:
        raise UserError(f"{where}: must name one of {', '.join(AUGMENT_CONFIGS)}")
    ratio, rows = value.get("ratio"), value.get("rows")
    if (not isinstance(ratio, int | float) or isinstance(ratio, bool) or not 0 < ratio <= 1
            or not isinstance(rows, int) or isinstance(rows, bool) or rows < 0):
        raise UserError(f"{where}: ratio must be in (0, 1] and rows a count")
    return {"config": value["config"], "ratio": ratio, "rows": rows}


def test_split(sub: Submission) -> dict[str, Any]:
    """What the row's test split is: personas, pairs and a digest of (persona, fact, answer).

    The board keeps the first row's (or the dataset's) and every later row must match it, so
    no row can leave personas out or ask other questions.
    """
    halves = required_halves(sub.direction)
    if halves[0] == "source":  # the gap's questions, as every board has always kept them
        records = [r for log in sub.run.tasks.values() if log.role == "source"
                   for r in log.records]
        gold = sorted((r.persona_id, r.fact, r.answer) for r in records)
    else:  # every half of the group, each a different set of personas
        records = [r for log in sub.run.tasks.values() if log.role in halves
                   for r in log.records]
        gold = sorted((log.role, r.persona_id, r.fact, r.answer)
                      for log in sub.run.tasks.values() if log.role in halves
                      for r in log.records)
    return {"personas": len({r.persona_id for r in records}), "pairs": len(gold),
            "sha256": sha256(canonical(gold))}


def row_key(name: str, model_revision: str, direction: str, recipe_id: str) -> str:
    return sha256(canonical([name, model_revision, direction, recipe_id]))[:12]


def score_submission(sub: Submission, metric: str, n_resamples: int, seed: int,
                     chance: dict[str, float] | None = None,
                     chance_source: str = "given") -> tuple[DirectionScore, dict[str, float], str]:
    if chance is None:
        chance, chance_source = chance_from_records(list(sub.run.tasks.values())), "samples"
    score = score_run(sub.run, sub.direction, sub.base, chance, metric, n_resamples, seed,
                      sub.manifest["dataset"]["content_hash"], chance_source)
    return score.directions[sub.direction], chance, chance_source


def harness_ref(manifest: dict, harness: str, reported: str) -> dict[str, str]:
    """Name and version of the harness: the installed release the manifest records
    (``harness_version``) when present, else what the results file reports (lmms-eval
    0.7.3 reports the working directory's git commit there, kept as ``reported``)."""
    version = manifest.get("harness_version")
    if not isinstance(version, str) or not version:
        return {"name": harness, "version": reported}
    return {"name": harness, "version": version, "reported": reported}


def build_row(sub: Submission, name: str | None, scoring: dict[str, Any],
              chance: dict[str, float] | None = None,
              chance_source: str = "given") -> tuple[Row, dict[str, bytes]]:
    """The board row of a submission, and the blobs (name -> bytes) it was computed from."""
    manifest, record = sub.manifest, sub.train_record
    name = check_name(name or manifest.get("name") or manifest["model"]["id"])
    direction_score, chance, chance_source = score_submission(
        sub, scoring["metric"], scoring["n_resamples"], scoring["seed"], chance, chance_source)
    blobs: dict[str, bytes] = {}
    files: dict[str, Any] = {
        "run": _files_entry(sub.run.files, blobs),
        "base": _files_entry(sub.base.files, blobs) if sub.base else None,
    }
    fingerprint = sha256(canonical(files))[:16]
    for key, path in (("manifest", sub.manifest_path), ("train_record", sub.train_record_path)):
        files[key] = None
        if path is not None:
            data = path.read_bytes()
            files[key] = _blob_name(path, data)
            blobs[files[key]] = data
    training = recipe(record)
    if record:
        base_model = {"id": record["base_model"],
                      "revision": str(record.get("base_model_revision") or "unknown")}
        params = {"total": record["num_parameters"],
                  "trainable": record["num_trainable_parameters"]}
    else:
        base_model, params = dict(manifest["model"]), manifest.get("param_count")
    prov = sub.run.provenance
    if params is not None:
        check_param_count(params, f"{sub.manifest_path} param_count")
    row: Row = {
        "schema": ROW_SCHEMA,
        "row_id": row_key(name, manifest["model"]["revision"], sub.direction,
                          training["recipe_id"]),
        "fingerprint": fingerprint,
        "name": name,
        "model": dict(manifest["model"]),
        "base_model": base_model,
        "param_count": params,
        "training": training,
        "direction": sub.direction,
        "track": track_of(sub.direction, (training.get("augment") or {}).get("config")),
        "dataset": dict(manifest["dataset"]),
        "harness": harness_ref(manifest, prov.harness, prov.harness_version),
        "task_versions": {t: p.version for t, p in sorted(prov.tasks.items())},
        "scoring": {**scoring, "confidence": CONFIDENCE, "chance": chance,
                    "chance_source": chance_source},
        "score": plain(direction_score),
        "provenance": {"run": plain(prov),
                       "base": plain(sub.base.provenance) if sub.base else None},
        "files": files,
        "commands": list(manifest["commands"]),
        "evaluated": max(p.date for p in prov.tasks.values()),
        "added": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    return row, blobs
