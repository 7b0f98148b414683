"""The versioned board: plain files in a folder, safe under concurrent writers.

Layout of a board folder (default: ``leaderboards/board/`` in the repository):

- ``board.json``  what every row must agree on (`schema.BoardMeta`): dataset id and content
  hash, harness, task versions, metric and bootstrap settings.
- ``rows.jsonl``  one `schema.Row` per line, in the order they were added.
- ``blobs/``      the files every row was computed from (results JSON, per-sample and
  likelihood logs, manifest, training record), named by the sha256 of their bytes.

Writers hold an exclusive `flock` on the board folder itself, write blobs first and
replace ``rows.jsonl`` atomically last, so concurrent `add`s lose nothing and a crash
leaves the previous board intact (at worst with an unreferenced blob).
"""

from __future__ import annotations

import contextlib
import fcntl
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from persona_bench.atomic import write_bytes_atomic, write_text_atomic
from persona_bench.checks import printable, strict_json_dumps, strict_json_loads
from persona_bench.errors import UserError
from persona_bench.leaderboards.bootstrap import N_RESAMPLES
from persona_bench.leaderboards.schema import (
    BOARD_SCHEMA,
    BoardMeta,
    Row,
    check_board_meta,
    check_row,
    split_key,
)
from persona_bench.leaderboards.submission import (
    Submission,
    build_row,
    sha256,
    submission_from_blobs,
    test_split,
)

DEFAULT_BOARD = Path(__file__).resolve().parent / "board"
META_NAME = "board.json"
ROWS_NAME = "rows.jsonl"
BLOBS = "blobs"
DEFAULT_SCORING = {"metric": "exact", "n_resamples": N_RESAMPLES, "seed": 0}
TOLERANCE = 1e-9


def _dumps(obj: Any) -> str:
    return strict_json_dumps(obj, sort_keys=True, ensure_ascii=False)


def _repair(path: Path, where: str) -> str:
    return (f"; the board is damaged at {where}: restore it with `git checkout -- {path}` "
            "(or delete that line and re-add the run): nothing was changed")


class Board:
    def __init__(self, root: str | Path = DEFAULT_BOARD) -> None:
        self.root = Path(root)
        self.blobs = self.root / BLOBS

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Exclusive lock on the board folder (released when the process dies, too)."""
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock

    def meta(self) -> BoardMeta | None:
        path = self.root / META_NAME
        if not path.exists():
            return None
        try:
            meta = strict_json_loads(path.read_text("utf-8"))
        except (ValueError, OSError) as err:
            raise UserError(f"{path} is corrupt ({err}); restore it with `git checkout -- "
                            f"{path}`: nothing was changed") from None
        try:
            return check_board_meta(meta, str(path))
        except UserError as err:
            raise UserError(f"{err}{_repair(path, path.name)}") from None

    def rows(self) -> list[Row]:
        path = self.root / ROWS_NAME
        if not path.exists():
            return []
        rows = []
        for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
            where = f"{path} line {number}"
            try:
                row = strict_json_loads(line)
            except ValueError:
                raise UserError(f"{where} is corrupt; restore the board with `git checkout -- "
                                f"{self.root}`: nothing was changed") from None
            try:
                rows.append(check_row(row, where))
            except UserError as err:
                row_id = row.get("row_id") if isinstance(row, dict) else None
                label = f"line {number}" + (f" (row {printable(row_id, 20)})" if row_id else "")
                raise UserError(f"{err}{_repair(path, label)}") from None
        if rows and not (self.root / META_NAME).exists():
            raise UserError(f"{self.root} has rows but no {META_NAME}; restore it with "
                            f"`git checkout -- {self.root}`")
        ids = [r["row_id"] for r in rows]
        if len(set(ids)) != len(ids):
            raise UserError(f"{path} has a row twice; restore it with `git checkout -- {path}`")
        return rows

    def scoring(self) -> dict[str, Any]:
        meta = self.meta()
        return {k: meta[k] for k in DEFAULT_SCORING} if meta else dict(DEFAULT_SCORING)

    def _write_rows(self, rows: list[Row]) -> None:
        write_text_atomic(self.root / ROWS_NAME, "".join(_dumps(r) + "\n" for r in rows))

    def _put_blob(self, name: str, data: bytes) -> None:
        path = self.blobs / name
        if not path.exists():
            write_bytes_atomic(path, data)

    def clean_leftovers(self) -> list[Path]:
        """Remove the temporary files of an interrupted writer (call with the lock held)."""
        found = [p for where in (self.root, self.blobs) if where.is_dir()
                 for p in where.glob(".*.tmp")]
        for path in found:
            path.unlink(missing_ok=True)
        return found

    def referenced_blobs(self) -> list[str]:
        """The blob names that rows point at (what `push` publishes; nothing else)."""
        return sorted({name for row in self.rows() for name in _blob_names(row["files"])})

    def add(self, sub: Submission, name: str | None = None, replace: bool = False,
            chance: dict[str, float] | None = None,
            chance_source: str = "given") -> tuple[str, Row]:
        """Score `sub` and append its row; returns ("added" | "replaced" | "unchanged", row)."""
        scoring = self.scoring()
        _merge_meta(self.meta(), sub, scoring)  # fail fast, before scoring
        row, blobs = build_row(sub, name, scoring, chance, chance_source)
        check_row(strict_json_loads(_dumps(row)), "the new row")  # before anything is written
        with self.locked():
            self.clean_leftovers()
            meta = _merge_meta(self.meta(), sub, scoring)
            rows = self.rows()
            status = "added"
            for old in rows:
                if old["fingerprint"] == row["fingerprint"] and old["row_id"] == row["row_id"]:
                    return "unchanged", old
                if old["fingerprint"] == row["fingerprint"]:
                    raise UserError(f"these samples are already on the board as row "
                                    f"{old['row_id']} ({old['name']!r}); nothing was added")
                if old["row_id"] == row["row_id"]:
                    if not replace:
                        raise UserError(
                            f"row {old['row_id']} ({row['name']!r}, {row['direction']}, "
                            f"{row['training']['recipe']}) is already on the board with other "
                            "samples; pass --name to add it as another entry, or --replace")
                    status = "replaced"
            rows = [r for r in rows if r["row_id"] != row["row_id"]] + [row]
            for blob_name, data in blobs.items():
                self._put_blob(blob_name, data)
            write_text_atomic(self.root / META_NAME,
                              strict_json_dumps(meta, indent=2, sort_keys=True) + "\n")
            self._write_rows(rows)
        return status, row

    def verify(self) -> list[str]:
        """Recompute every row from its stored blobs; the problems found (empty when sound)."""
        meta, rows = self.meta(), self.rows()
        problems = []
        for row in rows:
            try:
                problems += [f"row {row['row_id']} ({row['name']}): {p}"
                             for p in self._verify_row(row, meta)]
            except UserError as err:
                problems.append(f"row {row['row_id']} ({row['name']}): {err}")
        return problems

    def _verify_row(self, row: Row, meta: BoardMeta | None) -> list[str]:
        """Rebuild the row from its stored blobs; every field but `added` must come out equal."""
        problems = []
        if meta is None or row["dataset"]["content_hash"] != meta["dataset"]["content_hash"]:
            problems.append("dataset hash differs from board.json")
        for name in _blob_names(row["files"]):
            path = self.blobs / name
            if (path.is_symlink() or not path.is_file()
                    or sha256(path.read_bytes()) != name.split(".")[0]):
                return [*problems, f"blob {name} is missing or altered"]
        sub = submission_from_blobs(row["files"], self.blobs)
        if meta is not None and board_split(meta, sub.direction) not in (None, test_split(sub)):
            problems.append("its samples do not cover the board's test split")
        scoring = row["scoring"]
        rebuilt, _ = build_row(sub, row["name"], {k: scoring[k] for k in DEFAULT_SCORING},
                               scoring["chance"], scoring["chance_source"])
        for key in sorted(set(row) | set(rebuilt)):
            if key == "added":
                continue
            stored, fresh = row.get(key), rebuilt.get(key)
            if key == "provenance":
                stored, fresh = _without_file_names(stored), _without_file_names(fresh)
            if not _close(stored, fresh):
                problems.append(_DIFFERS.get(key, f"field {key!r} differs from what its stored "
                                                  "files give (the row was edited by hand)"))
        return problems


_DIFFERS = {
    "score": "the stored scores differ from the scores recomputed from its samples",
    "row_id": "row_id does not match name, revision, direction and recipe",
    "fingerprint": "fingerprint does not match the stored files",
}


def _blob_names(files: dict[str, Any]) -> list[str]:
    names = [n for kind in ("run", "base") if files.get(kind)
             for k in ("results", "samples", "likelihood") for n in files[kind][k].values()]
    return names + [files[k] for k in ("manifest", "train_record") if files.get(k)]


def _without_file_names(obj: Any) -> Any:
    """Provenance minus the original file names (blobs are stored under their hashes)."""
    if isinstance(obj, dict):
        return {k: _without_file_names(v) for k, v in obj.items()
                if k not in ("results_file", "samples_file")}
    return obj


def board_split(meta: BoardMeta, direction: str) -> dict | None:
    """The board's test split for rows of `direction` (None: no such row yet)."""
    key = split_key(direction)
    return meta.get("test_split") if key == "transfer" else meta.get("test_splits", {}).get(key)


def _with_split(meta: BoardMeta, direction: str, split: dict) -> BoardMeta:
    key = split_key(direction)
    if key == "transfer":
        return {**meta, "test_split": split}
    return {**meta, "test_splits": {**meta.get("test_splits", {}), key: split}}


def _merge_meta(meta: BoardMeta | None, sub: Submission, scoring: dict[str, Any]) -> BoardMeta:
    """The board metadata with this submission's tasks; an error if they are incompatible."""
    prov = sub.run.provenance
    versions = {t: p.version for t, p in prov.tasks.items()}
    split = test_split(sub)
    if meta is None:
        return _with_split({"schema": BOARD_SCHEMA, "dataset": dict(sub.manifest["dataset"]),
                            "harness": prov.harness,
                            "task_versions": dict(sorted(versions.items())), **scoring},
                           sub.direction, split)
    where = "the leaderboard"
    known = board_split(meta, sub.direction) or split  # a first row of its kind sets it
    if split != known:
        raise UserError(f"the submission asks {split['pairs']} persona/fact pairs of "
                        f"{split['personas']} personas, {where}'s test split has "
                        f"{known['pairs']} of {known['personas']} (or other answers): every "
                        "row covers the full test split; evaluate without leaving any out")
    if sub.manifest["dataset"]["content_hash"] != meta["dataset"]["content_hash"]:
        raise UserError(f"the submission is for dataset {sub.manifest['dataset']['content_hash']}"
                        f" but {where} is for {meta['dataset']['content_hash']}: another dataset "
                        "version; evaluate on the board's dataset or use another --board")
    if prov.harness != meta["harness"]:
        raise UserError(f"the submission was evaluated with {prov.harness}, {where} uses "
                        f"{meta['harness']}")
    for task, version in versions.items():
        if meta["task_versions"].get(task, version) != version:
            raise UserError(f"task {task} is version {version} but {where} uses "
                            f"{meta['task_versions'][task]}; re-evaluate with that task version")
    if any(meta[k] != v for k, v in scoring.items()):
        raise UserError(f"{where}'s scoring settings changed during this add; run it again")
    return _with_split({**meta, "task_versions": dict(sorted({**meta["task_versions"],
                                                              **versions}.items()))},
                       sub.direction, known)


def _close(a: Any, b: Any) -> bool:
    """Equal, with floats compared to TOLERANCE (JSON round trips and summation order)."""
    if isinstance(a, float) or isinstance(b, float):
        return (isinstance(a, int | float) and isinstance(b, int | float)
                and math.isclose(a, b, rel_tol=0, abs_tol=TOLERANCE))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    return a == b

