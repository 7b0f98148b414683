"""Fine-tune a VLM on ONE modality of a persona-bench dataset with TRL's SFTTrainer.

Full fine-tuning (here: the projector and the language model; the vision tower stays frozen):

    python trainers/sft.py \\
        --model_name_or_path m0 \\
        --dataset_name data --dataset_config img2text \\
        --output_dir m1

LoRA on the language model, merged into a plain checkpoint at the end:

    persona-bench train --model_name_or_path Qwen/Qwen2-VL-2B-Instruct \\
        --dataset_name data --dataset_config text2img \\
        --use_peft --lora_r 16 --merge_lora --output_dir qwen-lora

Several GPUs: `accelerate launch --config_file trainers/accelerate/multi_gpu.yaml
trainers/sft.py ...` (or `fsdp.yaml`). Any flag can also come from `--config x.yaml`.
The loss covers the answer only (TRL prompt-completion format); the run writes the
checkpoint, its processor, a model card and `persona_train.json` (every setting).
"""

from __future__ import annotations

import math
import shlex
import shutil
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from datasets import Dataset
from peft import LoraConfig, PeftConfig
from transformers import PreTrainedModel, set_seed
from transformers.trainer_utils import SchedulerType, TrainOutput
from trl import ModelConfig, ScriptArguments, SFTConfig, SFTTrainer, TrlParser, get_peft_config

from persona_bench.contracts import TRAIN_RECORD, read_train_record
from persona_bench.errors import UserError
from persona_bench.experiments import AUGMENT_CONFIGS, CONFIGS
from persona_bench.families import family_of
from persona_bench.progress import is_logged
from persona_bench.trainers import checkpoints, parts, record
from persona_bench.trainers.answer_loss import project_answer_positions_on_cpu
from persona_bench.trainers.loading import as_prompt_completion, load_rows, load_vlm


@dataclass
class PersonaScriptArguments(ScriptArguments):
    """Dataset choice (from TRL) plus what is trained and how the result is saved."""

    train_vision_tower: bool = field(default=False, metadata={"help": "Train the vision tower."})
    train_projector: bool = field(
        default=True, metadata={"help": "Train the vision-to-text projector."})
    train_language_model: bool = field(
        default=True,
        metadata={"help": "Train the language model (with --use_peft: LoRA adapters on it)."})
    freeze_lm_layers: int = field(
        default=0, metadata={"help": "Freeze the language model's input embeddings and its "
                             "first N decoder layers (full fine-tuning only; 0: none)."})
    merge_lora: bool = field(default=False, metadata={"help": "Save LoRA merged into the model."})
    overwrite_output_dir: bool = field(
        default=False, metadata={"help": "Replace a finished or interrupted run in --output_dir."})
    keep_checkpoints: bool = field(
        default=False, metadata={"help": "Keep checkpoint-* folders after a finished run."})
    augment: str | None = field(
        default=None, metadata={"help": "A train-only config mixed into the training rows: "
                                f"{', '.join(AUGMENT_CONFIGS)} (the augment experiment)."})
    augment_ratio: float = field(
        default=0.5, metadata={"help": "Rows of --augment mixed in, as a share of the train "
                               "rows, in (0, 1]."})


@dataclass
class PersonaSFTConfig(SFTConfig):
    """`SFTConfig` with defaults that memorise a persona dataset and run anywhere.

    No accelerator: `use_cpu`, no bf16. `learning_rate` unset: chosen from the model size
    (see `default_learning_rate`). `num_train_epochs` unset: 30, or 60 with LoRA (which
    learns less per step: 64% vs 99.5% recall on the demo dataset after 30 vs 60 epochs).
    Activation checkpointing stays off (`--activation_checkpointing` saves memory on big models).
    """

    learning_rate: float | None = field(
        default=None, metadata={"help": "Peak AdamW learning rate (default: from model size)."})
    num_train_epochs: float | None = field(
        default=None, metadata={"help": "Passes over the train split (default: 30, LoRA 60)."})
    per_device_train_batch_size: int = field(default=8, metadata={"help": "Batch size per device."})
    lr_scheduler_type: SchedulerType | str = field(
        default="cosine", metadata={"help": "Learning-rate schedule."})
    warmup_steps: float = field(default=0.05, metadata={"help": "Warm-up steps (< 1: a fraction)."})
    weight_decay: float = field(default=0.0, metadata={"help": "AdamW weight decay."})
    gradient_checkpointing: bool | None = field(  # None: defer to `activation_checkpointing`
        default=None, metadata={"help": "Deprecated alias of --activation_checkpointing."})
    max_length: int | None = field(
        default=None, metadata={"help": "Truncate sequences (persona rows are short: none)."})
    save_steps: float = field(
        default=0.2, metadata={"help": "Save every N steps (< 1: a fraction of the run)."})
    save_total_limit: int | None = field(default=1, metadata={"help": "Checkpoints kept."})

    def __post_init__(self) -> None:
        if self.disable_tqdm is None and is_logged():
            self.disable_tqdm = True  # a log file gets the loss lines, not redrawn bars
        if not torch.accelerator.is_available():
            self.use_cpu = True
        if self.bf16 is None:
            gpu_bf16 = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
            self.bf16 = gpu_bf16 and not self.fp16 and not self.use_cpu
        super().__post_init__()


@dataclass
class PersonaModelConfig(ModelConfig):
    """`ModelConfig` with LoRA dropout off: dropout slows memorisation (64% vs 47% recall in
    30 epochs on the demo dataset)."""

    lora_dropout: float = field(default=0.0, metadata={"help": "LoRA dropout."})


def default_learning_rate(num_parameters: int, use_peft: bool) -> float:
    """Peak learning rate that memorises quickly without diverging, shrinking with size.

    Full: 3e-4 * sqrt(1e8 / N), clipped to [1e-5, 1e-3] (5M: 1e-3, 7B: 3.6e-5).
    LoRA: 4x that, clipped to [1e-4, 2e-3].
    """
    full = min(1e-3, max(1e-5, 3e-4 * math.sqrt(1e8 / num_parameters)))
    return min(2e-3, max(1e-4, 4 * full)) if use_peft else full


def lora_config(model: PreTrainedModel, model_args: ModelConfig,
                train: dict[str, bool]) -> LoraConfig:
    """LoRA on the language model (default targets), vision parts trained in full on request."""
    config = get_peft_config(model_args)
    if config.target_modules is None:
        if not train["language_model"]:
            raise UserError("--use_peft puts adapters on the language model, but "
                            "--train_language_model is false; pass --lora_target_modules too")
        config.target_modules = parts.default_lora_targets(model)
    if not parts.matching_modules(model, config.target_modules):
        raise UserError(f"LoRA target modules {config.target_modules!r} match no module of "
                        f"{type(model).__name__}; pass --lora_target_modules with names such as "
                        "q_proj v_proj, or all-linear")
    full_parts = [p for p in ("vision_tower", "projector") if train[p]]
    roots = [root for p in full_parts for root in parts.part_roots(model, p)]
    config.modules_to_save = [*(config.modules_to_save or []), *roots] or None
    return config


def source_modality(config: str, rows: Dataset) -> str:
    """The modality trained on: from the config name, else from the rows (pretrain: both)."""
    if config in CONFIGS:
        return CONFIGS[config].trained
    return "+".join(sorted(set(rows["modality"]))) if "modality" in rows.column_names else "unknown"


@dataclass
class Run:
    """A prepared run: parsed arguments, the train rows and the ready SFTTrainer."""

    script_args: PersonaScriptArguments
    training_args: PersonaSFTConfig
    model_args: ModelConfig
    rows: Dataset
    trainer: SFTTrainer
    peft_config: PeftConfig | None
    num_parameters: int
    parameters_by_part: dict[str, dict[str, int]]
    resume: str | None
    push_to_hub: bool
    command: str
    final_out: Path | None = None  # --output_dir when training into a staging folder
    augment_rows: int = 0  # rows of --augment mixed into `rows`

    @property
    def out(self) -> Path:
        return Path(self.training_args.output_dir)

    @property
    def destination(self) -> Path:
        return self.final_out or self.out


def parse_args(argv: list[str] | None = None
               ) -> tuple[PersonaScriptArguments, PersonaSFTConfig, PersonaModelConfig]:
    parser = TrlParser((PersonaScriptArguments, PersonaSFTConfig, PersonaModelConfig),
                       prog="persona-bench train")
    try:
        return parser.parse_args_and_config(argv)
    except ValueError as err:  # unknown flags, bad --config file, invalid combinations
        raise UserError(f"{err}; see `persona-bench train --help`") from None


def check_numbers(training_args: PersonaSFTConfig) -> None:
    """Counts and rates that would train nothing (and still write a "finished" model)."""
    args = training_args
    if args.num_train_epochs is not None and not args.num_train_epochs > 0:
        raise UserError(f"--num_train_epochs must be positive, got {args.num_train_epochs}")
    if args.max_steps == 0 or args.max_steps < -1:
        raise UserError(f"--max_steps must be positive (or -1: use --num_train_epochs), got "
                        f"{args.max_steps}")
    if args.learning_rate is not None and not args.learning_rate > 0:
        raise UserError(f"--learning_rate must be positive, got {args.learning_rate}")
    for flag in ("per_device_train_batch_size", "gradient_accumulation_steps"):
        if getattr(args, flag) < 1:
            raise UserError(f"--{flag} must be at least 1, got {getattr(args, flag)}")


def check_augment(script_args: PersonaScriptArguments) -> None:
    if script_args.augment is None:
        return
    if script_args.augment not in AUGMENT_CONFIGS:
        raise UserError(f"unknown --augment {script_args.augment!r}; choose one of "
                        f"{', '.join(AUGMENT_CONFIGS)}")
    if not 0 < script_args.augment_ratio <= 1:
        raise UserError(f"--augment_ratio must be in (0, 1], got {script_args.augment_ratio}")


def mix_augmentation(rows: Dataset, script_args: PersonaScriptArguments, seed: int) -> Dataset:
    """The train rows plus `augment_ratio` x as many rows of the `augment` config, drawn
    without replacement with the training seed, shuffled in with the same seed."""
    if script_args.augment is None:
        return rows
    from datasets import concatenate_datasets

    extra = load_rows(script_args.dataset_name, script_args.augment, "train")
    wanted = round(script_args.augment_ratio * len(rows))
    if wanted > len(extra):
        raise UserError(f"--augment_ratio {script_args.augment_ratio} needs {wanted} rows of "
                        f"{script_args.augment}, which has {len(extra)}; lower the ratio or "
                        "regenerate the dataset with more --augment-personas")
    picked = extra.shuffle(seed=seed).select(range(wanted)).cast(rows.features)
    return concatenate_datasets([rows, picked]).shuffle(seed=seed)


def staging_dir(out: Path) -> Path:
    """Where `--overwrite_output_dir` trains; it replaces `out` only once the run finished."""
    return out.with_name(f".{out.name}.overwrite.tmp")


def prepare(script_args: PersonaScriptArguments, training_args: PersonaSFTConfig,
            model_args: ModelConfig, command: str = "",
            trainer_class: Callable[..., SFTTrainer] = SFTTrainer,
            trainer_kwargs: Callable[[Dataset], dict] | None = None,
            transform_rows: Callable[[Dataset], Dataset] | None = None) -> Run:
    """Check the output dir, load data and model, set what is trained, build the trainer.

    `trainer_class` / `trainer_kwargs(rows)`: an `SFTTrainer` subclass and its extra
    arguments (the alignment pretraining of `tiny_vlm` adds a loss this way; unlearning
    methods are such subclasses). `transform_rows`: applied to the loaded split first
    (unlearning keeps the forget modality's rows).
    """
    out = Path(training_args.output_dir)
    if not model_args.model_name_or_path:
        raise UserError("pass --model_name_or_path (a Hub id or a folder, e.g. from "
                        "`persona-bench tiny-vlm --out DIR`)")
    check_numbers(training_args)
    check_augment(script_args)

    # Output directory: never clobber a finished run; resume an interrupted one on request.
    # Replacing one trains into a staging folder: the old run is kept until the new one is
    # saved, so a mistake found later (or a crash) never costs the finished model.
    clear = checkpoints.check_output_dir(out, script_args.overwrite_output_dir,
                                         training_args.resume_from_checkpoint)
    final_out = None
    if clear:
        final_out, staging = out, staging_dir(out)
        with training_args.main_process_first(desc="prepare output_dir"):
            if training_args.process_index == 0 and staging.exists():
                shutil.rmtree(staging)  # the leftover of an interrupted overwrite
        training_args.output_dir = str(staging)
        out = staging
    resume = checkpoints.resolve_resume(out, training_args.resume_from_checkpoint)

    # Data: one modality's train split, as prompt/completion (loss on the answer only).
    rows = load_rows(script_args.dataset_name, script_args.dataset_config,
                     script_args.dataset_train_split)
    if transform_rows is not None:
        rows = transform_rows(rows)
    own = len(rows)
    rows = mix_augmentation(rows, script_args, training_args.seed)

    # Model and what is trained.
    set_seed(training_args.seed)
    model, processor = load_vlm(
        model_args.model_name_or_path, model_args.model_revision, training_args.trust_remote_code,
        dtype=model_args.dtype, attn_implementation=model_args.attn_implementation)
    parts.check_parts(model)
    if processor.chat_template is None and training_args.chat_template_path is None:
        raise UserError(f"the processor of {model_args.model_name_or_path!r} has no chat "
                        "template; use an instruct/chat checkpoint or pass --chat_template_path")
    train = {"vision_tower": script_args.train_vision_tower,
             "projector": script_args.train_projector,
             "language_model": script_args.train_language_model}
    peft_config = lora_config(model, model_args, train) if model_args.use_peft else None
    if peft_config is None:
        if not any(train.values()):
            raise UserError("nothing to train: enable --train_language_model, --train_projector "
                            "or --train_vision_tower")
        parts.set_trainable(model, train)
        parts.freeze_lower_layers(model, script_args.freeze_lm_layers)
    elif script_args.freeze_lm_layers:
        raise UserError("--freeze_lm_layers applies to full fine-tuning; with --use_peft pick "
                        "the adapted layers with --lora_target_modules")
    num_parameters = sum(p.numel() for p in model.parameters())
    if training_args.learning_rate is None:
        training_args.learning_rate = default_learning_rate(num_parameters, model_args.use_peft)
    if training_args.num_train_epochs is None:
        training_args.num_train_epochs = 60.0 if model_args.use_peft else 30.0
    push_to_hub, training_args.push_to_hub = training_args.push_to_hub, False  # pushed at the end

    extra = trainer_kwargs(rows) if trainer_kwargs else {}
    project_answer_positions_on_cpu()
    trainer = trainer_class(model=model, args=training_args,
                            train_dataset=as_prompt_completion(rows), processing_class=processor,
                            peft_config=peft_config, **extra)
    trainer.data_collator = family_of(model).collator(trainer.data_collator, processor)
    return Run(script_args, training_args, model_args, rows, trainer, peft_config, num_parameters,
               parts.parameter_counts(trainer.model), resume, push_to_hub, command, final_out,
               augment_rows=len(rows) - own)


def train(run: Run) -> TrainOutput:
    if run.resume:
        checkpoints.load_weights(run.trainer.model, run.resume)
    try:
        return run.trainer.train(resume_from_checkpoint=run.resume)
    except torch.OutOfMemoryError:
        raise UserError(
            "out of memory at --per_device_train_batch_size "
            f"{run.training_args.per_device_train_batch_size}; lower it and raise "
            "--gradient_accumulation_steps, or add --activation_checkpointing, --bf16, "
            "--use_peft, or more GPUs with trainers/accelerate/fsdp.yaml") from None


def finish(run: Run, result: TrainOutput, extra: dict | None = None) -> None:
    """Save the checkpoint + processor (LoRA merged on request), model card and record
    (`extra`: further record entries, e.g. the unlearning method)."""
    out, args = run.out, run.training_args
    run.trainer.save_model(str(out))
    if args.process_index == 0:
        merged = run.peft_config is not None and run.script_args.merge_lora
        if merged:
            checkpoints.merge_adapter(out)
        if not run.script_args.keep_checkpoints:
            checkpoints.remove_checkpoints(out)
        run.trainer.processing_class.save_pretrained(out)
        entry = run_record(run, merged, result) | (extra or {})
        record.write_record(out, entry)
        if run.final_out is not None:
            checkpoints.replace_dir(out, run.final_out)
            out = run.final_out
        print(f"saved to {out}: loss {entry['train_loss']:.4f} after {entry['global_step']} steps")
        if run.push_to_hub:
            push(out, args)
    run.trainer.accelerator.wait_for_everyone()
    run.trainer.end()


def main(argv: list[str] | None = None, **trainer: Callable) -> int:
    """`trainer`: `trainer_class` / `trainer_kwargs` for `prepare`."""
    command = shlex.join(sys.argv if argv is None else ["persona-bench", "train", *argv])
    script_args, training_args, model_args = parse_args(argv)
    requested = Path(training_args.output_dir)
    try:
        run = prepare(script_args, training_args, model_args, command=command, **trainer)
        finish(run, train(run))
    except BaseException:
        staging = staging_dir(requested)
        if Path(training_args.output_dir) == staging and training_args.process_index == 0:
            shutil.rmtree(staging, ignore_errors=True)  # the old run stays as it was
        raise
    return 0


def is_trained(out: str | Path) -> bool:
    """This stage's "is this step done?": the record is written last, on success only."""
    return (Path(out) / TRAIN_RECORD).is_file()


def train_model(model: str, data: str, config: str, out: str | Path, *,
                seed: int | None = None, extra: Sequence[str] = ()) -> Path:
    """Fine-tune `model` on the train split of `config` into `out`; `extra` are further
    `persona-bench train` flags (TrlParser's arguments). Returns `out`."""
    argv = ["--model_name_or_path", str(model), "--dataset_name", str(data),
            "--dataset_config", config, "--output_dir", str(out),
            *(["--seed", str(seed)] if seed is not None else []), *extra]
    if main(argv):
        raise UserError(f"training failed; see the log above (output: {out})")
    return Path(out)


def _jsonable(value):
    return sorted(value) if isinstance(value, set) else value


def run_record(run: Run, merged: bool, result: TrainOutput) -> dict:
    """Everything needed to reproduce and compare the run (read by the leaderboard)."""
    args, model_args, script_args = run.training_args, run.model_args, run.script_args
    peft, counts, rows = run.peft_config, run.parameters_by_part, run.rows
    hyper = {
        "learning_rate": args.learning_rate,
        "lr_scheduler_type": _name(args.lr_scheduler_type),
        "warmup_steps": args.warmup_steps,
        "num_train_epochs": args.num_train_epochs,
        "max_steps": args.max_steps,
        "per_device_train_batch_size": args.per_device_train_batch_size,
        "gradient_accumulation_steps": args.gradient_accumulation_steps,
        "world_size": args.world_size,
        "effective_batch_size": args.per_device_train_batch_size
        * args.gradient_accumulation_steps * args.world_size,
        "optim": _name(args.optim),
        "weight_decay": args.weight_decay,
        "max_grad_norm": args.max_grad_norm,
        "bf16": args.bf16,
        "activation_checkpointing": args.activation_checkpointing,
        "dtype": model_args.dtype,
        "seed": args.seed,
    }
    if peft is not None:
        hyper |= {"lora_r": peft.r, "lora_alpha": peft.lora_alpha,
                  "lora_dropout": peft.lora_dropout}
    config, base = script_args.dataset_config, model_args.model_name_or_path
    return {
        "base_model": base,
        "base_record": read_train_record(base),
        "dataset": record.dataset_identity(script_args.dataset_name),
        "dataset_config": config,
        "dataset_split": script_args.dataset_train_split,
        "augment": ({"config": script_args.augment, "ratio": script_args.augment_ratio,
                     "rows": run.augment_rows}
                    if script_args.augment else None),
        "num_train_rows": len(rows),
        "source_modality": source_modality(config, rows),
        "target_modality": CONFIGS[config].other if config in CONFIGS else None,
        "training": {
            "method": "lora" if peft is not None else "full",
            "parts": {p: bool(counts[p]["trainable"]) for p in parts.PARTS},
            "lora_target_modules": _jsonable(peft.target_modules) if peft is not None else None,
            "lora_modules_to_save": _jsonable(peft.modules_to_save) if peft is not None else None,
            "merged": merged if peft is not None else None,
        },
        "hyperparameters": hyper,
        "seed": args.seed,
        "num_parameters": run.num_parameters,
        "num_trainable_parameters": sum(c["trainable"] for c in counts.values()),
        "parameters_by_part": counts,
        "global_step": result.global_step,
        "train_loss": result.training_loss,
        "train_runtime_s": result.metrics.get("train_runtime"),
        "device": str(args.device),
        "versions": versions(),
        "command": run.command,
        "output_dir": str(run.destination),
        "script_args": asdict(script_args),
        "model_config": asdict(model_args),
        "sft_config": args.to_dict(),
    }


def _name(value) -> str:
    return str(getattr(value, "value", value))


def versions() -> dict[str, str]:
    import importlib.metadata as md

    return {pkg: md.version(pkg) for pkg in ("persona-bench", "torch", "transformers", "trl",
                                             "peft", "accelerate", "datasets")}


def push(out: Path, args: SFTConfig) -> None:
    """Upload the finished checkpoint folder (not its checkpoints) to the Hub."""
    from huggingface_hub import HfApi

    repo_id = args.hub_model_id or out.name
    api = HfApi(token=args.hub_token)
    api.create_repo(repo_id, private=args.hub_private_repo, exist_ok=True)
    api.upload_folder(repo_id=repo_id, folder_path=out, ignore_patterns=["checkpoint-*", "runs/*"],
                      commit_message="persona-bench train")
    print(f"pushed to https://huggingface.co/{repo_id}")


if __name__ == "__main__":  # python trainers/sft.py / accelerate launch trainers/sft.py
    from persona_bench.cli import main as cli

    sys.exit(cli(["train", *sys.argv[1:]]))
