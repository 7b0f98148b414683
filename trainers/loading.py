"""Load a VLM + processor and a persona split, turning every failure into a one-line UserError."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from datasets import Dataset
from transformers import (
    AutoConfig,
    AutoModelForImageTextToText,
    AutoProcessor,
    PreTrainedModel,
    ProcessorMixin,
)
from transformers.models.auto.modeling_auto import MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES

from persona_bench.errors import UserError
from persona_bench.families import family_of
from persona_bench.persona_gen.publish import check_parquet, load_options
from persona_bench.prompting import prompt_completion


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}"


def load_vlm(name: str, revision: str = "main", trust_remote_code: bool = False,
             **model_kwargs: Any) -> tuple[PreTrainedModel, ProcessorMixin]:
    """`AutoModelForImageTextToText` + `AutoProcessor` for a Hub id or a local folder."""
    hub = dict(revision=revision, trust_remote_code=trust_remote_code)
    if not Path(name).exists() and (name.startswith((".", "/", "~")) or name.count("/") > 1):
        raise UserError(f"model folder {name} not found; pass an existing checkpoint folder "
                        "or a Hub id such as llava-hf/llava-1.5-7b-hf")
    try:
        config = AutoConfig.from_pretrained(name, **hub)
    except (OSError, ValueError) as err:
        raise UserError(
            f"cannot load model {name!r} ({_first_line(err)}); pass a local checkpoint folder or "
            "a Hub id (offline: HF_HUB_OFFLINE=1 needs it in the local cache)") from None
    is_vlm = config.model_type in MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES
    if not is_vlm and not trust_remote_code:
        raise UserError(
            f"{name!r} is a {config.model_type!r} model, not a vision-language model "
            "(AutoModelForImageTextToText cannot load it); pass a VLM such as a LLaVA, "
            "Qwen2-VL, SmolVLM or Gemma 3 checkpoint, or `persona-bench tiny-vlm --out DIR`")
    family_of(config)  # an architecture no family covers: one line naming the supported ones
    try:
        processor = AutoProcessor.from_pretrained(name, **hub)
        model = AutoModelForImageTextToText.from_pretrained(name, **hub, **model_kwargs)
    except (OSError, ValueError) as err:
        raise UserError(f"cannot load the VLM {name!r} ({_first_line(err)})") from None
    if not isinstance(processor, ProcessorMixin) or not hasattr(processor, "image_processor"):
        raise UserError(f"{name!r} has no multimodal processor (AutoProcessor gave "
                        f"{type(processor).__name__}); save its processor with the checkpoint")
    return model, processor


def _regenerate(config: str) -> str:
    """How to get a registered config that a dataset lacks."""
    from persona_bench.experiments import AUGMENT_CONFIGS, CONFIGS, gen_command

    shared = {c.dataset_config for c in CONFIGS.values()}
    if config not in CONFIGS and config not in AUGMENT_CONFIGS and config not in shared:
        return ""
    return f", or regenerate the dataset with {gen_command(config)}"


def load_rows(name: str, config: str | None, split: str) -> Dataset:
    """One split of a persona-bench dataset (Hub id or local folder), checked for rows."""
    from datasets import get_dataset_config_names, load_dataset

    if not name:
        raise UserError("pass --dataset_name DIR_OR_HUB_ID (a folder from `persona-bench gen`)")
    if not config:
        raise UserError("pass --dataset_config img2text or --dataset_config text2img")
    try:
        configs = get_dataset_config_names(name)
    except Exception as err:  # noqa: BLE001 - datasets raises many types for a bad path/id
        raise UserError(f"cannot open dataset {name!r} ({_first_line(err)}); pass a folder "
                        "written by `persona-bench gen` or a Hub dataset id") from None
    if config not in configs:
        raise UserError(f"dataset {name!r} has no config {config!r} (it has: "
                        f"{', '.join(configs)}); pass one of those{_regenerate(config)}")
    options = load_options(name)  # a local folder is verified against its card first
    if Path(name).is_dir():
        check_parquet(name, config)
    try:
        splits = load_dataset(name, config, **options)
    except Exception as err:  # noqa: BLE001 - empty split, truncated or corrupt shard
        raise UserError(f"cannot read config {config!r} of {name!r} ({_first_line(err)}); "
                        "every split needs rows: regenerate the dataset") from None
    if split not in splits:
        raise UserError(f"dataset {name!r} config {config!r} has no split {split!r} (it has: "
                        f"{', '.join(splits)}); pass --dataset_train_split one of those")
    rows = splits[split]
    if len(rows) == 0:
        raise UserError(f"split {split!r} of {name!r} config {config!r} has no rows; "
                        "regenerate the dataset or pick another split")
    missing = {"messages", "images"} - set(rows.column_names)
    if missing:
        raise UserError(f"dataset {name!r} lacks the columns {sorted(missing)}: it is not in the "
                        "persona-bench schema (see persona_gen/schema.py)")
    return rows


def as_prompt_completion(rows: Dataset) -> Dataset:
    """Keep `images` and turn `messages` into TRL's prompt/completion (loss on the answer)."""
    drop = [c for c in rows.column_names if c != "images"]
    return rows.map(prompt_completion, input_columns="messages", remove_columns=drop,
                    keep_in_memory=True, desc="prompt/completion")
