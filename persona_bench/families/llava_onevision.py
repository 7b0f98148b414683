"""LLaVA-OneVision (`llava_onevision`): SigLIP tower, MLP projector, Qwen2 decoder, "anyres"
tiling with a learned image-newline embedding (one 1x1 grid in the tiny build)."""

from __future__ import annotations

from transformers import (
    LlavaOnevisionConfig,
    LlavaOnevisionImageProcessor,
    LlavaOnevisionProcessor,
    LlavaOnevisionVideoProcessor,
    Qwen2Config,
)

from persona_bench.families.base import Family, TinySize, Tokens

IMAGE, VIDEO = "<image>", "<video>"


class LlavaOnevision(Family):
    name = "llava_onevision"
    model_types = ("llava_onevision",)
    summary = ("LLaVA-OneVision: SigLIP tower, MLP projector + image newline, Qwen2 decoder; "
               "anyres tiling (one tile in the tiny build)")
    projector_keys = ("multi_modal_projector", "image_newline")
    vision_keys = ("vision_tower",)
    tokens = Tokens((IMAGE, VIDEO), {"image_token": IMAGE, "video_token": VIDEO})
    image_text = IMAGE + "\n"

    def pinpoints(self, size: TinySize) -> list[list[int]]:
        return [[size.image_size, size.image_size]]

    def build_config(self, size: TinySize, tokenizer) -> LlavaOnevisionConfig:
        return LlavaOnevisionConfig(
            vision_config=dict(model_type="siglip_vision_model", image_size=size.image_size,
                               patch_size=size.patch_size, hidden_size=size.vision_width,
                               intermediate_size=4 * size.vision_width,
                               num_hidden_layers=size.vision_layers,
                               num_attention_heads=size.vision_heads),
            text_config=Qwen2Config(**self.text_kwargs(size, tokenizer)).to_dict(),
            image_token_index=self.token_id(tokenizer, IMAGE),
            video_token_index=self.token_id(tokenizer, VIDEO),
            vision_feature_select_strategy="full",
            vision_feature_layer=-1,
            image_grid_pinpoints=self.pinpoints(size),
            tie_word_embeddings=False,
        )

    def build_processor(self, tokenizer, size: TinySize) -> LlavaOnevisionProcessor:
        square = {"height": size.image_size, "width": size.image_size}
        image_processor = LlavaOnevisionImageProcessor(size=square,
                                                       image_grid_pinpoints=self.pinpoints(size))
        return LlavaOnevisionProcessor(
            image_processor=image_processor,
            video_processor=LlavaOnevisionVideoProcessor(size=square),
            tokenizer=tokenizer,
            num_image_tokens=(size.image_size // size.patch_size) ** 2,
            vision_feature_select_strategy="full",
            chat_template=self.chat_template(),
        )
