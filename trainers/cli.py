"""Command lines of the training stage that answer `--help` without importing torch.

- `persona-bench tiny-vlm`: its parser lives here (`tiny_vlm_parser`); the builder
  (`persona_bench.trainers.tiny_vlm`, torch + transformers) is imported only to do the work.
- `persona-bench train` and `persona-bench unlearn`: the options are TRL's
  `SFTConfig`/`ModelConfig` plus ours, and building that parser imports torch (seconds).
  `--help` prints `train_help.txt` / `unlearn_help.txt`, the real parser's output saved
  with the versions and the source hash it came from; when any of them differs from what
  is installed, the real parser prints it instead.
  Regenerate with ``python -m persona_bench.trainers.cli --write-train-help`` (a test checks it).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata as md
import io
import os
import sys
from contextlib import redirect_stdout
from pathlib import Path

from persona_bench.argparsing import ArgumentParser
from persona_bench.checks import positive_int

# Mirrors of the keys of trainers.tiny_vlm.SIZES / VISION / TEXT and families.BUILDABLE
# (tests/test_trainers_cli.py checks that they agree): those modules import torch.
SIZE_HELP = {"xs": "~5M", "s": "~30M", "m": "~110M", "l": "~0.5B (GPU only)"}
VISION_NAMES = ("siglip", "clip")
TEXT_NAMES = ("llama", "qwen2")
ALIGN_PERSONAS, ALIGN_TEMPERATURE = 8, 0.1  # persona_bench.trainers.align.AlignConfig's defaults
ALIGN_QUESTIONS = ("own", "shared", "none", "person")  # what the alignment states are read after
FAMILY_NAMES = ("llava", "qwen2_5_vl", "qwen3_vl", "idefics3", "gemma3", "llava_onevision",
                "mllama", "glm4v")
DEFAULT_FAMILY = "llava"

# Commands whose parser is TRL's (imports torch): name -> (saved help file, the sources whose
# text shapes it, the module whose `parse_args(["--help"])` prints it).
SAVED_HELP: dict[str, tuple[str, tuple[str, ...], str]] = {
    "train": ("train_help.txt", ("sft.py",), "sft"),
    "unlearn": ("unlearn_help.txt", ("sft.py", "unlearn.py"), "unlearn"),
}
HELP_PACKAGES = ("trl", "transformers")
HELP_COLUMNS = "100"  # argparse wraps to $COLUMNS: fixed so the saved text is stable


def tiny_vlm_parser() -> ArgumentParser:
    parser = ArgumentParser(prog="persona-bench tiny-vlm",
                            description="The embedded tiny reference VLM: a randomly initialised "
                            "LLaVA, built offline.")
    parser.add_argument("--out", required=True, type=Path, help="checkpoint folder to write")
    parser.add_argument("--size", choices=tuple(SIZE_HELP), default="xs",
                        help=", ".join(f"{k} {v}" for k, v in SIZE_HELP.items()) + " parameters")
    parser.add_argument("--family", choices=FAMILY_NAMES, default=DEFAULT_FAMILY,
                        help="architecture (see the README's table of supported families)")
    parser.add_argument("--vision", choices=VISION_NAMES, default=None,
                        help="vision tower of --family llava (default siglip)")
    parser.add_argument("--text", choices=TEXT_NAMES, default=None,
                        help="language model of --family llava (default llama)")
    parser.add_argument("--seed", type=int, default=0, help="weight-initialisation seed")
    parser.add_argument("--patch-size", type=positive_int("--patch-size"), default=None,
                        help="vision patch size (default: the preset's); larger means fewer, "
                        "coarser image tokens: (image size / patch size) squared")
    parser.add_argument("--word-tokens", action=argparse.BooleanOptionalAction, default=True,
                        help="tokenize a word the same at the start of a line or answer as "
                        "inside a sentence (--no-word-tokens: the earlier plain byte-level BPE)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    parser.add_argument("--pretrain", action="store_true",
                        help="align vision and text on the dataset's disjoint `pretrain` pool")
    parser.add_argument("--data", help="dataset folder or Hub id (needed with --pretrain)")
    parser.add_argument("--pretrain-steps", type=positive_int("--pretrain-steps"), default=None,
                        help="optimizer steps of the alignment stage "
                        "(default: 600 on CPU, 3000 on GPU)")
    parser.add_argument("--align-weight", type=float, default=0.0,
                        help="weight of the cross-modal alignment loss added to the alignment "
                        "stage (trainers/align.py; 0: SFT only)")
    parser.add_argument("--align-personas", type=int, default=ALIGN_PERSONAS,
                        help="pool personas per alignment batch (the InfoNCE negatives)")
    parser.add_argument("--align-temperature", type=float, default=ALIGN_TEMPERATURE,
                        help="softmax temperature of the alignment loss")
    parser.add_argument("--align-question", choices=ALIGN_QUESTIONS, default="own",
                        help="own: each side keeps its row's question; shared: one fact "
                        "question per step on both sides; none: the person alone, no "
                        "question; person: the last token of the person, before its "
                        "question (trainers/align.py)")
    parser.add_argument("--align-centre", action="store_true",
                        help="centre the states per modality over the alignment batch first")
    parser.add_argument("--align-layers", type=int, default=0,
                        help="align the outputs of the first N language-model layers (0: all)")
    parser.add_argument("--align-after", type=int, default=0,
                        help="SFT-only steps before the alignment loss is switched on (two "
                        "phases; 0: aligned from the first step)")
    parser.add_argument("--pretrain-args", default="",
                        help="extra trainers/sft.py arguments for the alignment stage, one string")
    return parser


def tiny_vlm_main(argv: list[str]) -> int:
    tiny_vlm_parser().parse_args(argv)  # --help and bad flags end here, before torch
    from persona_bench.trainers import tiny_vlm

    return tiny_vlm.main(argv)


def help_stamp(command: str = "train") -> str:
    """The first line of a saved help file: what the saved text depends on."""
    here = Path(__file__).parent
    sources = hashlib.sha256(b"".join((here / name).read_bytes()
                                      for name in SAVED_HELP[command][1]))
    versions = ", ".join(f"{pkg} {md.version(pkg)}" for pkg in HELP_PACKAGES)
    return f"# persona-bench {command} --help: {versions}, sources {sources.hexdigest()[:16]}"


def live_help(command: str = "train") -> str:
    """What the real parser prints for `--help` (imports torch), at HELP_COLUMNS wide."""
    import importlib

    module = importlib.import_module(f"persona_bench.trainers.{SAVED_HELP[command][2]}")
    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = HELP_COLUMNS
    buffer = io.StringIO()
    try:
        with redirect_stdout(buffer):
            module.parse_args(["--help"])
    except SystemExit:
        pass
    finally:
        if saved is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = saved
    return buffer.getvalue()


def help_file(command: str) -> Path:
    return Path(__file__).with_name(SAVED_HELP[command][0])


def saved_help(command: str = "train") -> str | None:
    """The saved help text, or None when it is missing or was made from other versions."""
    path = help_file(command)
    if not path.is_file():
        return None
    stamp, _, text = path.read_text("utf-8").partition("\n")
    return text if stamp == help_stamp(command) else None


def write_saved_help() -> list[Path]:
    from persona_bench.atomic import write_text_atomic

    for command in SAVED_HELP:
        write_text_atomic(help_file(command), help_stamp(command) + "\n" + live_help(command))
    return [help_file(command) for command in SAVED_HELP]


def _with_saved_help(command: str, argv: list[str]) -> bool:
    """Print the saved `--help` when asked and current; True when it was printed."""
    if any(a in ("-h", "--help") for a in argv):
        saved = saved_help(command)
        if saved is not None:
            sys.stdout.write(saved)
            return True
    return False


def train_main(argv: list[str]) -> int:
    if _with_saved_help("train", argv):
        return 0
    from persona_bench.trainers import sft

    return sft.main(argv)


def unlearn_main(argv: list[str]) -> int:
    if _with_saved_help("unlearn", argv):
        return 0
    from persona_bench.trainers import unlearn

    return unlearn.main(argv)


if __name__ == "__main__":
    if sys.argv[1:] == ["--write-train-help"]:
        print("wrote " + ", ".join(map(str, write_saved_help())))
        sys.exit(0)
    sys.exit(f"usage: python -m persona_bench.trainers.cli --write-train-help (got {sys.argv[1:]})")
