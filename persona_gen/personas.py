"""Sample fictitious people: unique names, unique appearances, balanced facts."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from persona_bench.errors import UserError
from persona_bench.persona_gen.vocab import (
    APPEARANCE,
    APPEARANCE_SPACE,
    FACTS,
    first_names,
    last_names,
)


@dataclass(frozen=True)
class Persona:
    persona_id: str
    name: str
    appearance: dict[str, str] = field(hash=False)
    facts: dict[str, str] = field(hash=False)  # includes "name"

    @property
    def appearance_key(self) -> tuple[str, ...]:
        return tuple(self.appearance[k] for k in APPEARANCE)


def max_personas() -> int:
    """Largest persona count the vocabularies allow (appearances and names must be unique)."""
    return min(APPEARANCE_SPACE, len(first_names()) * len(last_names()))


def _unique_names(rng: random.Random, count: int) -> list[str]:
    firsts, lasts = first_names(), last_names()
    picks = rng.sample(range(len(firsts) * len(lasts)), count)
    return [f"{firsts[i // len(lasts)]} {lasts[i % len(lasts)]}" for i in picks]


def _unique_appearances(rng: random.Random, count: int) -> list[dict[str, str]]:
    seen: set[tuple[str, ...]] = set()
    out: list[dict[str, str]] = []
    while len(out) < count:
        look = {attr: rng.choice(values) for attr, values in APPEARANCE.items()}
        key = tuple(look.values())
        if key not in seen:
            seen.add(key)
            out.append(look)
    return out


def _balanced(rng: random.Random, values: tuple[str, ...], count: int) -> list[str]:
    """`count` values where each value occurs floor or ceil of count/len(values) times."""
    out: list[str] = []
    while len(out) < count:
        block = list(values)
        rng.shuffle(block)
        out.extend(block)
    out = out[:count]
    rng.shuffle(out)
    return out


def sample_personas(
    num_personas: int, seed: int, pool: int = 0
) -> tuple[list[Persona], list[Persona]]:
    """Return (target personas, disjoint pretraining pool).

    Names and appearance tuples are unique across both groups; each fact is balanced
    within each group, and facts are sampled independently of appearance.
    """
    total = num_personas + pool
    if num_personas < 1:
        raise UserError(f"--num-personas must be at least 1 (got {num_personas})")
    if pool < 0:
        raise UserError(f"--pretrain-personas must be >= 0 (got {pool})")
    if total > max_personas():
        raise UserError(
            f"{total} personas requested but the vocabularies allow at most {max_personas()}; "
            "lower --num-personas/--pretrain-personas"
        )
    rng = random.Random(f"persona-bench:{seed}")
    names = _unique_names(rng, total)
    looks = _unique_appearances(rng, total)

    def group(prefix: str, start: int, count: int) -> list[Persona]:
        facts = {fact: _balanced(rng, values, count) for fact, values in FACTS.items()}
        return [
            Persona(
                persona_id=f"{prefix}{i:04d}",
                name=names[start + i],
                appearance=looks[start + i],
                facts={"name": names[start + i], **{f: facts[f][i] for f in FACTS}},
            )
            for i in range(count)
        ]

    return group("p", 0, num_personas), group("q", num_personas, pool)
