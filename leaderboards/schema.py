"""What the leaderboard reads and writes: run manifests, training records, board rows.

Files written by other stages and read here:

- ``persona_train.json`` in a trained model's folder (`TrainRecord`), written by the trainer.
- ``run_manifest.json`` in a pipeline run folder (`RunManifest`), written by the pipeline;
  relative paths in it resolve against the manifest's folder.

Files written here: a board folder (see `leaderboards.store`) with ``board.json``
(`BoardMeta`) and ``rows.jsonl`` (one `Row` per line).

Every check raises `UserError` with one line naming the file, the field and the fix.
"""

from __future__ import annotations

from typing import Any, TypedDict

from persona_bench.errors import UserError

# Mirrors of persona_gen.schema.DIRECTIONS / MODALITIES: that module imports `datasets`
# (about 1 s) at import time, which every `leaderboard add` process would pay.
# tests/test_schema.py checks that the two agree.
DIRECTIONS: dict[str, tuple[str, str]] = {"img2text": ("image", "text"),
                                          "text2img": ("text", "image")}  # source, target
MODALITIES = ("image", "text")

MANIFEST_NAME = "run_manifest.json"
TRAIN_RECORD_NAME = "persona_train.json"
MANIFEST_SCHEMA = "persona-bench/run-manifest/1"
ROW_SCHEMA = "persona-bench/leaderboard-row/1"
BOARD_SCHEMA = "persona-bench/leaderboard/1"
SCORE_SCHEMA = "persona-bench/score/1"

HARNESSES = ("lmms-eval", "lm-eval")
METHODS = ("full", "lora", "none")  # "none": an untrained (zero-shot) model
METRICS = ("exact", "contains")

# Submissions are data from strangers: cap what is read.
MAX_JSON_BYTES = 16 * 2**20
MAX_SAMPLES_BYTES = 64 * 2**20
MAX_SUBMISSION_BYTES = 256 * 2**20
MAX_NAME_CHARS = 120
MAX_COMMANDS = 32
MAX_COMMAND_CHARS = 8000


class ModelRef(TypedDict):
    id: str  # Hub id or local path
    revision: str  # Hub commit, or "sha256:..." over the weight files of a local model


class DatasetRef(TypedDict):
    id: str  # Hub id or local folder
    content_hash: str  # "sha256:..." (persona_gen.publish.content_hash)


class ParamCount(TypedDict):
    total: int
    trainable: int


class TrainRecord(TypedDict):
    """``persona_train.json`` (written by `trainers.record`): the fields read here."""

    base_model: str  # Hub id or local path of the model that was fine-tuned
    # optional: "base_model_revision" (Hub commit or "sha256:..." of local weights)
    dataset: DatasetRef  # content_hash is None when the trainer could not read the card
    dataset_config: str  # "img2text" | "text2img": the direction trained for
    source_modality: str  # DIRECTIONS[dataset_config][0]
    training: dict[str, Any]  # {"method": "full"|"lora", "parts": {part: bool}, "merged"}
    hyperparameters: dict[str, Any]
    seed: int
    num_parameters: int
    num_trainable_parameters: int
    command: str


class RunManifest(TypedDict):
    """``run_manifest.json``: one evaluated model for one direction, and how it was made."""

    schema: str  # MANIFEST_SCHEMA
    direction: str  # the direction the model was trained for
    model: ModelRef  # the evaluated (fine-tuned) model
    train_record: str | None  # path to persona_train.json; None for an untrained model
    harness: str  # "lmms-eval" | "lm-eval"
    results_dir: str  # the harness's --output_path (holds <model>/<date>_results.json)
    base_results_dir: str | None  # the same tasks run on the base model, or None
    dataset: DatasetRef
    commands: list[str]  # every command that produced the results, in order
    created: str  # ISO time
    # optional: "name" (display name on the board; default model.id),
    # "param_count" (ParamCount) for an untrained model


class BoardMeta(TypedDict):
    """``board.json``: what every row of a board must agree on."""

    schema: str  # BOARD_SCHEMA
    dataset: DatasetRef
    harness: str
    task_versions: dict[str, str]  # task -> version, grows as directions are added
    metric: str
    n_resamples: int
    seed: int


class Row(TypedDict):
    """One line of ``rows.jsonl``: a model x direction x training recipe."""

    schema: str  # ROW_SCHEMA
    row_id: str  # short hash of the key (name, model revision, direction, recipe_id)
    fingerprint: str  # hash of every file the row was computed from
    name: str
    model: ModelRef
    base_model: ModelRef
    param_count: ParamCount | None
    training: dict[str, Any]  # method, trained_parts, recipe, recipe_id, hyperparameters, seed
    direction: str
    dataset: DatasetRef
    harness: dict[str, str]  # name, version
    task_versions: dict[str, str]
    scoring: dict[str, Any]  # metric, n_resamples, seed, confidence, chance, chance_source
    score: dict[str, Any]  # scoring.DirectionScore as a dict
    provenance: dict[str, Any]  # scoring.Provenance of the run (and of the base run)
    files: dict[str, Any]  # role -> blob name in the board's blobs/ folder
    commands: list[str]
    evaluated: str  # the harness's date of the run
    added: str  # ISO time the row was added


def require(obj: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    """`obj[key]` if it exists and has type `kind`, else a UserError naming `where`."""
    if not isinstance(obj, dict) or key not in obj:
        raise UserError(f"{where}: missing field {key!r}; see leaderboards/schema.py")
    value = obj[key]
    if not isinstance(value, kind) or isinstance(value, bool) and bool not in _as_tuple(kind):
        names = "/".join(t.__name__ for t in _as_tuple(kind))
        raise UserError(f"{where}: field {key!r} must be {names}, got {type(value).__name__}")
    return value


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def check_direction(direction: str, where: str = "direction") -> str:
    if direction not in DIRECTIONS:
        raise UserError(f"{where}: unknown direction {direction!r}; "
                        f"choose one of {', '.join(DIRECTIONS)}")
    return direction


def check_schema(obj: Any, expected: str, where: str) -> None:
    found = require(obj, "schema", str, where)
    if found != expected:
        raise UserError(f"{where}: schema {found!r} is not {expected!r}; "
                        "write it with this version of persona-bench")


def _check_ref(obj: dict, key: str, where: str, hash_key: str) -> None:
    ref = require(obj, key, dict, where)
    require(ref, "id", str, f"{where} {key}")
    require(ref, hash_key, str, f"{where} {key}")


def check_train_record(record: Any, where: str) -> TrainRecord:
    require(record, "base_model", str, where)
    dataset = require(record, "dataset", dict, where)
    require(dataset, "id", str, f"{where} dataset")
    if not isinstance(dataset.get("content_hash"), str):
        raise UserError(f"{where}: the dataset has no content hash (the trainer could not read "
                        "its card); train from a folder written by `persona-bench gen`")
    direction = check_direction(require(record, "dataset_config", str, where),
                                f"{where} dataset_config")
    if require(record, "source_modality", str, where) != DIRECTIONS[direction][0]:
        raise UserError(f"{where}: source_modality {record['source_modality']!r} is not the "
                        f"source modality of {direction}; the record is inconsistent")
    training = require(record, "training", dict, where)
    if require(training, "method", str, f"{where} training") not in METHODS[:2]:
        raise UserError(f"{where}: training method must be 'full' or 'lora', "
                        f"got {training['method']!r}")
    parts = require(training, "parts", dict, f"{where} training")
    if not any(on is True for on in parts.values()):
        raise UserError(f"{where}: training.parts marks no part as trained")
    require(record, "hyperparameters", dict, where)
    require(record, "seed", int, where)
    require(record, "num_parameters", int, where)
    require(record, "num_trainable_parameters", int, where)
    require(record, "command", str, where)
    return record


def check_manifest(manifest: Any, where: str) -> RunManifest:
    check_schema(manifest, MANIFEST_SCHEMA, where)
    check_direction(require(manifest, "direction", str, where), f"{where} direction")
    _check_ref(manifest, "model", where, "revision")
    _check_ref(manifest, "dataset", where, "content_hash")
    if manifest.get("train_record") is not None:
        require(manifest, "train_record", str, where)
    if require(manifest, "harness", str, where) not in HARNESSES:
        raise UserError(f"{where}: harness must be one of {', '.join(HARNESSES)}")
    require(manifest, "results_dir", str, where)
    if manifest.get("base_results_dir") is not None:
        require(manifest, "base_results_dir", str, where)
    commands = require(manifest, "commands", list, where)
    if not commands or len(commands) > MAX_COMMANDS or not all(
        isinstance(c, str) and 0 < len(c) <= MAX_COMMAND_CHARS for c in commands
    ):
        raise UserError(f"{where}: commands must be 1..{MAX_COMMANDS} non-empty strings "
                        f"of at most {MAX_COMMAND_CHARS} characters")
    require(manifest, "created", str, where)
    if "name" in manifest:
        check_name(require(manifest, "name", str, where))
    return manifest


def check_name(name: str) -> str:
    if not name or len(name) > MAX_NAME_CHARS or not name.isprintable():
        raise UserError(f"name {name[:40]!r}...: use 1..{MAX_NAME_CHARS} printable characters")
    return name


def check_board_meta(meta: Any, where: str) -> BoardMeta:
    check_schema(meta, BOARD_SCHEMA, where)
    _check_ref(meta, "dataset", where, "content_hash")
    require(meta, "harness", str, where)
    require(meta, "task_versions", dict, where)
    if require(meta, "metric", str, where) not in METRICS:
        raise UserError(f"{where}: metric must be one of {', '.join(METRICS)}")
    require(meta, "n_resamples", int, where)
    require(meta, "seed", int, where)
    return meta


ROW_FIELDS: dict[str, type | tuple[type, ...]] = {
    "row_id": str, "fingerprint": str, "name": str, "model": dict, "base_model": dict,
    "param_count": (dict, type(None)), "training": dict, "direction": str, "dataset": dict,
    "harness": dict, "task_versions": dict, "scoring": dict, "score": dict,
    "provenance": dict, "files": dict, "commands": list, "evaluated": str, "added": str,
}


def check_row(row: Any, where: str) -> Row:
    check_schema(row, ROW_SCHEMA, where)
    for key, kind in ROW_FIELDS.items():
        require(row, key, kind, where)
    check_direction(row["direction"], f"{where} direction")
    return row
