"""Text for training a tokenizer on the persona vocabulary (names, facts, prompts)."""

from __future__ import annotations

import random

from persona_bench.persona_gen.describe import HELD_OUT_STYLES, TRAIN_STYLES, describe
from persona_bench.persona_gen.rows import TEXT_PREFIX
from persona_bench.persona_gen.vocab import (
    APPEARANCE,
    APPEARANCE_QUESTIONS,
    CAPTION_QUESTIONS,
    FACTS,
    QUESTIONS,
    first_names,
    last_names,
)


def corpus_texts(descriptions: int = 400, seed: int = 0) -> list[str]:
    """Every name part, fact value and question, plus sampled descriptions (deterministic)."""
    rng = random.Random(f"corpus:{seed}")
    texts = [TEXT_PREFIX, *CAPTION_QUESTIONS, *APPEARANCE_QUESTIONS.values()]
    texts += [q for questions in QUESTIONS.values() for q in questions]
    texts += [
        f"{first} {last}"
        for first, last in zip(
            first_names(), rng.sample(last_names(), len(last_names())), strict=False
        )
    ]
    texts += list(first_names()) + list(last_names())
    texts += [value for values in FACTS.values() for value in values]
    styles = len(TRAIN_STYLES) + len(HELD_OUT_STYLES)
    for i in range(descriptions):
        look = {attr: rng.choice(values) for attr, values in APPEARANCE.items()}
        k = i % styles
        texts.append(describe(look, k, k >= len(TRAIN_STYLES), f"corpus:{i}"))
    return texts
