"""One place that turns dataset rows into prompts, for training and for generation.

Training uses TRL's prompt-completion format: the prompt is the user turn rendered by the
processor's chat template with the generation prompt, the completion is the answer and the
template's end-of-turn text, and only the completion is in the loss. `build_prompt` renders
the same prompt for generation, so what is evaluated is exactly what was trained.
"""

from __future__ import annotations

from typing import Any

from persona_bench.persona_gen.rows import prompt_completion
from transformers import BatchFeature, ProcessorMixin
from trl.data_utils import prepare_multimodal_messages


def to_prompt_completion(messages: list[dict[str, str]]) -> dict[str, list[dict[str, str]]]:
    """Split ``[..., user, assistant]`` into TRL's conversational prompt and completion
    (the same split as the dataset's `<direction>_sft` configs)."""
    return prompt_completion(messages)


def build_prompt(processor: ProcessorMixin, question: str | list[dict[str, Any]],
                 images: list | None = None) -> str:
    """The generation prompt for a question (a string or the user messages) with its images.

    Image placeholders go before the first user text, as in training.
    """
    messages = [{"role": "user", "content": question}] if isinstance(question, str) else question
    structured = prepare_multimodal_messages(messages, images=list(images or []))
    return processor.apply_chat_template(structured, add_generation_prompt=True, tokenize=False)


def encode_prompts(processor: ProcessorMixin, prompts: list[str],
                   images: list[list]) -> BatchFeature:
    """Tokenise a batch of prompts, left-padded for generation, with their images."""
    flat = [image for row in images for image in row]
    return processor(
        text=prompts,
        images=images if flat else None,
        padding=True,
        padding_side="left",
        add_special_tokens=False,  # the chat template already holds any BOS
        return_tensors="pt",
    )
