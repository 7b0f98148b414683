"""Write and read the Hub-style dataset folder: Parquet shards plus a dataset card.

Layout: ``README.md`` (card; its YAML ``configs:`` block lists every split's files) and
``<config>/<split>-0000K-of-0000N-<sha256 prefix>.parquet``. The same folder loads with
``datasets.load_dataset(DIR, config)`` locally and from the Hub once pushed.

File names carry a prefix of their bytes' sha256 because `datasets` keys its cache of a
local folder by the folder's *name* and the card's file patterns: with content-named
files, another folder called ``data`` (or a regenerated one) has other patterns and so a
cache entry of its own. The card's content hash covers which file serves which split, and
`verify_dataset` recomputes it before any of our readers loads a row.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import yaml

from persona_bench.errors import UserError
from persona_bench.persona_gen.schema import CONFIG_SPLITS, features_for

SHARD_BYTES = 256 * 1024 * 1024
CARD = "README.md"
NAME_DIGEST = 16  # hex digits of a shard's sha256 in its file name
SHARD_RE = re.compile(r"^(?P<split>\w+)-\d{5}-of-\d{5}-(?P<digest>[0-9a-f]{16})\.parquet$")
HASH_RE = re.compile(r"^sha256:[0-9a-f]{64}$")

# config -> split -> shard paths relative to the dataset folder
Layout = dict[str, dict[str, list[str]]]


def _row_bytes(row: dict) -> int:
    return 512 + sum(len(img["bytes"]) for img in row.get("images", []))


def write_split(root: Path, config: str, split: str, rows: list[dict]) -> list[Path]:
    """Write `rows` as content-named Parquet shards of at most ~SHARD_BYTES each."""
    shards: list[list[dict]] = [[]]
    size = 0
    for row in rows:
        if shards[-1] and size + _row_bytes(row) > SHARD_BYTES:
            shards.append([])
            size = 0
        shards[-1].append(row)
        size += _row_bytes(row)
    folder = root / config
    folder.mkdir(parents=True, exist_ok=True)
    from datasets import Dataset  # lazy: about a second, not for `--help` or the board
    from datasets.utils.logging import (
        disable_progress_bar,
        enable_progress_bar,
        is_progress_bar_enabled,
    )

    paths = []
    was_enabled = is_progress_bar_enabled()
    disable_progress_bar()  # our own bar covers the splits
    try:
        for i, shard in enumerate(shards):
            tmp = folder / f".{split}-{i:05d}.parquet.tmp"
            Dataset.from_list(shard, features=features_for(config)).to_parquet(str(tmp))
            digest = hashlib.sha256(tmp.read_bytes()).hexdigest()[:NAME_DIGEST]
            path = folder / f"{split}-{i:05d}-of-{len(shards):05d}-{digest}.parquet"
            tmp.replace(path)
            paths.append(path)
    finally:
        if was_enabled:
            enable_progress_bar()
    return paths


def layout_of(paths: dict[str, dict[str, list[Path]]], root: Path) -> Layout:
    """The card's split -> files mapping for shards written under `root`."""
    return {config: {split: [p.relative_to(root).as_posix() for p in files]
                     for split, files in splits.items()}
            for config, splits in paths.items()}


def content_hash(root: Path, layout: Layout) -> str:
    """sha256 over which files serve which config/split, and every file's bytes.

    Pointing a split at another split's files (a card edit) changes it as surely as
    changing a byte of a file does.
    """
    digest = hashlib.sha256()
    for config in sorted(layout):
        for split in sorted(layout[config]):
            for i, rel in enumerate(layout[config][split]):
                digest.update(f"{config}\0{split}\0{i}\0{rel}\0".encode())
                digest.update(hashlib.sha256((root / rel).read_bytes()).digest())
    return f"sha256:{digest.hexdigest()}"


def card_text(metadata: dict, counts: dict[str, dict[str, int]], layout: Layout) -> str:
    """The dataset card: YAML front matter (configs + our metadata) and a short body."""
    front = {
        "license": "cc-by-4.0",
        "language": ["en"],
        "pretty_name": "persona-bench",
        "task_categories": ["visual-question-answering", "question-answering"],
        "tags": ["synthetic", "memorization", "cross-modal", "vision-language"],
        "configs": [
            {
                "config_name": config,
                "data_files": [
                    {"split": split, "path": layout[config][split]}
                    for split in CONFIG_SPLITS[config]
                    if split in layout[config]
                ],
            }
            for config in layout
        ],
        "persona_bench": metadata,
    }
    table = "\n".join(
        f"| {config} | {split} | {n} |"
        for config, splits in counts.items()
        for split, n in splits.items()
    )
    body = f"""
# persona-bench: cross-modal memorization dataset

Synthetic, fictitious people: a name, {len(metadata['facts'])} personal facts, a portrait
(several image variants) and natural-language appearance descriptions. Every
(person, fact) pair is asked with the portrait (image modality) and with the description
(text modality), so a model trained on one modality can be tested in the other.
Generated by `persona-bench gen` (generator {metadata['generator_version']}, seed
{metadata['seed']}, renderer `{metadata['options']['renderer']}`).

Content hash: `{metadata['content_hash']}`

```python
from datasets import load_dataset
train = load_dataset("<this repo or folder>", "img2text", split="train")
```

| config | split | rows |
| --- | --- | --- |
{table}

Configs: `img2text` (train on portraits; `test_source` asks held-out portraits,
`test_target` asks held-out descriptions), `text2img` (the mirror), `pretrain` (a
disjoint pool of personas for alignment pretraining), `personas` (one row per persona),
`img2text_sft` / `text2img_sft` (the train splits as TRL prompt/completion columns:
`trl sft --dataset_config img2text_sft` puts the loss on the answer only).
All people, names and facts are fictitious.
"""
    return "---\n" + yaml.safe_dump(front, sort_keys=False, width=100) + "---\n" + body


def _front_matter(text: str, where: str) -> dict:
    """The card's YAML header as a dict; one-line errors for a card that is not ours."""
    if not text.startswith("---"):
        raise UserError(f"the card of {where} has no YAML header: not a persona-bench dataset")
    try:
        front = yaml.safe_load(text.split("---", 2)[1]) or {}
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark else ""
        raise UserError(f"the card {where} has invalid YAML{at}; restore it or regenerate the "
                        "dataset with `persona-bench gen`") from None
    if not isinstance(front, dict) or not isinstance(front.get("persona_bench"), dict):
        raise UserError(f"{where} is not a persona-bench dataset (its card has no "
                        "`persona_bench` block)")
    return front


def read_card(dataset: str | Path) -> dict:
    """The YAML header of a dataset card, from a local folder or a Hub id."""
    path = Path(dataset)
    if path.is_dir():
        card = path / CARD
        if not card.is_file():
            raise UserError(f"{path} has no {CARD}: not a persona-bench dataset folder "
                            "(create one with `persona-bench gen --out DIR`)")
        try:
            text = card.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise UserError(f"cannot read {card} ({type(err).__name__}); restore it or "
                            "regenerate the dataset with `persona-bench gen`") from None
        return _front_matter(text, str(card))
    if path.exists() or str(dataset).startswith((".", "/")):
        raise UserError(f"dataset folder {dataset} not found; pass a folder written by "
                        "`persona-bench gen` or a Hub dataset id")
    from huggingface_hub import DatasetCard

    try:
        text = DatasetCard.load(str(dataset), repo_type="dataset").content
    except Exception as err:  # noqa: BLE001 - any Hub failure is a user-facing error
        raise UserError(f"cannot read the dataset card of {dataset!r} ({type(err).__name__}); "
                        "check the Hub id, or pass a local folder") from None
    return _front_matter(text, str(dataset))


def read_metadata(dataset: str | Path) -> dict:
    """The `persona_bench` block of a dataset card, from a local folder or a Hub id."""
    return read_card(dataset)["persona_bench"]


def card_layout(front: dict, where: str) -> Layout:
    """config -> split -> files, as the card's `configs:` block declares them."""
    layout: Layout = {}
    configs = front.get("configs")
    if not isinstance(configs, list):
        raise UserError(f"{where}: the card has no `configs:` list; regenerate the dataset")
    for entry in configs:
        config = entry.get("config_name") if isinstance(entry, dict) else None
        files = entry.get("data_files") if isinstance(entry, dict) else None
        if not isinstance(config, str) or not isinstance(files, list):
            raise UserError(f"{where}: a `configs:` entry lacks config_name/data_files; "
                            "regenerate the dataset")
        for item in files:
            paths = item.get("path") if isinstance(item, dict) else None
            paths = [paths] if isinstance(paths, str) else paths
            if not isinstance(item.get("split"), str) or not isinstance(paths, list) or not all(
                    isinstance(rel, str) for rel in paths):
                raise UserError(f"{where}: config {config!r} has a data_files entry without "
                                "split/path; regenerate the dataset")
            layout.setdefault(config, {})[item["split"]] = paths
    return layout


def verify_dataset(root: str | Path) -> dict:
    """The card's metadata after checking that the folder is what the card says it is.

    Every declared file must be a regular file inside the folder, named after its own
    bytes, serving the split its name says; the recomputed content hash must match the
    card. A folder whose files or card were changed after `persona-bench gen` is refused,
    so no reader ever loads rows under a hash they do not have.
    """
    root = Path(root).resolve()
    front = read_card(root)
    meta = front["persona_bench"]
    where = str(root / CARD)
    expected = meta.get("content_hash")
    if not isinstance(expected, str) or not HASH_RE.match(expected):
        raise UserError(f"{where}: content_hash must be 'sha256:' + 64 hex digits; regenerate "
                        "the dataset with `persona-bench gen`")
    layout = card_layout(front, where)
    for config, splits in layout.items():
        for split, paths in splits.items():
            for rel in paths:
                _check_shard(root, config, split, rel, where)
    key = _stat_key(root, layout)
    found = _VERIFIED.get(key)
    if found is None:
        found = _VERIFIED[key] = content_hash(root, layout)
    if found != expected:
        raise UserError(f"{root}: its files do not match the card's content hash (a file or "
                        "the card was changed after generation); regenerate it with "
                        "`persona-bench gen --out DIR --overwrite`")
    return meta


_VERIFIED: dict[tuple, str] = {}  # (folder, file sizes and mtimes) -> content hash


def _stat_key(root: Path, layout: Layout) -> tuple:
    stats = []
    for config in sorted(layout):
        for split in sorted(layout[config]):
            for rel in layout[config][split]:
                info = (root / rel).stat()
                stats.append((config, split, rel, info.st_size, info.st_mtime_ns, info.st_ino))
    return (str(root), tuple(stats))


def _check_shard(root: Path, config: str, split: str, rel: str, where: str) -> None:
    path = root / rel
    match = SHARD_RE.match(Path(rel).name)
    if "\\" in rel or rel.startswith("/") or ".." in Path(rel).parts or Path(rel).parent != Path(
            config) or match is None or match.group("split") != split:
        raise UserError(f"{where}: {config}/{split} points at {rel!r}, not one of its own "
                        f"shards ({config}/{split}-*-<sha256>.parquet); the card was edited: "
                        "regenerate the dataset")
    if path.is_symlink() or not path.is_file():
        raise UserError(f"{root}: {rel} is missing or not a regular file; regenerate the "
                        "dataset with `persona-bench gen`")


def check_parquet(root: str | Path, config: str) -> None:
    """Every shard of `config` opens as Parquet; else name the file (datasets names none)."""
    import pyarrow.parquet as pq

    root = Path(root)
    for paths in card_layout(read_card(root), str(root / CARD)).get(config, {}).values():
        for rel in paths:
            try:
                pq.ParquetFile(root / rel).metadata  # noqa: B018 - reads and checks the footer
            except Exception as err:  # noqa: BLE001 - pyarrow raises several types
                raise UserError(f"{root / rel} is not a readable Parquet file "
                                f"({type(err).__name__}): it is truncated or corrupt; "
                                "regenerate the dataset with `persona-bench gen`") from None


def load_options(dataset: str | Path) -> dict:
    """Extra `load_dataset` arguments: a verified local folder gets a cache of its own content.

    `datasets` keys its cache of a folder by the folder name and card, not by the files,
    so a regenerated folder (or another folder of the same name) could load stale rows.
    Verifying the folder against its content hash and keying the cache folder by that hash
    makes each dataset version separate, and a tampered copy can never poison the cache.
    """
    if not Path(dataset).is_dir():
        return {}
    from datasets import config

    digest = verify_dataset(dataset)["content_hash"].split(":")[-1][:16]
    return {"cache_dir": str(Path(config.HF_DATASETS_CACHE) / "persona-bench" / digest)}


def dump_json(obj: object) -> str:
    return json.dumps(obj, indent=2, sort_keys=True) + "\n"
