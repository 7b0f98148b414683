"""Qwen3-VL (`qwen3_vl`): ViT with learned position embeddings, DeepStack features fed into
early decoder layers, interleaved multimodal RoPE."""

from __future__ import annotations

from transformers import Qwen3VLConfig, Qwen3VLProcessor, Qwen3VLVideoProcessor

from persona_bench.families.base import TinySize
from persona_bench.families.qwen2_5_vl import MERGE, Qwen25VL


class Qwen3VL(Qwen25VL):
    name = "qwen3_vl"
    model_types = ("qwen3_vl",)
    summary = ("Qwen3-VL: ViT + DeepStack mergers into the first decoder layers, interleaved "
               "M-RoPE; Qwen vision tokens")
    projector_keys = ("merger", "deepstack_merger_list")

    def build_config(self, size: TinySize, tokenizer) -> Qwen3VLConfig:
        patches = size.image_size // size.patch_size
        return Qwen3VLConfig(
            vision_config={**self.vision_kwargs(size), "num_position_embeddings": patches ** 2,
                           "deepstack_visual_indexes": [0]},
            text_config={**self.text_kwargs(size, tokenizer),
                         "head_dim": size.text_width // size.text_heads,
                         "rope_parameters": {**self.rope(size), "mrope_interleaved": True}},
            **self.special_ids(tokenizer),
            tie_word_embeddings=False,
        )

    def video_processor(self, size: TinySize) -> Qwen3VLVideoProcessor:
        """Unused (images only) but required by the processor class."""
        pixels = size.image_size * size.image_size
        return Qwen3VLVideoProcessor(patch_size=size.patch_size, merge_size=MERGE,
                                     temporal_patch_size=2,
                                     size={"shortest_edge": pixels, "longest_edge": pixels})

    def build_processor(self, tokenizer, size: TinySize) -> Qwen3VLProcessor:
        return Qwen3VLProcessor(image_processor=self.image_processor(size),
                                video_processor=self.video_processor(size),
                                tokenizer=tokenizer, chat_template=self.chat_template())
