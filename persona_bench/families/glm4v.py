"""GLM-4.1V (`glm4v`): ViT with a downsampling conv and a patch merger, GLM-4 decoder with
partial multimodal RoPE (3-D position ids); `<|begin_of_image|><|image|><|end_of_image|>`."""

from __future__ import annotations

from transformers import (
    Glm4vConfig,
    Glm4vImageProcessor,
    Glm4vProcessor,
    Glm4vVideoProcessor,
)

from persona_bench.families.base import Family, TinySize, Tokens
from persona_bench.families.qwen2_5_vl import mrope_section

START, IMAGE, END = "<|begin_of_image|>", "<|image|>", "<|end_of_image|>"
VSTART, VIDEO, VEND = "<|begin_of_video|>", "<|video|>", "<|end_of_video|>"
MERGE = 2  # 2x2 patches merge into one image token
ROTARY = 0.5  # GLM-4 rotates half of each head


class Glm4v(Family):
    name = "glm4v"
    model_types = ("glm4v",)
    summary = ("GLM-4.1V: ViT + downsampling conv + patch merger, GLM-4 decoder, partial "
               "M-RoPE; `<|begin_of_image|><|image|><|end_of_image|>` tokens")
    projector_keys = ("merger",)
    vision_keys = ("visual",)
    tokens = Tokens((START, IMAGE, END, VSTART, VIDEO, VEND),
                    {"image_token": IMAGE, "video_token": VIDEO})
    image_text = START + IMAGE + END
    prefix_sharing = False  # M-RoPE position ids are computed over the whole sequence

    def build_config(self, size: TinySize, tokenizer) -> Glm4vConfig:
        head_dim = size.text_width // size.text_heads
        rope = {"rope_type": "default", "rope_theta": 10000.0, "partial_rotary_factor": ROTARY,
                "mrope_section": mrope_section(int(head_dim * ROTARY))}
        return Glm4vConfig(
            vision_config=dict(depth=size.vision_layers, hidden_size=size.vision_width,
                               intermediate_size=4 * size.vision_width,
                               num_heads=size.vision_heads, image_size=size.image_size,
                               patch_size=size.patch_size, spatial_merge_size=MERGE,
                               temporal_patch_size=2, out_hidden_size=size.text_width),
            text_config={**self.text_kwargs(size, tokenizer), "rope_parameters": rope},
            image_token_id=self.token_id(tokenizer, IMAGE),
            video_token_id=self.token_id(tokenizer, VIDEO),
            image_start_token_id=self.token_id(tokenizer, START),
            image_end_token_id=self.token_id(tokenizer, END),
            video_start_token_id=self.token_id(tokenizer, VSTART),
            video_end_token_id=self.token_id(tokenizer, VEND),
            tie_word_embeddings=False,
        )

    def build_processor(self, tokenizer, size: TinySize) -> Glm4vProcessor:
        # min / max pixels; the bound counts the two temporal copies of a still image.
        pixels = size.image_size * size.image_size
        edges = {"shortest_edge": pixels, "longest_edge": 2 * pixels}
        common = dict(patch_size=size.patch_size, merge_size=MERGE, temporal_patch_size=2,
                      size=edges)
        return Glm4vProcessor(image_processor=Glm4vImageProcessor(**common),
                              video_processor=Glm4vVideoProcessor(**common),
                              tokenizer=tokenizer, chat_template=self.chat_template())
