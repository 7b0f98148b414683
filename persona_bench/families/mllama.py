"""Llama 3.2 Vision (`mllama`): tiled ViT, projector, cross-attention layers in the Llama decoder.

One `<|image|>` token per image in the text; the image reaches the decoder through its
cross-attention layers (one tile per image in the tiny build). Three quirks, handled here:
TRL's collator drops the cross-attention mask of the completion (`collator` rebuilds it),
the processor inserts a BOS into texts without one (the tiny BOS is `<|im_end|>`, which
every rendered turn holds), and the cross-attention gates start closed (`init_weights`).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from transformers import MllamaConfig, MllamaImageProcessor, MllamaProcessor
from transformers.models.mllama.processing_mllama import (
    convert_sparse_cross_attention_mask_to_dense,
    get_cross_attention_token_mask,
)

from persona_bench.families.base import EOS_TURN, Family, TinySize, Tokens

IMAGE, PYTHON = "<|image|>", "<|python_tag|>"
GATE = 0.5  # initial cross-attention gate of the tiny build


class Mllama(Family):
    name = "mllama"
    model_types = ("mllama",)
    summary = ("Llama 3.2 Vision: tiled ViT, projector, cross-attention layers in a Llama "
               "decoder; one `<|image|>` token per image")
    projector_keys = ("multi_modal_projector",)
    vision_keys = ("vision_model",)
    tokens = Tokens((IMAGE, PYTHON), {"image_token": IMAGE})
    image_text = IMAGE

    def build_config(self, size: TinySize, tokenizer) -> MllamaConfig:
        text = self.text_kwargs(size, tokenizer)
        return MllamaConfig(
            vision_config=dict(image_size=size.image_size, patch_size=size.patch_size,
                               hidden_size=size.vision_width,
                               intermediate_size=4 * size.vision_width,
                               num_hidden_layers=size.vision_layers, num_global_layers=1,
                               attention_heads=size.vision_heads,
                               intermediate_layers_indices=[0],
                               vision_output_dim=2 * size.vision_width,
                               max_num_tiles=1, supported_aspect_ratios=[[1, 1]]),
            # The text config wants an int BOS id: the processor's BOS (see build_processor).
            text_config={**text, "bos_token_id": self.token_id(tokenizer, EOS_TURN),
                         "cross_attention_layers": [size.text_layers // 2],
                         "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0}},
            image_token_index=self.token_id(tokenizer, IMAGE),
            tie_word_embeddings=False,
        )

    def init_weights(self, model) -> None:
        """Open the cross-attention gates: they start at tanh(0) = 0 (an image-blind decoder
        whose projector gets no gradient), here at tanh(GATE)."""
        with torch.no_grad():
            for name, param in model.named_parameters():
                if name.endswith(("cross_attn_attn_gate", "cross_attn_mlp_gate")):
                    param.fill_(GATE)

    def collator(self, collate: Callable, processor: MllamaProcessor) -> Callable:
        """TRL's collator, with the cross-attention mask rebuilt over the whole sequence.

        TRL tokenises prompts (with the images) and completions (text only) apart, then
        concatenates and left-flushes the ids but keeps the prompts' `cross_attention_mask`
        (prompt length, unshifted): the decoder's cross-attention then fails on the length
        mismatch. Rebuilt from the final ids the way MllamaProcessor builds it.
        """

        def collate_with_mask(examples: list[dict]) -> dict:
            batch = collate(examples)
            if "cross_attention_mask" not in batch:
                return batch
            spans = [get_cross_attention_token_mask(ids, processor.image_token_id)
                     for ids in batch["input_ids"].tolist()]
            dense = convert_sparse_cross_attention_mask_to_dense(
                spans, num_tiles=batch["aspect_ratio_mask"].sum(-1).tolist(),
                max_num_tiles=processor.image_processor.max_image_tiles,
                length=batch["input_ids"].shape[1])
            batch["cross_attention_mask"] = torch.from_numpy(dense).to(
                batch["cross_attention_mask"].dtype)
            return batch

        return collate_with_mask

    def build_processor(self, tokenizer, size: TinySize) -> MllamaProcessor:
        square = {"height": size.image_size, "width": size.image_size}
        # MllamaProcessor puts `bos_token` before every text that lacks it, completions
        # included; every rendered ChatML turn holds EOS_TURN, so none gets one.
        tokenizer.bos_token = EOS_TURN
        return MllamaProcessor(image_processor=MllamaImageProcessor(size=square,
                                                                    max_image_tiles=1),
                               tokenizer=tokenizer, chat_template=self.chat_template())
