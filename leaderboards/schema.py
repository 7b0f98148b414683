"""What the leaderboard reads and writes: run manifests, training records, board rows.

Files written by other stages and read here:

- ``persona_train.json`` in a trained model's folder (`TrainRecord`), written by the trainer.
- ``run_manifest.json`` in a pipeline run folder (`RunManifest`), written by the pipeline;
  relative paths in it resolve against the manifest's folder.

Files written here: a board folder (see `persona_bench.leaderboards.store`) with ``board.json``
(`BoardMeta`) and ``rows.jsonl`` (one `Row` per line).

Every check raises `UserError` with one line naming the file, the field and the fix.
"""

from __future__ import annotations

from typing import Any, TypedDict

from persona_bench.checks import check_finite, check_sha256, check_text
from persona_bench.contracts import (  # noqa: F401 - the ids and names re-exported here
    BOARD_SCHEMA,
    MANIFEST,
    MANIFEST_SCHEMA,
    MODALITIES,
    ROW_SCHEMA,
    SCORE_SCHEMA,
    TRAIN_RECORD,
)
from persona_bench.errors import UserError
from persona_bench.experiments import CONFIGS, TRACKS, experiment_of, track_of

# A row's `direction` is the config it was trained and scored on: a transfer direction
# (the transfer and mitigation tracks) or another experiment's config (e.g. multihop_image).
DIRECTIONS = tuple(CONFIGS)

HARNESSES = ("lmms-eval", "lm-eval")
METHODS = ("full", "lora", "none")  # "none": an untrained (zero-shot) model
METRICS = ("exact", "contains")

# Submissions are data from strangers: cap what is read.
MAX_JSON_BYTES = 16 * 2**20
MAX_SAMPLES_BYTES = 64 * 2**20
MAX_SUBMISSION_BYTES = 256 * 2**20
MAX_NAME_CHARS = 120
MAX_ID_CHARS = 300
MAX_COMMANDS = 32
MAX_COMMAND_CHARS = 8000
MAX_PARAMETERS = 10**14
HEX_RE = {"row_id": 12, "fingerprint": 16}


class ModelRef(TypedDict):
    id: str  # Hub id or local path
    revision: str  # Hub commit, or "sha256:..." over the weight files of a local model


class DatasetRef(TypedDict):
    id: str  # Hub id or local folder
    content_hash: str  # "sha256:..." (persona_bench.persona_gen.publish.content_hash)


class ParamCount(TypedDict):
    total: int
    trainable: int


class TrainRecord(TypedDict):
    """``persona_train.json`` (written by `persona_bench.trainers.record`): the fields read here."""

    base_model: str  # Hub id or local path of the model that was fine-tuned
    # optional: "base_model_revision" (Hub commit or "sha256:..." of local weights)
    dataset: DatasetRef  # content_hash is None when the trainer could not read the card
    dataset_config: str  # the config trained for (a transfer direction, or another config)
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
    track: str  # transfer | multihop | mitigation (absent in rows from before tracks)
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


def _check_split(split: dict, where: str) -> None:
    for key in ("personas", "pairs"):
        if require(split, key, int, where) < 1:
            raise UserError(f"{where}: {key} must be positive")
    check_sha256("sha256:" + require(split, "sha256", str, where), f"{where}.sha256")


def row_track(row: dict) -> str:
    """The track of a stored row (rows from before tracks are transfer rows)."""
    return row.get("track", "transfer")


def check_track(row: dict, where: str) -> None:
    track = row_track(row)
    if not isinstance(track, str) or track not in TRACKS:
        raise UserError(f"{where}: unknown track {track!r}; choose one of {', '.join(TRACKS)}")
    mixed = (row["training"].get("augment") or {}).get("config")
    if track != track_of(row["direction"], mixed):
        raise UserError(f"{where}: track {track!r} does not match direction "
                        f"{row['direction']!r} (augment {mixed}); the row was edited")


def split_key(direction: str) -> str:
    """Rows whose configs ask the same test questions share a test split on a board: the
    mirrored configs of an experiment (img2text / text2img) do; configs that read different
    splits of one dataset config (the unlearning forget sets) each have their own."""
    return direction if CONFIGS[direction].data else experiment_of(direction).name


SPLIT_KEYS = frozenset(map(split_key, CONFIGS))


def check_schema(obj: Any, expected: str, where: str) -> None:
    found = require(obj, "schema", str, where)
    if found != expected:
        raise UserError(f"{where}: schema {found!r} is not {expected!r}; "
                        "write it with this version of persona-bench")


def _check_ref(obj: dict, key: str, where: str, hash_key: str) -> None:
    """A model or dataset reference: printable id and revision; a dataset hash is a hash."""
    ref = require(obj, key, dict, where)
    check_text(require(ref, "id", str, f"{where} {key}"), f"{where} {key}.id", MAX_ID_CHARS)
    value = require(ref, hash_key, str, f"{where} {key}")
    if hash_key == "content_hash":
        check_sha256(value, f"{where} {key}.{hash_key}")
    else:
        check_text(value, f"{where} {key}.{hash_key}", MAX_ID_CHARS)


def _count(obj: dict, key: str, where: str) -> int:
    value = require(obj, key, int, where)
    if not 0 <= value <= MAX_PARAMETERS:
        raise UserError(f"{where}: {key} must be between 0 and {MAX_PARAMETERS}, got {value}")
    return value


def check_param_count(value: Any, where: str) -> None:
    if value is None:
        return
    if not isinstance(value, dict):
        raise UserError(f"{where}: param_count must be {{total, trainable}} integers")
    total, trainable = _count(value, "total", where), _count(value, "trainable", where)
    if trainable > total:
        raise UserError(f"{where}: {trainable} trainable parameters but {total} in total")


def check_train_record(record: Any, where: str) -> TrainRecord:
    check_text(require(record, "base_model", str, where), f"{where} base_model", MAX_ID_CHARS)
    if record.get("base_model_revision") is not None:
        check_text(record["base_model_revision"], f"{where} base_model_revision", MAX_ID_CHARS)
    dataset = require(record, "dataset", dict, where)
    check_text(require(dataset, "id", str, f"{where} dataset"), f"{where} dataset.id",
               MAX_ID_CHARS)
    if not isinstance(dataset.get("content_hash"), str):
        raise UserError(f"{where}: the dataset has no content hash (the trainer could not read "
                        "its card); train from a folder written by `persona-bench gen`")
    check_sha256(dataset["content_hash"], f"{where} dataset.content_hash")
    check_finite(record, where)
    trained_for = require(record, "dataset_config", str, where)
    configs = [c for c in CONFIGS.values() if trained_for in (c.name, c.dataset_config)]
    if not configs:
        check_direction(trained_for, f"{where} dataset_config")
    if require(record, "source_modality", str, where) != configs[0].trained:
        raise UserError(f"{where}: source_modality {record['source_modality']!r} is not the "
                        f"source modality of {trained_for}; the record is inconsistent")
    training = require(record, "training", dict, where)
    if require(training, "method", str, f"{where} training") not in METHODS[:2]:
        raise UserError(f"{where}: training method must be 'full' or 'lora', "
                        f"got {training['method']!r}")
    parts = require(training, "parts", dict, f"{where} training")
    external = isinstance(record.get("unlearning"), dict)  # a frozen VLM + its own module
    if not external and not any(on is True for on in parts.values()):
        raise UserError(f"{where}: training.parts marks no part as trained")
    if training.get("merged") is not None:
        require(training, "merged", bool, f"{where} training")
    if not all(isinstance(k, str) and isinstance(v, bool) for k, v in parts.items()):
        raise UserError(f"{where}: training.parts must map part names to true/false")
    for part in parts:
        check_text(part, f"{where} training.parts", 60)
    require(record, "hyperparameters", dict, where)
    require(record, "seed", int, where)
    check_param_count({"total": _count(record, "num_parameters", where),
                       "trainable": _count(record, "num_trainable_parameters", where)}, where)
    check_text(require(record, "command", str, where), f"{where} command", MAX_COMMAND_CHARS)
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
    check_commands(commands, where)
    check_text(require(manifest, "created", str, where), f"{where} created", 40)
    if "name" in manifest:
        check_name(require(manifest, "name", str, where), f"{where} name")
    if manifest.get("param_count") is not None:
        check_param_count(manifest["param_count"], f"{where} param_count")
    check_finite(manifest, where)
    return manifest


def check_commands(commands: Any, where: str) -> list[str]:
    if not isinstance(commands, list) or not commands or len(commands) > MAX_COMMANDS or not all(
        isinstance(c, str) and 0 < len(c) <= MAX_COMMAND_CHARS for c in commands
    ):
        raise UserError(f"{where}: commands must be 1..{MAX_COMMANDS} non-empty strings "
                        f"of at most {MAX_COMMAND_CHARS} characters")
    for i, command in enumerate(commands):
        check_text(command, f"{where} commands[{i}]", MAX_COMMAND_CHARS)
    return commands


def check_name(name: Any, where: str = "name") -> str:
    """A display name: printable, no control/bidi characters, no look-alike script mixes."""
    return check_text(name, where, MAX_NAME_CHARS, single_script=True)


def check_board_meta(meta: Any, where: str) -> BoardMeta:
    check_schema(meta, BOARD_SCHEMA, where)
    _check_ref(meta, "dataset", where, "content_hash")
    require(meta, "harness", str, where)
    require(meta, "task_versions", dict, where)
    if require(meta, "metric", str, where) not in METRICS:
        raise UserError(f"{where}: metric must be one of {', '.join(METRICS)}")
    if require(meta, "n_resamples", int, where) < 1:
        raise UserError(f"{where}: n_resamples must be at least 1")
    require(meta, "seed", int, where)
    check_text(meta["harness"], f"{where} harness", 40)
    for task, version in meta["task_versions"].items():
        check_text(task, f"{where} task_versions", 100)
        check_text(version, f"{where} task_versions.{task}", 40)
    if meta.get("test_split") is not None:  # the transfer experiment's
        _check_split(require(meta, "test_split", dict, where), f"{where} test_split")
    for name, split in require(meta, "test_splits", dict, where).items() if (
            "test_splits" in meta) else ():  # the other experiments', by `split_key`
        if name not in SPLIT_KEYS or not isinstance(split, dict):
            raise UserError(f"{where}: test_splits has an unknown experiment {name!r}")
        _check_split(split, f"{where} test_splits.{name}")
    check_finite(meta, where)
    return meta


ROW_FIELDS: dict[str, type | tuple[type, ...]] = {
    "row_id": str, "fingerprint": str, "name": str, "model": dict, "base_model": dict,
    "param_count": (dict, type(None)), "training": dict, "direction": str, "dataset": dict,
    "harness": dict, "task_versions": dict, "scoring": dict, "score": dict,
    "provenance": dict, "files": dict, "commands": list, "evaluated": str, "added": str,
}


def _check_interval(value: Any, where: str) -> None:
    if not isinstance(value, dict) or set(value) != {"value", "low", "high"} or not all(
            v is None or isinstance(v, int | float) and not isinstance(v, bool)
            for v in value.values()):
        raise UserError(f"{where}: must be {{value, low, high}} numbers (or null)")


def check_row(row: Any, where: str) -> Row:
    """Every field a board row is shown, sorted or recomputed by, with its type and range."""
    check_schema(row, ROW_SCHEMA, where)
    for key, kind in ROW_FIELDS.items():
        require(row, key, kind, where)
    check_finite(row, where)
    for key, digits in HEX_RE.items():
        if len(row[key]) != digits or any(c not in "0123456789abcdef" for c in row[key]):
            raise UserError(f"{where}: {key} must be {digits} hex digits")
    check_name(row["name"], f"{where} name")
    check_direction(row["direction"], f"{where} direction")
    check_track(row, where)
    _check_ref(row, "model", where, "revision")
    _check_ref(row, "base_model", where, "revision")
    _check_ref(row, "dataset", where, "content_hash")
    check_param_count(row["param_count"], f"{where} param_count")
    training = row["training"]
    if require(training, "method", str, f"{where} training") not in METHODS:
        raise UserError(f"{where}: training.method must be one of {', '.join(METHODS)}")
    for key in ("recipe", "recipe_id"):
        check_text(require(training, key, str, f"{where} training"), f"{where} training.{key}",
                   200)
    if require(row["harness"], "name", str, f"{where} harness") not in HARNESSES:
        raise UserError(f"{where}: harness.name must be one of {', '.join(HARNESSES)}")
    check_text(require(row["harness"], "version", str, f"{where} harness"),
               f"{where} harness.version", 40)
    for task, version in row["task_versions"].items():
        check_text(task, f"{where} task_versions", 100)
        check_text(version, f"{where} task_versions.{task}", 40)
    scoring = row["scoring"]
    if require(scoring, "metric", str, f"{where} scoring") not in METRICS:
        raise UserError(f"{where}: scoring.metric must be one of {', '.join(METRICS)}")
    chance = require(scoring, "chance", dict, f"{where} scoring")
    if not all(isinstance(v, int | float) and 0 < v <= 1 for v in chance.values()):
        raise UserError(f"{where}: scoring.chance levels must be numbers in (0, 1]")
    groups = require(row["score"], "groups", dict, f"{where} score")
    for group, scores in groups.items():
        at = f"{where} score.groups.{group}"
        if not isinstance(require(scores, "chance", (int, float), at), int | float):
            raise UserError(f"{at}: chance must be a number")
        for metric, value in require(scores, "metrics", dict, at).items():
            _check_interval(value, f"{at}.metrics.{metric}")
    if "all" not in groups:
        raise UserError(f"{where}: score.groups has no 'all' group")
    check_commands(row["commands"], f"{where}")
    for key in ("evaluated", "added"):
        if row[key]:  # the harness may not date its run
            check_text(row[key], f"{where} {key}", 40)
    return row
