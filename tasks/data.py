"""Where the evaluation tasks find the persona dataset, and checks that it is there.

The task packs default to the published Hub id. A local folder written by
`persona-bench gen` is used instead when `$PERSONA_BENCH_DATA` names it, or when a task
folder was written for it by `persona-bench tasks --data DIR --out DIR2`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from persona_bench import contracts
from persona_bench.errors import UserError
from persona_bench.experiments import (
    DIRECTIONS,
    check_config,
    dataset_config_of,
    gen_command,
    writer_of,
)
from persona_bench.persona_gen.publish import check_parquet, load_options, verify_dataset

HUB_ID = contracts.HUB_ID
TASK_VERSION = 1.0  # of the task packs' prompts, splits and scoring
ENV_VAR = contracts.DATA_ENV_VAR


def is_local(path: str) -> bool:
    """True for anything that names a filesystem path rather than a Hub id."""
    return os.path.isabs(path) or path.startswith((".", "~")) or os.path.exists(path)


def check_local_dataset(path: str | Path) -> Path:
    """The resolved dataset folder, or a UserError saying what is missing and how to fix it."""
    folder = Path(path).expanduser().resolve()
    if not folder.is_dir():
        raise UserError(
            f"dataset folder {folder} does not exist; write it with "
            f"`persona-bench gen --out {folder}` or point {ENV_VAR}/--data at your copy"
        )
    card = folder / "README.md"
    missing = [cfg for cfg in DIRECTIONS if not any(folder.glob(f"{cfg}/*.parquet"))]
    if not card.is_file() or missing:
        what = "README.md card" if not card.is_file() else f"parquet shards for {missing}"
        raise UserError(
            f"{folder} is not a persona-bench dataset (no {what}); "
            "regenerate it with `persona-bench gen --out DIR`"
        )
    verify_dataset(folder)  # the rows a task loads are the rows its content hash names
    return folder


def check_hub_dataset(repo_id: str) -> str:
    """Offline, a Hub id must already be in the local cache; say how to avoid the Hub."""
    from huggingface_hub import constants, try_to_load_from_cache

    if constants.HF_HUB_OFFLINE and not isinstance(
        try_to_load_from_cache(repo_id, "README.md", repo_type="dataset"), str
    ):
        raise UserError(
            f"dataset {repo_id!r} is not in the local Hub cache and HF_HUB_OFFLINE is set; "
            f"set {ENV_VAR}=DIR (a folder from `persona-bench gen`) or write tasks for it "
            "with `persona-bench tasks --data DIR --out MY_TASKS`"
        )
    return repo_id


def resolve_dataset_path(path: str | None = None) -> str:
    """`path`, else `$PERSONA_BENCH_DATA`, else the Hub id; checked that it can be read."""
    chosen = path or os.environ.get(ENV_VAR) or HUB_ID
    if is_local(chosen):
        return str(check_local_dataset(chosen))
    return check_hub_dataset(chosen)


def content_hash(path: str) -> str | None:
    """The dataset card's content hash (``sha256:<hex>``), or None when it cannot be read.

    A local folder is verified against it first: a hash is only ever recorded for the bytes
    that are actually read.
    """
    from persona_bench.persona_gen.publish import (
        read_metadata,  # lazy: the card reader pulls in the Hub client
    )

    if is_local(path):
        return verify_dataset(path)["content_hash"]
    try:
        return read_metadata(path).get("content_hash")
    except Exception:  # noqa: BLE001 - an unreadable card only loses the provenance field
        return None


def dataset_kwargs(dataset: str) -> dict[str, Any]:
    """`dataset_kwargs` of every task: a verified local folder loads through its own cache."""
    return load_options(dataset) if is_local(dataset) else {}


def task_metadata(dataset: str) -> dict[str, Any]:
    """The `metadata` of every task: pack version, dataset and its content hash."""
    return {"version": TASK_VERSION, "dataset_path": dataset, "content_hash": content_hash(dataset)}


def check_split(config: str, split: str) -> str:
    """Accept a split name (`test_source`) or a half's role (`source`); return the split."""
    declared = check_config(config)
    split = declared.half(split).split if split in declared.roles else split
    if split not in declared.splits:
        choices = ", ".join(dict.fromkeys((*declared.roles, *declared.splits)))
        raise UserError(f"unknown split {split!r} of {config}; choose one of {choices}")
    return split


def check_has_config(dataset: str, config: str) -> None:
    """A local dataset must have been generated with the experiment that owns `config`."""
    if not is_local(dataset) or any(Path(dataset).glob(f"{dataset_config_of(config)}/*.parquet")):
        return
    raise UserError(f"{dataset} has no {config!r} config (it was generated without the "
                    f"{writer_of(config).name} experiment); regenerate it with "
                    f"{gen_command(config)}")


def load_split(dataset: str, direction: str, split: str) -> Any:
    """One split of a direction as a `datasets.Dataset`, with one-line errors."""
    import datasets

    split = check_split(direction, split)
    check_has_config(dataset, direction)
    name = dataset_config_of(direction)
    options = load_options(dataset)  # a local folder: verified against its card
    if is_local(dataset):
        check_parquet(dataset, name)
    try:
        return datasets.load_dataset(dataset, name, split=split, **options)
    except Exception as err:  # noqa: BLE001 - datasets raises many types for a bad path/id
        first = (str(err).strip().splitlines() or [""])[0]
        raise UserError(
            f"cannot load {direction}/{split} from {dataset!r} ({type(err).__name__}: {first}); "
            f"pass --data DIR written by `persona-bench gen` (offline, a Hub id needs a cache)"
        ) from None
