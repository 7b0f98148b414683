"""`persona-bench tasks`: copy the task packs, pinned to one dataset and its content hash.

The checked-in packs (`tasks/lmms`, `tasks/lm_eval`) resolve the Hub id or
`$PERSONA_BENCH_DATA` when a task loads. A written copy instead states the dataset in its
`_default_template_yaml`: ``dataset_path: DIR`` and ``metadata: {version, dataset_path,
content_hash}``, which lmms-eval and lm-eval copy into every results file. The YAMLs
come from the experiment registry (`tasks.packs`, the same text as the checked-in ones);
everything else is copied verbatim, so the copy scores exactly like the original.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from persona_bench.atomic import atomic_dir
from persona_bench.errors import UserError
from persona_bench.tasks.data import dataset_kwargs, resolve_dataset_path, task_metadata
from persona_bench.tasks.packs import PACK_ROOT, PACKS, TEMPLATE, pack_yamls


def pack_files(pack: str) -> list[Path]:
    """The hand-written files of a pack (its template and utils.py); the YAMLs are generated."""
    folder = PACK_ROOT / pack
    return sorted(p for p in folder.iterdir() if p.suffix == ".py" or p.name == TEMPLATE)


def pack_task_names(pack: str) -> set[str]:
    """Every task and group name that the YAMLs of a pack define."""
    names = set()
    for text in pack_yamls(pack).values():
        for line in text.splitlines():
            key, _, value = line.partition(":")
            if key in ("task", "group") and value.strip():
                names.add(value.strip())
    return names


def pinned_template(text: str, metadata: dict[str, Any]) -> str:
    """The template with literal `dataset_path` and `metadata` lines (one of each, checked)."""
    lines = text.splitlines()
    pinned = (("dataset_path", metadata["dataset_path"]),
              ("dataset_kwargs", dataset_kwargs(metadata["dataset_path"])), ("metadata", metadata))
    for key, value in pinned:
        found = [i for i, line in enumerate(lines) if line.startswith(f"{key}:")]
        if len(found) != 1:
            raise ValueError(f"{TEMPLATE} needs exactly one {key!r} line")
        lines[found[0]] = f"{key}: {json.dumps(value)}"  # JSON is YAML (flow style)
    start = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    header = [
        "# Base of every task in this folder, written by `persona-bench tasks`: pinned to the",
        "# dataset below (content hash in metadata). Use it with --include_path THIS_FOLDER.",
    ]
    return "\n".join(header + lines[start:]) + "\n"


def write_task_pack(
    data: str, out: str | Path, *, packs: tuple[str, ...] = PACKS, overwrite: bool = False
) -> dict[str, Path]:
    """Write `out/<pack>/` for each pack; return pack -> folder (for `--include_path`)."""
    unknown = sorted(set(packs) - set(PACKS))
    if unknown:
        raise UserError(f"unknown task pack {unknown[0]!r}; choose from {', '.join(PACKS)}")
    metadata = task_metadata(resolve_dataset_path(data))
    out = Path(out)
    if out.exists() and not overwrite:
        raise UserError(f"{out} already exists; pass --force to replace it or choose another --out")
    with atomic_dir(out, overwrite=True) as tmp:
        for pack in packs:
            (tmp / pack).mkdir()
            for name, text in pack_yamls(pack).items():
                (tmp / pack / name).write_text(text)
            for src in pack_files(pack):
                dst = tmp / pack / src.name
                if src.name == TEMPLATE:
                    dst.write_text(pinned_template(src.read_text(), metadata))
                else:
                    shutil.copyfile(src, dst)
    return {pack: out / pack for pack in packs}
