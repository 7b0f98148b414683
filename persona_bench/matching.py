"""Answer matching shared by the task packs and the scorer (one definition of correct)."""

from __future__ import annotations

import re
import string

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = str.maketrans({c: " " for c in string.punctuation})


def normalize(text: str) -> str:
    """Lower-case, drop punctuation and articles, collapse whitespace."""
    text = _ARTICLES.sub(" ", text.lower().translate(_PUNCT))
    return " ".join(text.split())


def exact_match(prediction: str, answer: str) -> bool:
    return normalize(prediction) == normalize(answer)


def contains_match(prediction: str, answer: str) -> bool:
    """True when the normalised answer occurs in the prediction on word boundaries."""
    gold = normalize(answer)
    return bool(gold) and f" {gold} " in f" {normalize(prediction)} "
