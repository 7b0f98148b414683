"""What a VLM family declares: how to build a tiny one offline, and its quirks.

One `Family` subclass per architecture (one module each in this package). The rest of the
code asks the family of a checkpoint (`persona_bench.families.family_of`) instead of testing
model types: which parameters are the vision tower / projector / language model (the
freeze switches and LoRA targets), whether text-only prompts work, and how the embedded
tiny checkpoint is built (config, processor, the family's own special tokens, chat template).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from torch import nn
    from transformers import PreTrainedConfig, PreTrainedTokenizerFast, ProcessorMixin

PAD, BOS_TURN, EOS_TURN = "<|endoftext|>", "<|im_start|>", "<|im_end|>"
# Projection layers of common decoders, the default LoRA targets of the language model.
LORA_LAYERS = ("q_proj", "k_proj", "v_proj", "o_proj", "qkv_proj", "gate_proj", "up_proj",
               "gate_up_proj", "down_proj")


def chatml_template(image_text: str) -> str:
    """ChatML; an image part renders as `image_text` (the family's placeholder).

    String content or TRL's structured parts ({"type": "image"} / {"type": "text"}). The
    assistant turn and its end-of-turn token sit inside {% generation %} so that TRL's
    assistant-only loss works too (the SFT script uses prompt-completion loss by default).
    """
    return (
        "{% macro render(content) %}{% if content is string %}{{ content }}{% else %}"
        "{% for part in content %}{% if part['type'] == 'image' %}" + image_text +
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
    """Shape of one size preset (parameter counts are for the default LLaVA)."""

    image_size: int
    patch_size: int
    vision_width: int
    vision_layers: int
    text_width: int
    text_layers: int
    vocab_size: int  # upper bound: the BPE stops earlier when the corpus is small

    @property
    def text_heads(self) -> int:
        return max(2, self.text_width // 64)

    @property
    def vision_heads(self) -> int:
        return max(2, self.vision_width // 64)

    @property
    def text_intermediate(self) -> int:
        return self.text_width * 8 // 3 // 32 * 32


@dataclass(frozen=True)
class Tokens:
    """The special tokens a family's tokenizer needs (beyond ChatML's pad and turn markers).

    `specials` become single tokens; `named` sets tokenizer attributes such as
    `image_token` that the family's processor reads (`tokenizer.image_token_id` ...).
    """

    specials: tuple[str, ...]
    named: dict[str, str] = field(default_factory=dict)


class Family:
    """Base class: LLaVA-like defaults; subclasses override what differs."""

    name: ClassVar[str]
    model_types: ClassVar[tuple[str, ...]]  # `config.model_type` values this family covers
    summary: ClassVar[str]  # one README line: what the tiny build uses / what it needs
    # Module-path components that mark the projector / the vision tower; the rest is the
    # language model (embeddings and lm_head included).
    projector_keys: ClassVar[tuple[str, ...]] = ("multi_modal_projector",)
    vision_keys: ClassVar[tuple[str, ...]] = ("vision_tower",)
    text_only: ClassVar[bool] = True  # answers prompts without an image
    tokens: ClassVar[Tokens]
    image_text: ClassVar[str]  # what the tiny chat template writes for one image
    options: ClassVar[dict[str, tuple[str, ...]]] = {}  # tiny-build choices (name -> values)
    # Score candidate answers by sharing the prompt's KV cache (None: check it on first use;
    # False where position ids depend on the whole sequence, e.g. multimodal RoPE).
    prefix_sharing: ClassVar[bool | None] = None
    buildable: ClassVar[bool] = True  # has a tiny offline build (and is in the test matrix)

    # -- parts -------------------------------------------------------------------------
    def part_of(self, name: str) -> str:
        """The part (vision_tower / projector / language_model) a parameter path is in."""
        components = set(name.split("."))
        if components.intersection(self.projector_keys):
            return "projector"
        if components.intersection(self.vision_keys):
            return "vision_tower"
        return "language_model"

    def lora_targets(self, model: nn.Module) -> str:
        """Regex (PEFT full-match) over the language model's linear layers.

        The usual attention/MLP projections when the decoder has them, else every linear
        layer of the language model except the output head.
        """
        from torch.nn import Linear

        linear = [name for name, m in model.named_modules()
                  if isinstance(m, Linear) and self.part_of(name) == "language_model"]
        leaves = {name.rsplit(".", 1)[-1] for name in linear} - {"lm_head"}
        chosen = sorted(leaves.intersection(LORA_LAYERS) or leaves)
        excluded = "|".join(map(re.escape, self.projector_keys + self.vision_keys))
        return rf"^(?!(?:.*\.)?(?:{excluded})\.).*\.(?:{'|'.join(chosen)})$"

    # -- the tiny build ----------------------------------------------------------------
    def chat_template(self) -> str:
        return chatml_template(self.image_text)

    def build_config(self, size: TinySize, tokenizer: PreTrainedTokenizerFast,
                     **options: str) -> PreTrainedConfig:
        raise NotImplementedError

    def build_processor(self, tokenizer: PreTrainedTokenizerFast, size: TinySize,
                        **options: str) -> ProcessorMixin:
        raise NotImplementedError

    def text_kwargs(self, size: TinySize, tokenizer: PreTrainedTokenizerFast) -> dict:
        """Decoder settings every family shares (sizes, special token ids, untied head)."""
        return dict(
            vocab_size=len(tokenizer),
            hidden_size=size.text_width,
            intermediate_size=size.text_intermediate,
            num_hidden_layers=size.text_layers,
            num_attention_heads=size.text_heads,
            num_key_value_heads=size.text_heads,
            max_position_embeddings=1024,
            tie_word_embeddings=False,
            pad_token_id=tokenizer.pad_token_id,
            eos_token_id=tokenizer.eos_token_id,
            bos_token_id=None,
        )

    def init_weights(self, model: nn.Module) -> None:
        """Adjust a freshly initialised tiny model where the family's default init is inert."""

    def collator(self, collate: Callable, processor: ProcessorMixin) -> Callable:
        """The SFT batch collator (TRL's), adapted where the family needs more than it does."""
        return collate

    def token_id(self, tokenizer: PreTrainedTokenizerFast, token: str) -> int:
        return tokenizer.convert_tokens_to_ids(token)
