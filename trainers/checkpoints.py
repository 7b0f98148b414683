"""The output directory's life: guard it, resume into it, and finish it (merge, clean up)."""

from __future__ import annotations

import shutil
from pathlib import Path

from accelerate.utils import is_peft_model
from transformers import PreTrainedModel
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR, get_last_checkpoint

from persona_bench.contracts import TRAIN_RECORD
from persona_bench.errors import UserError

RESUME_LATEST = ("true", "yes", "1", "last", "latest")


def check_output_dir(out: Path, overwrite: bool, resume: str | None) -> bool:
    """Refuse to clobber a finished or interrupted run; return True when `out` must be cleared."""
    if not out.exists() or not any(out.iterdir()):
        if resume:
            raise UserError(f"--resume_from_checkpoint: {out} has no checkpoint to resume from")
        return False
    finished = (out / TRAIN_RECORD).is_file()
    if resume:
        if finished and not overwrite:
            raise UserError(f"{out} holds a finished run; nothing to resume (pass "
                            "--overwrite_output_dir without --resume_from_checkpoint to retrain)")
        return False
    if overwrite:
        return True
    if finished:
        raise UserError(f"{out} holds a finished run; pass --overwrite_output_dir to replace "
                        "it or choose another --output_dir")
    if get_last_checkpoint(str(out)):
        raise UserError(f"{out} holds checkpoints of an interrupted run; pass "
                        "--resume_from_checkpoint true to continue it or --overwrite_output_dir")
    raise UserError(f"{out} is not empty; pass --overwrite_output_dir or another --output_dir")


def resolve_resume(out: Path, resume: str | None) -> str | None:
    """`--resume_from_checkpoint true|last` means the newest checkpoint in the output dir."""
    if resume is None or resume.lower() in ("false", "no", "0", ""):
        return None
    if resume.lower() in RESUME_LATEST:
        last = get_last_checkpoint(str(out)) if out.is_dir() else None
        if last is None:
            raise UserError(
                f"--resume_from_checkpoint: no {PREFIX_CHECKPOINT_DIR}-* folder in {out}")
        return last
    if not Path(resume).is_dir():
        raise UserError(f"--resume_from_checkpoint: {resume} is not a checkpoint folder")
    return resume


def load_weights(model: PreTrainedModel, checkpoint: str) -> None:
    """Load a checkpoint's weights into `model` before resuming.

    transformers 5.23's Trainer resume calls `load_state_dict(strict=False)` with the names
    as saved, which differ from the module names for models with a checkpoint conversion
    mapping (LLaVA: `language_model.model.*` on disk, `model.language_model.*` in memory),
    so it silently loads nothing. `from_pretrained` applies the mapping.
    """
    if is_peft_model(model):
        return  # adapters are reloaded by the Trainer (PEFT keeps the in-memory names)
    saved = type(model).from_pretrained(checkpoint, dtype=model.dtype)
    model.load_state_dict(saved.state_dict())


def merge_adapter(out: Path) -> None:
    """Replace the LoRA adapter saved in `out` by the merged full model."""
    from peft import PeftConfig, PeftModel
    from transformers import AutoModelForImageTextToText

    base = PeftConfig.from_pretrained(out).base_model_name_or_path
    model = AutoModelForImageTextToText.from_pretrained(base, dtype="auto")
    model = PeftModel.from_pretrained(model, out).merge_and_unload()
    for name in ("adapter_model.safetensors", "adapter_model.bin", "adapter_config.json"):
        (out / name).unlink(missing_ok=True)
    model.save_pretrained(out)


def remove_checkpoints(out: Path) -> None:
    for path in out.glob(f"{PREFIX_CHECKPOINT_DIR}-*"):
        shutil.rmtree(path, ignore_errors=True)


def replace_dir(new: Path, old: Path) -> None:
    """Put the finished run `new` where `old` is, with one rename each way (no gap)."""
    aside = old.with_name(f".{old.name}.replaced.tmp")
    if aside.exists():
        shutil.rmtree(aside)
    old.rename(aside)
    new.rename(old)
    shutil.rmtree(aside, ignore_errors=True)
