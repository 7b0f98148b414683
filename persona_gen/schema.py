"""The dataset contract: configs, splits and columns that every later stage reads.

Question configs (every experiment's configs, e.g. `img2text`, `text2img`, `multihop_image`,
and `pretrain`) share `QA_FEATURES`:

- `id`          unique within its split, e.g. ``p0007-birth_city-image-v3-t5``
- `persona_id`  ``p0000`` .. (target personas) or ``q0000`` .. (disjoint pretrain pool)
- `fact`        one of `vocab.ALL_FACTS` (or ``description`` for pretrain captions)
- `modality`    ``image`` (portrait + question) or ``text`` (description + question)
- `variant`     image variant (image rows) or description paraphrase (text rows)
- `template`    index of the question template in `vocab.QUESTIONS[fact]`
- `question`    the full user prompt text (text rows include the description)
- `answer`      the gold answer string
- `images`      list of portraits: one for image rows, empty for text rows
- `messages`    ``[{"role": "user", ...}, {"role": "assistant", ...}]`` (TRL format)

`img2text_sft` / `text2img_sft` (split `train`): the same train rows as `id, images,
prompt, completion` (TRL's conversational prompt/completion: loss on the answer only).

Splits of `img2text` (the mirror for `text2img`, with the modalities swapped):
`train` (image rows: training variants x training templates), `test_source` (image rows:
held-out variant and templates), `test_target` (text rows: held-out paraphrase, same
held-out template as the paired source row), `seen` (one training row per persona/fact).
`multihop_image` / `multihop_text` (opt-in: `gen --experiments transfer multihop`): `train`
(hop 1, the name, from the portrait / description, plus hop 2, each fact asked by name in
text), `test_composed_image` / `test_composed_text` (the fact from a held-out portrait /
description, no name), `test_hop1_image` / `test_hop1_text` (the name alone), `test_hop2`
(the fact by name, held-out template).
`pretrain` has one split, `train`, over the disjoint pool. `personas` has one split,
`train`, one row per target persona (`PERSONA_FEATURES`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from persona_bench.contracts import MODALITIES  # noqa: F401 - re-exported for the stage
from persona_bench.experiments import AUGMENT_CONFIGS, CONFIGS
from persona_bench.experiments import DIRECTIONS as EXPERIMENT_DIRECTIONS
from persona_bench.persona_gen.vocab import APPEARANCE, FACTS

if TYPE_CHECKING:
    from datasets import Features

# The configs and splits come from the experiment registry (persona_bench.experiments):
# each experiment's configs, plus the shared `pretrain` pool and `personas` table.
DIRECTIONS = EXPERIMENT_DIRECTIONS  # the transfer directions: name -> (source, target)
QA_SPLITS = CONFIGS[next(iter(DIRECTIONS))].splits  # every transfer direction writes these
# `<config>_sft`: a config's train split again, as TRL's conversational prompt/completion
# columns, so that `trl sft --dataset_config img2text_sft` puts the loss on the answer only
# (TRL's default for prompt/completion data), the benchmark's recipe.
SFT_CONFIGS = {f"{name}_sft": name for name, config in CONFIGS.items() if config.sft}
CONFIG_SPLITS: dict[str, tuple[str, ...]] = {
    **{name: tuple(dict.fromkeys(s for c in CONFIGS.values() if c.dataset_config == name
                                 for s in c.splits))
       for name in dict.fromkeys(c.dataset_config for c in CONFIGS.values())},
    **{name: ("train",) for name in AUGMENT_CONFIGS},
    "pretrain": ("train",),
    "personas": ("train",),
    **{config: ("train",) for config in SFT_CONFIGS},
}


def _features() -> dict[str, Features]:
    """The column types, built on first use: importing `datasets` costs about a second,
    which `--help` and the leaderboard must not pay."""
    from datasets import Features, Image, List, Value

    turns = List({"role": Value("string"), "content": Value("string")})
    qa = Features(
        {
            "id": Value("string"),
            "persona_id": Value("string"),
            "fact": Value("string"),
            "modality": Value("string"),
            "variant": Value("int32"),
            "template": Value("int32"),
            "question": Value("string"),
            "answer": Value("string"),
            "images": List(Image()),
            "messages": turns,
        }
    )
    sft = Features(
        {"id": Value("string"), "images": List(Image()), "prompt": turns, "completion": turns}
    )
    persona = Features(
        {
            "persona_id": Value("string"),
            "name": Value("string"),
            "appearance": {key: Value("string") for key in APPEARANCE},
            "facts": {key: Value("string") for key in ("name", *FACTS)},
            "descriptions": List(Value("string")),
            "images": List(Image()),
        }
    )
    return {"QA_FEATURES": qa, "SFT_FEATURES": sft, "PERSONA_FEATURES": persona}


_FEATURES: dict[str, Features] = {}


def __getattr__(name: str) -> Any:  # QA_FEATURES, SFT_FEATURES, PERSONA_FEATURES, built lazily
    if name in ("QA_FEATURES", "SFT_FEATURES", "PERSONA_FEATURES"):
        if not _FEATURES:
            _FEATURES.update(_features())
        return _FEATURES[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def features_for(config: str) -> Features:
    if config in SFT_CONFIGS:
        return __getattr__("SFT_FEATURES")
    return __getattr__("PERSONA_FEATURES" if config == "personas" else "QA_FEATURES")
