"""Run the lmms-eval task pack through lmms-eval's Python API with the persona_vlm backend.

`run_lmms_eval` is what `persona-bench eval` calls. It writes a copy of the task pack pinned
to the dataset (and its content hash) under ``out_dir/tasks``, runs lmms-eval exactly like

    lmms-eval --model persona_vlm --model_args pretrained=MODEL,... \
        --tasks persona_<direction>[,persona_<direction>_seen] \
        --include_path OUT/tasks/lmms --batch_size N --log_samples --output_path OUT

and returns the folder with lmms-eval's usual ``<date>_results.json`` and
``<date>_samples_<task>.jsonl`` files.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from persona_bench.contracts import group_name, task_name
from persona_bench.errors import UserError
from persona_bench.experiments import check_config
from persona_bench.tasks.data import check_has_config, resolve_dataset_path
from persona_bench.tasks.lmms_plugin import MODEL_NAME
from persona_bench.tasks.writer import write_task_pack


def task_names(config: str, include_seen: bool = False) -> list[str]:
    """The config's group, plus its halves outside the group (`seen`) when asked."""
    declared = check_config(config)
    rest = [task_name(config, h.role) for h in declared.halves if not h.in_group]
    return [group_name(config), *(rest if include_seen else [])]


def model_args_string(model: str, extra: Mapping[str, Any]) -> str:
    """``pretrained=MODEL,key=value,...``; values must not contain commas."""
    pairs = {"pretrained": str(model), **{k: v for k, v in extra.items() if v is not None}}
    bad = [k for k, v in pairs.items() if "," in str(v)]
    if bad:
        raise UserError(f"model argument {bad[0]!r} contains a comma; rename the path or value")
    return ",".join(f"{k}={v}" for k, v in pairs.items())


def run_lmms_eval(
    model: str,
    data: str | None,
    direction: str,
    out_dir: str | Path,
    *,
    batch_size: int = 8,
    limit: int | float | None = None,
    include_seen: bool = False,
    device: str | None = None,
    dtype: str | None = None,
    gen_kwargs: str | None = None,
    **model_args: Any,
) -> Path:
    """Evaluate `model` on both halves of `direction`; return the folder holding the logs.

    `model_args` go to the backend (device_map, revision, trust_remote_code, ...);
    `gen_kwargs` is lmms-eval's override string (e.g. ``max_new_tokens=32``).
    """
    from lmms_eval import evaluator
    from lmms_eval.loggers import EvaluationTracker
    from lmms_eval.tasks import TaskManager
    from lmms_eval.utils import get_datetime_str

    tasks = task_names(direction, include_seen)
    dataset = resolve_dataset_path(data)
    check_has_config(dataset, direction)
    out = Path(out_dir)
    packs = write_task_pack(dataset, out / "tasks", packs=("lmms",), overwrite=True)
    arg_string = model_args_string(model, {"dtype": dtype, **model_args})
    tracker = EvaluationTracker(output_path=str(out))
    stamp = get_datetime_str()
    results = evaluator.simple_evaluate(
        model=MODEL_NAME,
        model_args=arg_string,
        tasks=tasks,
        batch_size=batch_size,
        device=device,
        limit=limit,
        log_samples=True,
        evaluation_tracker=tracker,
        # Only our pack is indexed: faster, and no built-in task can shadow ours.
        task_manager=TaskManager("WARNING", include_path=str(packs["lmms"]),
                                 include_defaults=False, model_name=MODEL_NAME),
        gen_kwargs=gen_kwargs,
        datetime_str=stamp,
        verbosity="WARNING",
    )
    if results is None:  # only non-zero ranks of a distributed run get None
        return out
    samples = results.pop("samples")
    tracker.save_results_aggregated(results=results, samples=samples, datetime_str=stamp)
    for task in results["configs"]:
        tracker.save_results_samples(task_name=task, samples=samples[task])
    return out / tracker.general_config_tracker.model_name_sanitized


def finished_results(root: str | Path) -> Path | None:
    """The lmms-eval model folder under `root` that holds a results JSON: this stage's
    "is this evaluation done?" check."""
    root = Path(root)
    found = sorted(root.glob("*/*_results.json")) if root.is_dir() else []
    return found[-1].parent if found else None


def evaluate_config(model: str, data: str | None, config: str, out: str | Path, *,
                    batch_size: int = 16, limit: int | None = None, device: str | None = None,
                    dtype: str | None = None, likelihood: bool = True) -> Path:
    """Every half of `config` through lmms-eval, and likelihood recall on its grouped halves
    (beside the lmms-eval logs); returns the folder holding them all."""
    from persona_bench.tasks.likelihood import run_likelihood

    results = run_lmms_eval(model, data, config, out, batch_size=batch_size, limit=limit,
                            include_seen=True, device=device, dtype=dtype)
    if likelihood:
        halves = [h.role for h in check_config(config).halves if h.in_group]
        run_likelihood(model, data, config, results, halves=halves, batch_size=batch_size,
                       limit=limit, device=device, dtype=dtype)
    return results
