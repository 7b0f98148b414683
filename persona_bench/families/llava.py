"""LLaVA (`llava`): vision tower (SigLIP or CLIP) + MLP projector + decoder (Llama or Qwen2).

The default family of `persona-bench tiny-vlm`; `--vision` / `--text` pick its parts.
"""

from __future__ import annotations

from typing import ClassVar

from transformers import (
    CLIPImageProcessor,
    CLIPVisionConfig,
    LlamaConfig,
    LlavaConfig,
    LlavaProcessor,
    Qwen2Config,
    SiglipImageProcessor,
    SiglipVisionConfig,
)

from persona_bench.families.base import Family, TinySize, Tokens

IMAGE = "<image>"
VISION = {"siglip": SiglipVisionConfig, "clip": CLIPVisionConfig}
TEXT = {"llama": LlamaConfig, "qwen2": Qwen2Config}


class Llava(Family):
    name = "llava"
    model_types = ("llava",)
    summary = "SigLIP or CLIP tower, MLP projector, Llama or Qwen2 decoder; `<image>` token"
    tokens = Tokens((IMAGE,), {"image_token": IMAGE})
    image_text = IMAGE + "\n"
    options: ClassVar[dict[str, tuple[str, ...]]] = {"vision": tuple(VISION), "text": tuple(TEXT)}

    def build_config(self, size: TinySize, tokenizer, vision: str = "siglip",
                     text: str = "llama") -> LlavaConfig:
        vision_config = VISION[vision](
            image_size=size.image_size,
            patch_size=size.patch_size,
            hidden_size=size.vision_width,
            intermediate_size=4 * size.vision_width,
            num_hidden_layers=size.vision_layers,
            num_attention_heads=size.vision_heads,
        )
        return LlavaConfig(
            vision_config=vision_config,
            text_config=TEXT[text](**self.text_kwargs(size, tokenizer)),
            image_token_id=self.token_id(tokenizer, IMAGE),
            # SigLIP has no CLS token: keep every patch; CLIP: drop the CLS token ("default").
            vision_feature_select_strategy="full" if vision == "siglip" else "default",
            vision_feature_layer=-1,
            tie_word_embeddings=False,
        )

    def build_processor(self, tokenizer, size: TinySize, vision: str = "siglip",
                        text: str = "llama") -> LlavaProcessor:
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
            chat_template=self.chat_template(),
        )
