"""`--model persona_vlm`: a generic lmms-eval backend for any Hugging Face VLM or causal LM.

    lmms_eval --model persona_vlm --model_args pretrained=DIR[,dtype=float32,device_map=auto]
        --tasks persona_img2text --include_path tasks/lmms --batch_size 8

Model args: ``pretrained`` (folder or Hub id), ``device`` (cpu, cuda, cuda:1; default
cuda when available), ``dtype`` (auto, float32, bfloat16, float16), ``device_map``
(e.g. auto, for models larger than one GPU), ``revision``, ``trust_remote_code``,
``attn_implementation``, ``apply_chat_template`` (default true), ``batch_size``.

It handles image and text-only requests in the same run, batches requests of similar
length (images and text-only never share a batch), and implements `generate_until`
(greedy unless the task asks for temperature > 0) and `loglikelihood`. Prompts come
from the model's own chat template (`persona_bench.tasks.hf_model`), so answers do not depend on
lmms-eval's prompt conventions or on the batch size.

Data parallel: under ``accelerate launch --num_processes N -m lmms_eval ...`` (or
torchrun) each process is one rank (`rank`, `world_size`, `accelerator`, `device`, what
lmms-eval shards requests and gathers results with) and holds a full copy of the model on
``cuda:LOCAL_RANK``, or on the CPU when the processes run there (gloo). ``device_map``
(one model split over devices) runs in one process only.
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from lmms_eval.api.instance import Instance
from lmms_eval.api.model import lmms
from loguru import logger
from PIL import Image
from tqdm import tqdm

from persona_bench.checks import parse_bool
from persona_bench.errors import UserError
from persona_bench.progress import bar_disabled
from persona_bench.tasks.hf_model import HFModel, Query, plan_batches

GENERATION_KEYS = {"until", "max_new_tokens", "temperature", "top_p", "num_beams", "do_sample"}
DEFAULT_MAX_NEW_TOKENS = 32


def under_lmms_eval_cli() -> bool:
    """Whether this process is lmms-eval's own CLI (`lmms-eval ...` or `python -m lmms_eval`)."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    return (getattr(spec, "name", "") == "lmms_eval.__main__"
            or Path(sys.argv[0]).name in ("lmms-eval", "lmms_eval"))


def _exit_failed() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(1)


def fails_the_process(method: Callable) -> Callable:
    """lmms-eval's CLI logs a backend's exception and still exits 0: under that CLI, a
    failure here makes the process exit 1 when it ends (callers of the Python API, such as
    `persona-bench eval`, get the exception itself)."""

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except Exception:
            if under_lmms_eval_cli():
                atexit.register(_exit_failed)
            raise

    return wrapper


def parse_batch_size(value: int | str | None) -> int:
    text = str(1 if value in (None, "") else value)
    if not text.isdigit() or int(text) < 1:
        raise UserError(
            f"persona_vlm needs a positive integer batch size (got {value!r}); "
            "pass e.g. lmms-eval --batch_size 8 (persona-bench eval --batch-size 8)"
        )
    return int(text)


def generation_options(gen_kwargs: dict[str, Any]) -> dict[str, Any]:
    """lmms-eval `generation_kwargs` -> `HFModel.generate` keyword arguments."""
    unknown = sorted(set(gen_kwargs) - GENERATION_KEYS)
    if unknown:
        logger.warning(f"persona_vlm ignores generation kwargs {unknown}")
    until = gen_kwargs.get("until") or []
    options: dict[str, Any] = {
        "until": [until] if isinstance(until, str) else list(until),
        "max_new_tokens": int(gen_kwargs.get("max_new_tokens", DEFAULT_MAX_NEW_TOKENS)),
        "num_beams": int(gen_kwargs.get("num_beams") or 1),
    }
    temperature = float(gen_kwargs.get("temperature") or 0.0)
    if temperature > 0 and gen_kwargs.get("do_sample", True):
        options.update(temperature=temperature, top_p=gen_kwargs.get("top_p"))
    return options


def as_images(visuals: Any) -> tuple[Image.Image, ...]:
    items = [] if visuals is None else visuals if isinstance(visuals, list | tuple) else [visuals]
    bad = [type(v).__name__ for v in items if not isinstance(v, Image.Image)]
    if bad:
        raise UserError(f"persona_vlm handles images and text only; the task gave {bad[0]} inputs")
    return tuple(items)


def launched_world_size() -> int:
    """How many processes this run was launched with (accelerate launch, torchrun)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size()
    text = os.environ.get("WORLD_SIZE", "1")
    return int(text) if text.isdigit() else 1


def data_parallel_rank(device: str | None) -> tuple[Any, int, int, str]:
    """(accelerator, rank, world size, this rank's device) of a launched process.

    On GPUs accelerate runs NCCL and each rank takes ``cuda:LOCAL_RANK``. Without one
    (`trainers/accelerate/multi_cpu.yaml` on a CPU machine), accelerate still joins the
    launcher's process group (gloo) but reports a single process, so the ranks come from
    torch.distributed.
    """
    import torch.distributed as dist
    from accelerate import Accelerator  # shares the state of lmms-eval's own Accelerator

    accelerator = Accelerator()
    if dist.is_available() and dist.is_initialized():
        rank, world_size = dist.get_rank(), dist.get_world_size()
    else:
        rank, world_size = accelerator.process_index, accelerator.num_processes
    own = accelerator.device
    if own.type == "cuda":
        local = int(os.environ.get("LOCAL_RANK", accelerator.local_process_index))
        own = torch.device(f"cuda:{local}")
    if device not in (None, "", "auto") and torch.device(str(device)).type != own.type:
        raise UserError(
            f"persona_vlm: device={device} but the {world_size} data-parallel processes run "
            f"on {own.type}; drop device= (each process takes its own {own.type} device), or "
            "launch one process"
        )
    return accelerator, rank, world_size, str(own)


class PersonaVLM(lmms):
    """lmms-eval adapter over `tasks.hf_model.HFModel` (a simple, non-chat lmms model)."""

    is_simple = True

    @fails_the_process
    def __init__(
        self,
        pretrained: str,
        device: str | None = None,
        dtype: str | None = "auto",
        device_map: str | None = None,
        batch_size: int | str = 1,
        max_batch_size: int | None = None,
        revision: str | None = None,
        trust_remote_code: bool = False,
        attn_implementation: str | None = None,
        apply_chat_template: bool = True,
        **unknown: Any,
    ) -> None:
        super().__init__()
        if unknown:
            raise UserError(
                f"persona_vlm: unknown model_args {sorted(unknown)}; accepted: pretrained, "
                "device, dtype, device_map, revision, trust_remote_code, attn_implementation, "
                "apply_chat_template, batch_size"
            )
        self.batch_size_per_gpu = parse_batch_size(batch_size)
        world_size = launched_world_size()
        if world_size > 1 and device_map:
            raise UserError(
                f"persona_vlm: device_map={device_map} splits one model over devices (model "
                f"parallel) and cannot run in {world_size} data-parallel processes; launch one "
                "process (lmms-eval ... without accelerate launch), or drop device_map"
            )
        if world_size > 1:
            self.accelerator, self._rank, self._world_size, device = data_parallel_rank(device)
        self.hf = HFModel(
            str(pretrained),
            device=device,
            dtype=dtype,
            device_map=device_map,
            revision=revision,
            trust_remote_code=parse_bool(trust_remote_code, "trust_remote_code"),
            attn_implementation=attn_implementation,
            apply_chat_template=parse_bool(apply_chat_template, "apply_chat_template"),
        )
        logger.info(f"persona_vlm: {self.hf.describe()} batch_size={self.batch_size_per_gpu} "
                    f"rank={self.rank}/{self.world_size}")

    @property
    def batch_size(self) -> int:
        return self.batch_size_per_gpu

    @property
    def device(self) -> torch.device:
        """Where this rank's inputs go (lmms-eval puts its cross-rank counts there)."""
        return self.hf.input_device

    def _doc(self, task: str, split: str, doc_id: int) -> dict:
        return self.task_dict[task][split][doc_id]

    def _query(self, context: str, doc_to_visual: Callable | None, doc: dict) -> Query:
        visuals = doc_to_visual(doc) if callable(doc_to_visual) else None
        return Query(context, as_images(visuals))

    def _run(
        self,
        requests: Sequence[Instance],
        items: list[tuple[Query, Any]],
        groups: list[str],
        call: Callable[[list[Query], list[Any]], list[Any]],
        desc: str,
    ) -> list[Any]:
        """Batch by length within groups, call `call` per batch, return in request order."""
        lengths = [len(q.text) + 1000 * len(q.images) for q, _ in items]
        results: list[Any] = [None] * len(items)
        with tqdm(total=len(items), disable=bar_disabled(self.rank == 0), desc=desc) as bar:
            for batch in plan_batches(lengths, groups, self.batch_size):
                outputs = call([items[i][0] for i in batch], [items[i][1] for i in batch])
                for i, out in zip(batch, outputs, strict=True):
                    results[i] = out
                    self.cache_hook.add_partial(requests[i].request_type, requests[i].args, out)
                bar.update(len(batch))
        return results

    @fails_the_process
    def generate_until(self, requests: list[Instance]) -> list[str]:
        items, groups = [], []
        for request in requests:
            context, gen_kwargs, doc_to_visual, doc_id, task, split = request.args
            query = self._query(context, doc_to_visual, self._doc(task, split, doc_id))
            options = generation_options(dict(gen_kwargs or {}))
            items.append((query, options))
            groups.append(f"{bool(query.images)}|{json.dumps(options, sort_keys=True)}")

        def call(queries: list[Query], options: list[dict]) -> list[str]:
            return self.hf.generate(queries, **options[0])

        return self._run(requests, items, groups, call, "persona_vlm generate")

    @fails_the_process
    def loglikelihood(self, requests: list[Instance]) -> list[tuple[float, bool]]:
        items, groups = [], []
        for request in requests:
            context, target, doc_to_visual, doc_id, task, split = request.args
            doc = self._doc(task, split, doc_id)
            continuation = target if isinstance(target, str) else target(doc)
            if isinstance(continuation, list):
                continuation = continuation[0]
            query = self._query(context, doc_to_visual, doc)
            items.append((query, str(continuation)))
            groups.append(str(bool(query.images)))

        def call(queries: list[Query], continuations: list[str]) -> list[tuple[float, bool]]:
            return self.hf.score(queries, continuations)

        return self._run(requests, items, groups, call, "persona_vlm loglikelihood")

    def generate_until_multi_round(self, requests: list[Instance]) -> list[str]:
        raise NotImplementedError("persona_vlm does not implement multi-round generation")
