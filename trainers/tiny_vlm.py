"""The embedded tiny reference VLM: a randomly initialised VLM of a supported family, built offline.

`persona-bench tiny-vlm --out DIR [--family NAME] [--size xs|s|m|l]` (LLaVA, the default, also
takes `[--vision siglip|clip] [--text llama|qwen2]`)
writes a standard checkpoint (model, byte-level BPE tokenizer trained on the persona corpus,
image processor, processor, chat template) that `AutoModelForImageTextToText` and
`AutoProcessor` load. `--pretrain --data DATA_DIR` then gives it "eyes": an alignment stage
on the dataset's `pretrain` config (a persona pool disjoint from the targets), run through
the ordinary SFT script `trainers/sft.py`.
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import sys
from dataclasses import asdict, replace
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import (
    AutoModelForImageTextToText,
    GenerationConfig,
    LlavaConfig,
    PreTrainedModel,
    PreTrainedTokenizerFast,
    ProcessorMixin,
)

from persona_bench.atomic import atomic_dir, write_text_atomic
from persona_bench.contracts import TRAIN_RECORD
from persona_bench.errors import UserError
from persona_bench.families import DEFAULT, FAMILIES, Family, TinySize, Tokens
from persona_bench.families.base import BOS_TURN, EOS_TURN, PAD
from persona_bench.families.llava import IMAGE, TEXT, VISION
from persona_bench.trainers.align import AlignConfig

__all__ = ["BOS_TURN", "CHAT_TEMPLATE", "EOS_TURN", "IMAGE", "PAD", "SIZES", "TEXT", "VISION",
           "TinySize", "build", "main"]

CHAT_TEMPLATE = FAMILIES[DEFAULT].chat_template()

SIZES: dict[str, TinySize] = {
    "xs": TinySize(64, 8, 128, 2, 256, 4, 2048),  # ~5M
    "s": TinySize(96, 8, 256, 4, 512, 8, 4096),  # ~30M
    "m": TinySize(128, 16, 384, 6, 768, 12, 8192),  # ~110M
    "l": TinySize(224, 16, 768, 12, 1024, 28, 8192),  # ~0.5B: a GPU-sized from-config model
}


def corpus() -> list[str]:
    """Text the tokenizer is trained on: the persona corpus (names, facts, questions...)."""
    try:
        from persona_bench.persona_gen.corpus import corpus_texts
    except ImportError:  # older persona_gen: build it from the vocabularies
        import persona_bench.persona_gen.vocab as vocab

        texts = [*vocab.first_names(), *vocab.last_names(), *vocab.CAPTION_QUESTIONS]
        texts += [v for values in vocab.FACTS.values() for v in values]
        texts += [q for qs in vocab.QUESTIONS.values() for q in qs]
        texts += [v for values in vocab.APPEARANCE.values() for v in values]
        return texts
    return list(corpus_texts())


def train_tokenizer(texts: list[str], vocab_size: int,
                    tokens: Tokens = FAMILIES[DEFAULT].tokens,
                    chat_template: str = CHAT_TEMPLATE,
                    word_tokens: bool = True) -> PreTrainedTokenizerFast:
    """Byte-level BPE (any text encodes) with ChatML turn tokens and the family's tokens.

    Every line and every piece between special tokens gets a leading space before BPE, so a
    word has one token sequence wherever it stands: an answer opening the assistant turn
    (`\nblue`) is the ` blue` of the descriptions, not `b`, `l`, `ue` (bare words are rare in
    the corpus and BPE never merges them). Without this the first answer token is a letter
    shared by many answers, and the model answers `b...` whatever is asked (docs/findings.md).
    `word_tokens=False` is the earlier plain byte-level BPE, kept to reproduce that finding.
    """
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split("\n", behavior="merged_with_previous"),
        pre_tokenizers.ByteLevel(add_prefix_space=True),
    ]) if word_tokens else pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[PAD, BOS_TURN, EOS_TURN, *tokens.specials],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator([*texts, "user", "assistant", "system"], trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        eos_token=EOS_TURN,
        pad_token=PAD,
        extra_special_tokens=dict(tokens.named),
        model_max_length=1024,
    )
    tokenizer.chat_template = chat_template
    return tokenizer


def build_config(size: TinySize, vocab_size: int, tokenizer: PreTrainedTokenizerFast,
                 vision: str = "siglip", text: str = "llama") -> LlavaConfig:
    """The LLaVA config (kept for callers of the single-family API)."""
    return FAMILIES[DEFAULT].build_config(size, tokenizer, vision=vision, text=text)


def family_options(family: Family, vision: str | None, text: str | None) -> dict[str, str]:
    """`--vision` / `--text` for the families that have such choices (LLaVA), else refused."""
    given = {k: v for k, v in (("vision", vision), ("text", text)) if v is not None}
    unknown = sorted(set(given) - set(family.options))
    if unknown:
        raise UserError(f"--{unknown[0]} applies to --family llava only; the {family.name} "
                        "family has fixed parts")
    for key, value in given.items():
        if value not in family.options[key]:
            raise UserError(f"--{key} {value!r}: choose one of {', '.join(family.options[key])}")
    return {key: given.get(key, values[0]) for key, values in family.options.items()}


def preset_for(size: str, patch_size: int | None = None) -> TinySize:
    """The size preset, with its patch size (hence the image-token count) overridden."""
    preset = SIZES[size]
    if patch_size is None:
        return preset
    if patch_size < 1 or preset.image_size % patch_size:
        raise UserError(f"--patch-size must divide the {size} image size {preset.image_size} "
                        f"(got {patch_size}); try 8, 16 or 32")
    return replace(preset, patch_size=patch_size)


def build(size: str = "xs", vision: str | None = None, text: str | None = None, seed: int = 0,
          family: str = DEFAULT, patch_size: int | None = None, word_tokens: bool = True
          ) -> tuple[PreTrainedModel, ProcessorMixin]:
    """A randomly initialised tiny VLM of `family` and its processor (deterministic for `seed`)."""
    preset, fam = preset_for(size, patch_size), FAMILIES[family]
    options = family_options(fam, vision, text)
    tokenizer = train_tokenizer(corpus(), preset.vocab_size, fam.tokens, fam.chat_template(),
                                word_tokens)
    config = fam.build_config(preset, tokenizer, **options)
    processor = fam.build_processor(tokenizer, preset, **options)
    torch.manual_seed(seed)
    model = AutoModelForImageTextToText._model_mapping[type(config)](config)
    fam.init_weights(model)
    # No max_new_tokens here: every caller passes its own, and a stored one overrides the
    # `max_length` that lm-eval passes (its max_gen_toks ignored, a warning per request).
    model.generation_config = GenerationConfig(
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        do_sample=False,
    )
    return model, processor


def save(model: PreTrainedModel, processor: ProcessorMixin, out: Path,
         spec: dict, overwrite: bool) -> None:
    """Write the checkpoint whole (or not at all), with a `persona_train.json` build record."""
    try:
        with atomic_dir(out, overwrite=overwrite) as tmp:
            model.save_pretrained(tmp)
            processor.save_pretrained(tmp)
            write_text_atomic(tmp / TRAIN_RECORD, json.dumps(spec, indent=2) + "\n")
    except FileExistsError:
        raise UserError(f"{out} already exists; pass --overwrite to replace it") from None


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    from persona_bench.trainers.cli import tiny_vlm_parser  # light: `--help` answers without torch

    return tiny_vlm_parser().parse_args(argv)


def align_config(args: argparse.Namespace) -> AlignConfig:
    if (args.align_weight < 0 or args.align_personas < 2 or args.align_temperature <= 0
            or args.align_layers < 0 or args.align_after < 0):
        raise UserError("--align_weight must be >= 0, --align_personas >= 2, "
                        "--align_temperature > 0, --align_layers >= 0 and --align_after >= 0")
    return AlignConfig(args.align_weight, args.align_personas, args.align_temperature,
                       args.align_question, args.align_centre, args.align_layers,
                       args.align_after)


def pretrain_argv(args: argparse.Namespace, init_dir: Path) -> list[str]:
    """The `trainers/sft.py` command line of the alignment stage: full training, every part."""
    steps = args.pretrain_steps or (3000 if torch.cuda.is_available() else 600)
    return [
        "--model_name_or_path", str(init_dir),
        "--dataset_name", args.data,
        "--dataset_config", "pretrain",
        "--output_dir", str(args.out),
        "--max_steps", str(steps),
        "--train_vision_tower", "true",
        "--train_projector", "true",
        "--train_language_model", "true",
        "--seed", str(args.seed),
        *(["--overwrite_output_dir"] if args.overwrite else []),
        *args.pretrain_args.split(),
    ]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.pretrain and not args.data:
        raise UserError("--pretrain needs --data DATA_DIR (a dataset with a `pretrain` config)")
    if args.out.exists() and not args.overwrite:
        raise UserError(f"{args.out} already exists; pass --overwrite to replace it")
    family = FAMILIES[args.family]
    options = family_options(family, args.vision, args.text)
    model, processor = build(args.size, args.vision, args.text, args.seed, args.family,
                             args.patch_size, args.word_tokens)
    spec = {
        "stage": "init",
        "builder": "persona-bench tiny-vlm",
        "architecture": family.name,
        "size": args.size,
        **options,
        "seed": args.seed,
        "preset": asdict(preset_for(args.size, args.patch_size)),
        "vocab_size": len(processor.tokenizer),
        "word_tokens": args.word_tokens,
        "align": asdict(align_config(args)) if args.pretrain and args.align_weight else None,
        "num_parameters": sum(p.numel() for p in model.parameters()),
        "command": shlex.join(["persona-bench", "tiny-vlm",
                               *(sys.argv[1:] if argv is None else argv)]),
    }
    if not args.pretrain:
        save(model, processor, args.out, spec, overwrite=args.overwrite)
        print(f"tiny VLM ({spec['num_parameters'] / 1e6:.1f}M parameters) written to {args.out}")
        return 0

    from persona_bench.trainers import sft  # the same SFT code path as every experiment

    init_dir = args.out.with_name(f".{args.out.name}.init")
    save(model, processor, init_dir, spec, overwrite=True)
    from persona_bench.trainers.modality_split import SplitSFTTrainer

    trainer = {"trainer_class": SplitSFTTrainer}  # the pool mixes image and text rows
    if args.align_weight:
        from persona_bench.trainers.align import AlignSFTTrainer

        config = align_config(args)
        trainer = {"trainer_class": AlignSFTTrainer,
                   "trainer_kwargs": lambda rows: {"align_rows": rows, "align": config,
                                                   "seed": args.seed}}
    try:
        return sft.main(pretrain_argv(args, init_dir), **trainer)
    finally:
        shutil.rmtree(init_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
