"""Natural-English appearance descriptions, with training and held-out paraphrases.

A description names every appearance attribute (so it identifies exactly one persona)
and nothing else: never the name, never a fact value.
"""

from __future__ import annotations

import random

_HAIR = {
    "short": "short {c} hair",
    "long": "long {c} hair",
    "curly": "curly {c} hair",
    "bun": "{c} hair tied in a bun",
    "spiky": "spiky {c} hair",
}
_NONE = {"facial_hair": "no facial hair", "eyewear": "no glasses", "headwear": "no hat",
         "earrings": "no earrings"}
_EARRINGS = {"studs": "stud earrings", "hoops": "hoop earrings"}


def _a(word: str) -> str:
    return f"an {word}" if word[0] in "aeiou" else f"a {word}"


def phrases(look: dict[str, str]) -> dict[str, str]:
    """One noun phrase per attribute group."""

    def worn(attr: str) -> str:
        value = look[attr]
        if value == "none":
            return _NONE[attr]
        if attr == "earrings":
            return _EARRINGS[value]
        return value if value.endswith(("glasses", "sunglasses")) else _a(value)

    return {
        "who": _a(f"{look['age']} {look['gender']}"),
        "skin": f"{look['skin_tone']} skin",
        "face": _a(f"{look['face_shape']} face"),
        "hair": _HAIR[look["hair_style"]].format(c=look["hair_color"]),
        "eyes": f"{look['eye_color']} eyes",
        "facial": worn("facial_hair"),
        "eyewear": worn("eyewear"),
        "headwear": worn("headwear"),
        "earrings": worn("earrings"),
        "clothing": _a(f"{look['clothing_color']} {look['clothing_style']}"),
        "background": _a(f"{look['background']} background"),
    }


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _train_0(p: dict[str, str], rng: random.Random) -> str:
    body = [p["skin"], p["face"], p["hair"], p["eyes"]]
    worn = [p["eyewear"], p["headwear"], p["earrings"]]
    rng.shuffle(body)
    rng.shuffle(worn)
    return (f"{p['who'].capitalize()} with {_join(body)}. They have {p['facial']}, wear "
            f"{_join(worn)}, and are dressed in {p['clothing']}, in front of {p['background']}.")


def _train_1(p: dict[str, str], rng: random.Random) -> str:
    feats = [p[k] for k in ("skin", "face", "hair", "eyes", "facial", "eyewear", "headwear",
                            "earrings")]
    rng.shuffle(feats)
    return (f"This is {p['who']} wearing {p['clothing']}. Features: {', '.join(feats)}. "
            f"Behind them is {p['background']}.")


def _train_2(p: dict[str, str], rng: random.Random) -> str:
    feats = [p[k] for k in ("hair", "eyes", "skin", "face")]
    rng.shuffle(feats)
    return (f"Picture {p['who']} who has {_join(feats)}; {p['facial']}; {p['eyewear']}; "
            f"{p['headwear']}; {p['earrings']}; wearing {p['clothing']}; {p['background']}.")


def _train_3(p: dict[str, str], rng: random.Random) -> str:
    feats = [p[k] for k in ("hair", "eyes", "face", "skin")]
    acc = [p["eyewear"], p["headwear"], p["earrings"]]
    rng.shuffle(feats)
    rng.shuffle(acc)
    return (f"{p['who'].capitalize()}, dressed in {p['clothing']}, with {_join(feats)}. "
            f"Accessories: {', '.join(acc)}. Facial hair: {p['facial']}. "
            f"Background: {p['background']}.")


def _held_0(p: dict[str, str], rng: random.Random) -> str:
    return (f"The portrait shows {p['who']} against {p['background']}. They have {p['hair']} "
            f"and {p['eyes']}, {p['skin']}, {p['face']} and {p['facial']}. They wear "
            f"{p['clothing']}, {p['eyewear']}, {p['headwear']} and {p['earrings']}.")


def _held_1(p: dict[str, str], rng: random.Random) -> str:
    keys = ("who", "skin", "face", "hair", "eyes", "facial", "eyewear", "headwear", "earrings",
            "clothing", "background")
    return "Described briefly: " + "; ".join(p[k] for k in keys) + "."


TRAIN_STYLES = (_train_0, _train_1, _train_2, _train_3)
HELD_OUT_STYLES = (_held_0, _held_1)


def describe(look: dict[str, str], paraphrase: int, held_out: bool, seed: str) -> str:
    """The `paraphrase`-th description of an appearance (deterministic for `seed`)."""
    rng = random.Random(f"{seed}:{paraphrase}:{held_out}")
    styles = HELD_OUT_STYLES if held_out else TRAIN_STYLES
    return styles[paraphrase % len(styles)](phrases(look), rng)
