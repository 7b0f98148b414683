import random

from persona_bench.persona_gen.describe import HELD_OUT_STYLES, TRAIN_STYLES, describe, phrases
from persona_bench.persona_gen.vocab import APPEARANCE, FACTS, first_names, last_names


def _looks(n=200):
    rng = random.Random(0)
    return [{a: rng.choice(v) for a, v in APPEARANCE.items()} for _ in range(n)]


def test_description_names_every_attribute():
    for look in _looks():
        for k in range(len(TRAIN_STYLES)):
            text = describe(look, k, False, "s")
            for phrase in phrases(look).values():
                assert phrase.lower() in text.lower(), (phrase, text)
        for k in range(len(HELD_OUT_STYLES)):
            text = describe(look, k, True, "s")
            assert all(ph.lower() in text.lower() for ph in phrases(look).values())


def test_description_never_contains_fact_values_or_names():
    words = {v.lower() for values in FACTS.values() for v in values}
    words |= {n.lower() for n in first_names() + last_names() if len(n) > 2}
    for look in _looks(100):
        text = f" {describe(look, 0, False, 's').lower()} "
        for w in words:
            assert f" {w} " not in text, w


def test_paraphrases_differ_and_are_deterministic():
    look = _looks(1)[0]
    train = {describe(look, k, False, "s") for k in range(len(TRAIN_STYLES))}
    held = {describe(look, k, True, "s") for k in range(len(HELD_OUT_STYLES))}
    assert len(train) == len(TRAIN_STYLES) and not train & held
    assert describe(look, 2, False, "s") == describe(look, 2, False, "s")
