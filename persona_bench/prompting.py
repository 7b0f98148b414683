"""One place that turns dataset rows into prompts, for training and for evaluation alike.

Training uses TRL's prompt-completion format: the prompt is the user turn rendered by the
processor's chat template with the generation prompt, the completion is the answer and the
template's end-of-turn text, and only the completion is in the loss. `build_prompt` renders
the same prompt for generation, so what is evaluated is exactly what was trained.

On the ground floor, with no TRL import: evaluation must not pay for (or depend on) the
trainer's stack. `structured_messages` is TRL's `prepare_multimodal_messages` for the
string-content turns this project writes (tests/test_prompting.py checks they agree).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from transformers import BatchFeature, ProcessorMixin


def prompt_completion(messages: list[dict[str, str]]) -> dict[str, list[dict[str, str]]]:
    """Split ``[..., user, assistant]`` into TRL's conversational prompt and completion."""
    if not messages or messages[-1]["role"] != "assistant":
        raise ValueError("each row's `messages` must end with the assistant's answer")
    return {"prompt": messages[:-1], "completion": messages[-1:]}


def structured_messages(messages: list[dict[str, Any]], images: list | None = None
                        ) -> list[dict[str, Any]]:
    """Text turns as typed parts; the images go before the first user text, as in training."""
    images = list(images or [])
    out, placed = [], False
    for message in messages:
        content = message.get("content")
        if isinstance(content, str):
            parts = [{"type": "text", "text": content}]
            if message["role"] == "user" and not placed:
                parts = [{"type": "image", "image": image} for image in images] + parts
                placed = True
            message = {**message, "content": parts}
        out.append(message)
    if images and not placed:
        raise ValueError(f"{len(images)} images but no user turn with text to put them in")
    return out


def build_prompt(processor: ProcessorMixin, question: str | list[dict[str, Any]],
                 images: list | None = None) -> str:
    """The generation prompt for a question (a string or the user messages) with its images."""
    messages = [{"role": "user", "content": question}] if isinstance(question, str) else question
    structured = structured_messages(messages, images)
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
