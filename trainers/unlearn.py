"""Unlearn a forget set from a VLM through one modality (the unlearning experiment).

The model was taught every persona of the dataset's `unlearn` config in both modalities
(`persona-bench train --dataset_config unlearn`); this removes the personas of one forget
split, presented as portrait questions, description questions, or both:

    persona-bench unlearn --model_name_or_path both --dataset_name data \\
        --method npo --forget_split forget05 --forget_modality image --output_dir npo-img

Methods are the registry of `trainers/unlearning/` (`--method`; `ga`, `grad_diff`, `kl`,
`npo`, `simnpo`, `idk`), each with the `UnlearnSettings` it reads (`--retain_weight`,
`--beta`, `--gamma`). Every SFT option works (`--use_peft` for LoRA, `--learning_rate`,
`--num_train_epochs`, `accelerate launch`). `--curve_points N` measures greedy recall of
the forget and retain test splits in both modalities N times during the run (`curve.json`,
plotted by `persona-bench experiment unlearn`). The run writes the checkpoint, a model card
and `persona_train.json` with the method, its settings, the forget split and modality.
"""

from __future__ import annotations

import json
import shlex
import sys
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from datasets import Dataset
from transformers import TrainerCallback
from trl import TrlParser

from persona_bench.atomic import write_text_atomic
from persona_bench.contracts import BOTH_MODALITIES, MODALITIES, read_train_record
from persona_bench.errors import UserError
from persona_bench.experiments.unlearn import (
    DATA,
    FRACTIONS,
    forget_split,
    retain_split,
    test_split,
)
from persona_bench.trainers import sft
from persona_bench.trainers.loading import as_prompt_completion, load_rows, load_vlm
from persona_bench.trainers.unlearning import METHODS, UnlearnSettings, get_method
from persona_bench.trainers.unlearning.base import FORGET_MODALITIES, NonFiniteLoss

CURVE = "curve.json"


@dataclass
class UnlearnArguments:
    """The method, what is forgotten and through which modality."""

    method: str = field(default="grad_diff", metadata={
        "help": f"Unlearning method: {', '.join(METHODS)} (trainers/unlearning/)."})
    forget_split: str = field(default="forget05", metadata={
        "help": f"Forget split of the `{DATA}` config: "
                f"{', '.join(forget_split(f) for f in FRACTIONS)}."})
    forget_modality: str = field(default="image", metadata={
        "help": "Present the forget set as image questions, text questions, or both."})
    ref_model: str | None = field(default=None, metadata={
        "help": "Reference model of kl / npo (default: the model being unlearned)."})
    retain_weight: float = field(default=1.0, metadata={
        "help": "Weight of the retain loss (grad_diff, kl, npo, simnpo, idk)."})
    beta: float = field(default=0.1, metadata={"help": "Inverse temperature (npo, simnpo)."})
    gamma: float = field(default=0.0, metadata={"help": "Reward margin (simnpo)."})
    curve_points: int = field(default=0, metadata={
        "help": "Measure forget/retain recall in both modalities this many times during the "
                "run, plus before it (curve.json; 0: never)."})
    curve_rows: int = field(default=64, metadata={
        "help": "At most this many questions per split for each curve point (retain sets)."})


def parse_args(argv: list[str] | None = None):
    parser = TrlParser((UnlearnArguments, sft.PersonaScriptArguments, sft.PersonaSFTConfig,
                        sft.PersonaModelConfig), prog="persona-bench unlearn")
    try:
        return parser.parse_args_and_config(argv)
    except ValueError as err:
        raise UserError(f"{err}; see `persona-bench unlearn --help`") from None


def check_method(name: str, modality: str) -> None:
    """A registered method, and a forget modality it can act on."""
    if modality not in FORGET_MODALITIES:
        raise UserError(f"unknown --forget_modality {modality!r}; use one of "
                        f"{', '.join(FORGET_MODALITIES)}")
    method = get_method(name)
    if modality not in method.modalities:
        raise UserError(f"{name} acts on {' or '.join(method.modalities)} inputs only; "
                        f"use --forget_modality {method.modalities[0]}")


def check_arguments(args: UnlearnArguments, script_args: sft.PersonaScriptArguments) -> None:
    forget_splits = [forget_split(f) for f in FRACTIONS]
    if args.forget_split not in forget_splits:
        raise UserError(f"unknown --forget_split {args.forget_split!r}; the {DATA} config has "
                        f"{', '.join(forget_splits)}")
    check_method(args.method, args.forget_modality)
    if script_args.dataset_config not in (None, DATA):
        raise UserError(f"unlearning reads the {DATA!r} config, not "
                        f"{script_args.dataset_config!r}; drop --dataset_config")
    if script_args.augment:
        raise UserError("--augment mixes rows into training; unlearning has no such option")
    if args.curve_points < 0 or args.curve_rows < 1:
        raise UserError("--curve_points must be >= 0 and --curve_rows >= 1")


def check_trained_on_both(model: str) -> None:
    """Warn when the model's record says it was not taught the `unlearn` config in both
    modalities: forgetting then measures nothing that was learned."""
    record = read_train_record(model) if Path(model).is_dir() else None
    if record is None:
        warnings.warn(f"{model} has no persona_train.json: it may never have learned the "
                      f"forget set; train it first with `persona-bench train "
                      f"--dataset_config {DATA}` (both modalities)", stacklevel=2)
        return
    if record.get("dataset_config") != DATA or record.get("source_modality") != BOTH_MODALITIES:
        warnings.warn(f"{model} was trained on {record.get('dataset_config')} "
                      f"({record.get('source_modality')}), not on both modalities of {DATA}; "
                      f"train it with `persona-bench train --dataset_config {DATA}` first, or "
                      "the forget set was never learned in both", stacklevel=2)


IGNORED_CONFIG = ("_name_or_path", "transformers_version", "dtype", "torch_dtype")


def _architecture(config) -> dict:
    def clean(value):
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items() if k not in IGNORED_CONFIG}
        return value
    return clean(config.to_dict())


def check_reference(reference: torch.nn.Module, model_path: str, path: str) -> None:
    """The reference must be the same architecture and shape as the unlearned model (its
    config, before any LoRA wrapping)."""
    from transformers import AutoConfig

    ours = _architecture(AutoConfig.from_pretrained(model_path))
    theirs = _architecture(reference.config)
    if ours != theirs:
        differ = next((k for k in sorted(set(ours) | set(theirs))
                       if ours.get(k) != theirs.get(k)), "config")
        raise UserError(f"--ref_model {path} does not match the model being unlearned "
                        f"(config {differ!r} differs); pass the model before unlearning "
                        "(or leave it out)")


def select_forget(rows: Dataset, modality: str) -> Dataset:
    if modality == "both":
        return rows
    return rows.filter(lambda m: m == modality, input_columns="modality", keep_in_memory=True)


class RecallCurve(TrainerCallback):
    """Greedy exact-match recall of the forget and retain test splits, in both modalities,
    before unlearning and `points` times during it (evenly spaced steps)."""

    def __init__(self, data: str, fraction: str, points: int, rows: int) -> None:
        self.splits = {f"{g}_{m}": load_rows(data, DATA, test_split(g, fraction, m))
                       for g in ("forget", "retain") for m in MODALITIES}
        self.splits = {k: v.select(range(min(rows, len(v)))) for k, v in self.splits.items()}
        self.points, self.curve = points, []
        self.processor = None

    def measure(self, model, step: int) -> None:
        from persona_bench.trainers.recall import recall

        was_training = model.training
        point = {"step": step, **{k: recall(model, self.processor, rows).accuracy
                                  for k, rows in self.splits.items()}}
        model.train(was_training)
        self.curve.append(point)

    def on_train_begin(self, args, state, control, model=None, processing_class=None, **kw):
        self.processor = processing_class
        if not any(p["step"] == state.global_step for p in self.curve):
            self.measure(model, state.global_step)

    def on_step_end(self, args, state, control, model=None, **kw):
        every = max(1, state.max_steps // self.points)
        if state.global_step % every == 0 or state.global_step == state.max_steps:
            self.measure(model, state.global_step)


def prepare(args: UnlearnArguments, script_args, training_args, model_args, command: str):
    """The SFT run of `sft.prepare`, on the forget rows, with the method's trainer."""
    check_arguments(args, script_args)
    method = get_method(args.method)
    script_args.dataset_config = DATA
    script_args.dataset_train_split = args.forget_split
    fraction = args.forget_split.removeprefix("forget")
    check_trained_on_both(model_args.model_name_or_path)
    settings = UnlearnSettings(args.retain_weight, args.beta, args.gamma)

    def kwargs(rows: Dataset) -> dict:
        retain = load_rows(script_args.dataset_name, DATA, retain_split(fraction))
        extra = {"retain_rows": as_prompt_completion(retain), "settings": settings,
                 "seed": training_args.seed}
        if method.needs_reference:
            path = args.ref_model or model_args.model_name_or_path
            reference = load_vlm(path, model_args.model_revision,
                                 training_args.trust_remote_code,
                                 dtype=model_args.dtype)[0].eval().requires_grad_(False)
            check_reference(reference, model_args.model_name_or_path, path)
            extra["reference"] = reference
        return extra

    def forget_rows(rows: Dataset) -> Dataset:
        picked = select_forget(rows, args.forget_modality)
        if len(picked) == 0:
            raise UserError(f"{args.forget_split} has no {args.forget_modality} rows")
        return method.forget_rows(picked, training_args.seed)

    if training_args.num_train_epochs is None:
        training_args.num_train_epochs = 5.0  # unlearning: a few passes, not 30
    run = sft.prepare(script_args, training_args, model_args, command=command,
                      trainer_class=method, trainer_kwargs=kwargs, transform_rows=forget_rows)
    reference = getattr(run.trainer, "reference", None)
    if reference is not None:
        reference.to(run.trainer.model.device)
    if args.curve_points:
        run.trainer.add_callback(RecallCurve(script_args.dataset_name, fraction,
                                             args.curve_points, args.curve_rows))
    return run


def unlearn_record(args: UnlearnArguments, run: sft.Run) -> dict:
    method = METHODS[args.method]
    return {"method": args.method, "about": method.about,
            "settings": {k: getattr(args, k) for k in method.uses},
            "reference": (args.ref_model or run.model_args.model_name_or_path)
            if method.needs_reference else None,
            "forget_split": args.forget_split, "forget_modality": args.forget_modality,
            "retain_split": retain_split(args.forget_split.removeprefix("forget")),
            "num_forget_rows": len(run.rows), "arguments": asdict(args),
            # a frozen-model method trains its own module instead (cagul)
            "external_parameters": sum(p.numel() for p in run.trainer.filter.parameters())
            if hasattr(run.trainer, "filter") else None}


def curve_of(run: sft.Run) -> list[dict]:
    found = [c for c in run.trainer.callback_handler.callbacks if isinstance(c, RecallCurve)]
    return found[0].curve if found else []


def last_finite_checkpoint(out: Path) -> Path | None:
    """The newest `checkpoint-*` of `out` whose weights are all finite."""
    from safetensors.torch import load_file

    saved = sorted(out.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[-1]))
    for folder in reversed(saved):
        weights = [load_file(f) for f in folder.glob("*.safetensors")]
        if weights and all(torch.isfinite(t).all() for w in weights for t in w.values()):
            return folder
    return None


def train_and_save(args: UnlearnArguments, run: sft.Run) -> None:
    """Train; on a non-finite loss stop with the step and the last good checkpoint, else
    save the model, its card and record (method, settings, forget split and modality)."""
    try:
        result = sft.train(run)
    except NonFiniteLoss as err:
        good = last_finite_checkpoint(run.out)
        keep = f"the last good checkpoint is {good}" if good else \
            "no good checkpoint was saved before it (lower --save_steps)"
        raise UserError(f"{err} ({args.method}, learning rate "
                        f"{run.training_args.learning_rate}); stopped: {keep}; lower "
                        "--learning_rate or use a bounded method (npo, simnpo)") from None
    before = read_train_record(run.model_args.model_name_or_path) or {}
    extra = {"unlearning": unlearn_record(args, run), "curve": curve_of(run),
             # the model still holds what it was taught before, in both modalities
             "source_modality": before.get("source_modality", BOTH_MODALITIES),
             "target_modality": None}
    sft.finish(run, result, extra=extra)
    if extra["curve"]:
        write_text_atomic(run.destination / CURVE, json.dumps(extra["curve"], indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    command = shlex.join(sys.argv if argv is None else ["persona-bench", "unlearn", *argv])
    args, script_args, training_args, model_args = parse_args(argv)
    train_and_save(args, prepare(args, script_args, training_args, model_args, command))
    return 0


def unlearn_model(model: str, data: str, out: str | Path, *, method: str, forget: str,
                  modality: str, seed: int | None = None, extra: list[str] | tuple = ()) -> Path:
    """`persona-bench unlearn` as a function; returns `out`."""
    argv = ["--model_name_or_path", str(model), "--dataset_name", str(data),
            "--method", method, "--forget_split", forget, "--forget_modality", modality,
            "--output_dir", str(out), *(["--seed", str(seed)] if seed is not None else []),
            *extra]
    main(argv)
    return Path(out)
