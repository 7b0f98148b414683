"""The embedded tiny reference VLM: a randomly initialised LLaVA, built offline.

`persona-bench tiny-vlm --out DIR [--size xs|s|m] [--vision siglip|clip] [--text llama|qwen2]`
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
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import (
    CLIPImageProcessor,
    CLIPVisionConfig,
    GenerationConfig,
    LlamaConfig,
    LlavaConfig,
    LlavaForConditionalGeneration,
    LlavaProcessor,
    PreTrainedTokenizerFast,
    Qwen2Config,
    SiglipImageProcessor,
    SiglipVisionConfig,
)

from persona_bench.atomic import atomic_dir, write_text_atomic
from persona_bench.errors import UserError
from trainers.align import AlignConfig

PAD, BOS_TURN, EOS_TURN, IMAGE = "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<image>"

# ChatML. String content or TRL's structured parts ({"type": "image"} / {"type": "text"}).
# The assistant turn and its end-of-turn token sit inside {% generation %} so that TRL's
# assistant-only loss works too (the SFT script uses prompt-completion loss by default).
CHAT_TEMPLATE = (
    "{% macro render(content) %}{% if content is string %}{{ content }}{% else %}"
    "{% for part in content %}{% if part['type'] == 'image' %}" + IMAGE + "\n"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}{% endfor %}"
    "{% endif %}{% endmacro %}"
    "{% for message in messages %}"
    "{{ '" + BOS_TURN + "' + message['role'] + '\n' }}"
    "{% if message['role'] == 'assistant' %}"
    "{% generation %}{{ render(message['content']) }}" + EOS_TURN + "{% endgeneration %}"
    "{% else %}{{ render(message['content']) }}" + EOS_TURN + "{% endif %}{{ '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}" + BOS_TURN + "assistant\n{% endif %}"
)


@dataclass(frozen=True)
class TinySize:
    """Shape of one size preset (parameter counts are for the default SigLIP + Llama)."""

    image_size: int
    patch_size: int
    vision_width: int
    vision_layers: int
    text_width: int
    text_layers: int
    vocab_size: int  # upper bound: the BPE stops earlier when the corpus is small


SIZES: dict[str, TinySize] = {
    "xs": TinySize(64, 8, 128, 2, 256, 4, 2048),  # ~5M
    "s": TinySize(96, 8, 256, 4, 512, 8, 4096),  # ~30M
    "m": TinySize(128, 16, 384, 6, 768, 12, 8192),  # ~110M
    "l": TinySize(224, 16, 768, 12, 1024, 28, 8192),  # ~0.5B: a GPU-sized from-config model
}
VISION = {"siglip": SiglipVisionConfig, "clip": CLIPVisionConfig}
TEXT = {"llama": LlamaConfig, "qwen2": Qwen2Config}


def corpus() -> list[str]:
    """Text the tokenizer is trained on: the persona corpus (names, facts, questions...)."""
    try:
        from persona_gen.corpus import corpus_texts
    except ImportError:  # older persona_gen: build it from the vocabularies
        from persona_gen import vocab

        texts = [*vocab.first_names(), *vocab.last_names(), *vocab.CAPTION_QUESTIONS]
        texts += [v for values in vocab.FACTS.values() for v in values]
        texts += [q for qs in vocab.QUESTIONS.values() for q in qs]
        texts += [v for values in vocab.APPEARANCE.values() for v in values]
        return texts
    return list(corpus_texts())


def train_tokenizer(texts: list[str], vocab_size: int) -> PreTrainedTokenizerFast:
    """Byte-level BPE (any text encodes) with ChatML turn tokens and an image token."""
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[PAD, BOS_TURN, EOS_TURN, IMAGE],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator([*texts, "user", "assistant", "system"], trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        eos_token=EOS_TURN,
        pad_token=PAD,
        extra_special_tokens={"image_token": IMAGE},
        model_max_length=1024,
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def build_config(size: TinySize, vocab_size: int, tokenizer: PreTrainedTokenizerFast,
                 vision: str = "siglip", text: str = "llama") -> LlavaConfig:
    heads = max(2, size.text_width // 64)
    vision_config = VISION[vision](
        image_size=size.image_size,
        patch_size=size.patch_size,
        hidden_size=size.vision_width,
        intermediate_size=4 * size.vision_width,
        num_hidden_layers=size.vision_layers,
        num_attention_heads=max(2, size.vision_width // 64),
    )
    text_config = TEXT[text](
        vocab_size=vocab_size,
        hidden_size=size.text_width,
        intermediate_size=size.text_width * 8 // 3 // 32 * 32,
        num_hidden_layers=size.text_layers,
        num_attention_heads=heads,
        num_key_value_heads=heads,
        max_position_embeddings=1024,
        tie_word_embeddings=False,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
    )
    return LlavaConfig(
        vision_config=vision_config,
        text_config=text_config,
        image_token_id=tokenizer.convert_tokens_to_ids(IMAGE),
        # SigLIP has no CLS token: keep every patch; CLIP: drop the CLS token ("default").
        vision_feature_select_strategy="full" if vision == "siglip" else "default",
        vision_feature_layer=-1,
        tie_word_embeddings=False,
    )


def build_processor(tokenizer: PreTrainedTokenizerFast, size: TinySize,
                    vision: str) -> LlavaProcessor:
    square = {"height": size.image_size, "width": size.image_size}
    if vision == "siglip":
        image_processor = SiglipImageProcessor(size=square)
    else:
        image_processor = CLIPImageProcessor(size={"shortest_edge": size.image_size},
                                             crop_size=square)
    return LlavaProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        patch_size=size.patch_size,
        vision_feature_select_strategy="full" if vision == "siglip" else "default",
        num_additional_image_tokens=0 if vision == "siglip" else 1,
        chat_template=CHAT_TEMPLATE,
    )


def preset_for(size: str, patch_size: int | None = None) -> TinySize:
    """The size preset, with its patch size (hence the image-token count) overridden."""
    preset = SIZES[size]
    if patch_size is None:
        return preset
    if patch_size < 1 or preset.image_size % patch_size:
        raise UserError(f"--patch_size must divide the {size} image size {preset.image_size} "
                        f"(got {patch_size}); try 8, 16 or 32")
    return replace(preset, patch_size=patch_size)


def build(size: str = "xs", vision: str = "siglip", text: str = "llama", seed: int = 0,
          patch_size: int | None = None) -> tuple[LlavaForConditionalGeneration, LlavaProcessor]:
    """A randomly initialised tiny LLaVA and its processor (deterministic for `seed`)."""
    preset = preset_for(size, patch_size)
    tokenizer = train_tokenizer(corpus(), preset.vocab_size)
    config = build_config(preset, len(tokenizer), tokenizer, vision, text)
    torch.manual_seed(seed)
    model = LlavaForConditionalGeneration(config)
    model.generation_config = GenerationConfig(
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        do_sample=False,
        max_new_tokens=32,
    )
    return model, build_processor(tokenizer, preset, vision)


def save(model: LlavaForConditionalGeneration, processor: LlavaProcessor, out: Path,
         spec: dict, overwrite: bool) -> None:
    """Write the checkpoint whole (or not at all), with a `persona_train.json` build record."""
    try:
        with atomic_dir(out, overwrite=overwrite) as tmp:
            model.save_pretrained(tmp)
            processor.save_pretrained(tmp)
            write_text_atomic(tmp / "persona_train.json", json.dumps(spec, indent=2) + "\n")
    except FileExistsError:
        raise UserError(f"{out} already exists; pass --overwrite to replace it") from None


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="persona-bench tiny-vlm",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, type=Path, help="checkpoint folder to write")
    parser.add_argument("--size", choices=SIZES, default="xs",
                        help="xs ~5M, s ~30M, m ~110M, l ~0.5B parameters (l: GPU only)")
    parser.add_argument("--vision", choices=VISION, default="siglip", help="vision tower family")
    parser.add_argument("--text", choices=TEXT, default="llama", help="language model family")
    parser.add_argument("--seed", type=int, default=0, help="weight-initialisation seed")
    parser.add_argument("--patch_size", type=int, default=None,
                        help="vision patch size (default: the preset's); larger means fewer, "
                        "coarser image tokens: (image size / patch size) squared")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    parser.add_argument("--pretrain", action="store_true",
                        help="align vision and text on the dataset's disjoint `pretrain` pool")
    parser.add_argument("--data", help="dataset folder or Hub id (needed with --pretrain)")
    parser.add_argument("--pretrain_steps", type=int, default=None,
                        help="optimizer steps of the alignment stage "
                        "(default: 600 on CPU, 3000 on GPU)")
    parser.add_argument("--align_weight", type=float, default=0.0,
                        help="weight of the cross-modal alignment loss added to the alignment "
                        "stage (trainers/align.py; 0: SFT only)")
    parser.add_argument("--align_personas", type=int, default=AlignConfig.personas,
                        help="pool personas per alignment batch (the InfoNCE negatives)")
    parser.add_argument("--align_temperature", type=float, default=AlignConfig.temperature,
                        help="softmax temperature of the alignment loss")
    parser.add_argument("--pretrain_args", default="",
                        help="extra trainers/sft.py arguments for the alignment stage, one string")
    return parser.parse_args(argv)


def align_config(args: argparse.Namespace) -> AlignConfig:
    if args.align_weight < 0 or args.align_personas < 2 or args.align_temperature <= 0:
        raise UserError("--align_weight must be >= 0, --align_personas >= 2 and "
                        "--align_temperature > 0")
    return AlignConfig(args.align_weight, args.align_personas, args.align_temperature)


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
    model, processor = build(args.size, args.vision, args.text, args.seed, args.patch_size)
    spec = {
        "stage": "init",
        "builder": "persona-bench tiny-vlm",
        "architecture": "llava",
        **{k: getattr(args, k) for k in ("size", "vision", "text", "seed")},
        "preset": asdict(preset_for(args.size, args.patch_size)),
        "vocab_size": len(processor.tokenizer),
        "align": asdict(align_config(args)) if args.pretrain and args.align_weight else None,
        "num_parameters": sum(p.numel() for p in model.parameters()),
        "command": shlex.join(["persona-bench", "tiny-vlm",
                               *(sys.argv[1:] if argv is None else argv)]),
    }
    if not args.pretrain:
        save(model, processor, args.out, spec, overwrite=args.overwrite)
        print(f"tiny VLM ({spec['num_parameters'] / 1e6:.1f}M parameters) written to {args.out}")
        return 0

    from trainers import sft  # the same SFT code path as every experiment

    init_dir = args.out.with_name(f".{args.out.name}.init")
    save(model, processor, init_dir, spec, overwrite=True)
    trainer = {}
    if args.align_weight:
        from trainers.align import AlignSFTTrainer

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
