"""Task functions for the persona-bench lmms-eval pack (loaded by path: absolute imports only)."""

from __future__ import annotations

from typing import Any

from PIL import Image

from persona_bench.tasks.data import dataset_kwargs, resolve_dataset_path, task_metadata
from persona_bench.tasks.records import mean_contains, mean_exact, process_results  # noqa: F401


def __getattr__(name: str) -> Any:
    """`!function utils.DATASET_PATH` / `DATASET_KWARGS` / `METADATA`, resolved when a task loads.

    The dataset is $PERSONA_BENCH_DATA, else the Hub id; the metadata records it with its
    content hash (None when the card cannot be read, e.g. a Hub id offline). A local folder
    is verified against that hash and loads through a cache keyed by it (DATASET_KWARGS),
    so another folder of the same name can never answer for it.
    """
    if name == "DATASET_PATH":
        return resolve_dataset_path()
    if name == "DATASET_KWARGS":
        return dataset_kwargs(resolve_dataset_path())
    if name == "METADATA":
        return task_metadata(resolve_dataset_path())
    raise AttributeError(name)


def doc_to_visual(doc: dict[str, Any]) -> list[Image.Image]:
    return [image.convert("RGB") for image in doc["images"]]


def doc_to_text(doc: dict[str, Any], lmms_eval_specific_kwargs: dict | None = None) -> str:
    kwargs = lmms_eval_specific_kwargs or {}
    return f"{kwargs.get('pre_prompt', '')}{doc['question']}{kwargs.get('post_prompt', '')}"
