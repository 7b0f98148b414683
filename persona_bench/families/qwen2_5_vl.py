"""Qwen2.5-VL (`qwen2_5_vl`, also loads `qwen2_vl` checkpoints): ViT with window attention,
a patch merger into the decoder, and multimodal RoPE (3-D position ids)."""

from __future__ import annotations

from transformers import (
    Qwen2_5_VLConfig,
    Qwen2_5_VLProcessor,
    Qwen2VLImageProcessor,
    Qwen2VLVideoProcessor,
)

from persona_bench.families.base import Family, TinySize, Tokens

START, IMAGE, END, VIDEO = "<|vision_start|>", "<|image_pad|>", "<|vision_end|>", "<|video_pad|>"
MERGE = 2  # 2x2 patches merge into one image token


def mrope_section(head_dim: int) -> list[int]:
    """Split the rotary half-dimension over (time, height, width) like Qwen (16/24/24 of 64)."""
    half = head_dim // 2
    side = half * 3 // 8
    return [half - 2 * side, side, side]


class Qwen25VL(Family):
    name = "qwen2_5_vl"
    model_types = ("qwen2_5_vl", "qwen2_vl")
    summary = ("Qwen2.5-VL: window-attention ViT, 2x2 patch merger, M-RoPE; "
               "`<|vision_start|><|image_pad|><|vision_end|>` tokens")
    projector_keys = ("merger",)
    vision_keys = ("visual",)
    tokens = Tokens((START, IMAGE, END, VIDEO),
                    {"image_token": IMAGE, "video_token": VIDEO,
                     "vision_start_token": START, "vision_end_token": END})
    image_text = START + IMAGE + END
    prefix_sharing = False  # M-RoPE position ids are computed over the whole sequence

    def vision_kwargs(self, size: TinySize) -> dict:
        return dict(
            depth=size.vision_layers,
            hidden_size=size.vision_width,
            intermediate_size=4 * size.vision_width,
            num_heads=size.vision_heads,
            patch_size=size.patch_size,
            spatial_merge_size=MERGE,
            temporal_patch_size=2,
            out_hidden_size=size.text_width,
        )

    def rope(self, size: TinySize) -> dict:
        return {"rope_type": "default", "rope_theta": 10000.0,
                "mrope_section": mrope_section(size.text_width // size.text_heads)}

    def special_ids(self, tokenizer) -> dict:
        return dict(image_token_id=self.token_id(tokenizer, IMAGE),
                    video_token_id=self.token_id(tokenizer, VIDEO),
                    vision_start_token_id=self.token_id(tokenizer, START),
                    vision_end_token_id=self.token_id(tokenizer, END))

    def build_config(self, size: TinySize, tokenizer) -> Qwen2_5_VLConfig:
        return Qwen2_5_VLConfig(
            vision_config={**self.vision_kwargs(size), "window_size": 2 * size.patch_size * MERGE,
                           "fullatt_block_indexes": [size.vision_layers - 1]},
            text_config={**self.text_kwargs(size, tokenizer), "rope_parameters": self.rope(size)},
            **self.special_ids(tokenizer),
            tie_word_embeddings=False,
        )

    def image_processor(self, size: TinySize) -> Qwen2VLImageProcessor:
        pixels = size.image_size * size.image_size
        return Qwen2VLImageProcessor(patch_size=size.patch_size, merge_size=MERGE,
                                     temporal_patch_size=2, min_pixels=pixels, max_pixels=pixels)

    def video_processor(self, size: TinySize) -> Qwen2VLVideoProcessor:
        """Unused (images only) but required by the processor class."""
        pixels = size.image_size * size.image_size
        return Qwen2VLVideoProcessor(patch_size=size.patch_size, merge_size=MERGE,
                                     temporal_patch_size=2, min_pixels=pixels, max_pixels=pixels)

    def build_processor(self, tokenizer, size: TinySize) -> Qwen2_5_VLProcessor:
        return Qwen2_5_VLProcessor(image_processor=self.image_processor(size),
                                   video_processor=self.video_processor(size),
                                   tokenizer=tokenizer, chat_template=self.chat_template())
