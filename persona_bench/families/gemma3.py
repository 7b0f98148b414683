"""Gemma 3 (`gemma3`): SigLIP tower, average-pooled soft tokens through a projector, Gemma 3
decoder (sliding + global attention, bidirectional attention over image tokens)."""

from __future__ import annotations

from transformers import Gemma3Config, Gemma3ImageProcessor, Gemma3Processor

from persona_bench.families.base import Family, TinySize, Tokens

BOI, IMAGE, EOI = "<start_of_image>", "<image_soft_token>", "<end_of_image>"
TOKENS_PER_SIDE = 4  # the tower's patch grid is pooled to 4x4 = 16 soft tokens


class Gemma3(Family):
    name = "gemma3"
    model_types = ("gemma3",)
    summary = ("Gemma 3: SigLIP tower, pooled soft tokens, Gemma 3 decoder; "
               "`<start_of_image>` expands to the image sequence")
    projector_keys = ("multi_modal_projector",)
    vision_keys = ("vision_tower",)
    tokens = Tokens((BOI, IMAGE, EOI), {"image_token": IMAGE, "boi_token": BOI, "eoi_token": EOI})
    image_text = BOI

    def build_config(self, size: TinySize, tokenizer) -> Gemma3Config:
        text = self.text_kwargs(size, tokenizer)
        head_dim = size.text_width // size.text_heads
        return Gemma3Config(
            vision_config=dict(model_type="siglip_vision_model", image_size=size.image_size,
                               patch_size=size.patch_size, hidden_size=size.vision_width,
                               intermediate_size=4 * size.vision_width,
                               num_hidden_layers=size.vision_layers,
                               num_attention_heads=size.vision_heads),
            text_config={**text, "head_dim": head_dim, "query_pre_attn_scalar": head_dim,
                         "sliding_window": 64, "num_key_value_heads": size.text_heads},
            mm_tokens_per_image=TOKENS_PER_SIDE ** 2,
            boi_token_index=self.token_id(tokenizer, BOI),
            eoi_token_index=self.token_id(tokenizer, EOI),
            image_token_index=self.token_id(tokenizer, IMAGE),
            tie_word_embeddings=False,
        )

    def build_processor(self, tokenizer, size: TinySize) -> Gemma3Processor:
        square = {"height": size.image_size, "width": size.image_size}
        return Gemma3Processor(image_processor=Gemma3ImageProcessor(size=square),
                               tokenizer=tokenizer, image_seq_length=TOKENS_PER_SIDE ** 2,
                               chat_template=self.chat_template())
