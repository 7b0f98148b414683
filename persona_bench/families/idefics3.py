"""Idefics3 (`idefics3`; SmolVLM's `smolvlm` loads the same way): SigLIP-style encoder,
pixel-shuffle connector, Llama decoder; each image is wrapped in
`<fake_token_around_image><global-img>` ... `<fake_token_around_image>`."""

from __future__ import annotations

from transformers import Idefics3Config, Idefics3ImageProcessor, Idefics3Processor

from persona_bench.families.base import Family, TinySize, Tokens

IMAGE, FAKE, GLOBAL = "<image>", "<fake_token_around_image>", "<global-img>"
END = "<end_of_utterance>"
SCALE = 2  # pixel shuffle: 2x2 patches -> one image token


class Idefics3(Family):
    name = "idefics3"
    model_types = ("idefics3", "smolvlm")
    summary = ("Idefics3 / SmolVLM: SigLIP-style encoder, pixel-shuffle connector, Llama "
               "decoder; image splitting off in the tiny build")
    projector_keys = ("connector",)
    vision_keys = ("vision_model",)
    tokens = Tokens((IMAGE, FAKE, GLOBAL, END), {"image_token": IMAGE})
    image_text = IMAGE

    def seq_len(self, size: TinySize) -> int:
        return (size.image_size // size.patch_size) ** 2 // SCALE ** 2

    def build_config(self, size: TinySize, tokenizer) -> Idefics3Config:
        from transformers import LlamaConfig

        return Idefics3Config(
            vision_config=dict(image_size=size.image_size, patch_size=size.patch_size,
                               hidden_size=size.vision_width,
                               intermediate_size=4 * size.vision_width,
                               num_hidden_layers=size.vision_layers,
                               num_attention_heads=size.vision_heads),
            text_config=LlamaConfig(**self.text_kwargs(size, tokenizer)).to_dict(),
            image_token_id=self.token_id(tokenizer, IMAGE),
            scale_factor=SCALE,
            tie_word_embeddings=False,
        )

    def build_processor(self, tokenizer, size: TinySize) -> Idefics3Processor:
        edge = {"longest_edge": size.image_size}
        image_processor = Idefics3ImageProcessor(do_image_splitting=False, size=edge,
                                                 max_image_size=edge)
        return Idefics3Processor(image_processor=image_processor, tokenizer=tokenizer,
                                 image_seq_len=self.seq_len(size),
                                 chat_template=self.chat_template())
