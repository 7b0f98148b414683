"""Rows of the unlearning experiment (persona_bench/experiments/unlearn.py).

The dataset's personas are split once, with the dataset seed: `holdout` personas (10%, at
least one) are never trained; every other persona is taught in both modalities (`train`:
the transfer experiment's training rows of both directions). The forget sets are nested
prefixes of one seeded order of the trained personas (`forget01` within `forget05` within
`forget10`, at least one persona each), `retainNN` holds the rest. Test rows reuse the
held-out portrait / description and held-out question template of the transfer experiment.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from persona_bench.contracts import MODALITIES
from persona_bench.errors import UserError
from persona_bench.experiments import DIRECTIONS
from persona_bench.experiments.unlearn import (
    DATA,
    FRACTIONS,
    HOLDOUT_SHARE,
    forget_split,
    retain_split,
    test_split,
)
from persona_bench.persona_gen.rows import GenContext, PersonaMedia, direction_splits


def share(count: int, fraction: float) -> int:
    """`fraction` of `count` personas, rounded, at least one."""
    return max(1, round(fraction * count))


def partition(people: Sequence[PersonaMedia], seed: int
              ) -> tuple[list[str], list[str]]:
    """(trained persona ids in forget order, holdout persona ids): deterministic for a seed."""
    if len(people) < 3:
        raise UserError(f"the unlearn experiment needs at least 3 personas (a holdout, a "
                        f"forget and a retain persona), got {len(people)}; raise --num-personas")
    order = sorted(m.persona.persona_id for m in people)
    random.Random(f"persona-bench:unlearn:{seed}").shuffle(order)
    holdout = share(len(order), HOLDOUT_SHARE)
    return order[holdout:], sorted(order[:holdout])


def forget_sets(trained: Sequence[str]) -> dict[str, list[str]]:
    """Forget fraction -> persona ids (nested prefixes of `trained`); every retain set keeps
    at least one persona."""
    sets = {f: list(trained[:share(len(trained), x)]) for f, x in FRACTIONS.items()}
    if any(len(ids) >= len(trained) for ids in sets.values()):
        raise UserError(f"{len(trained)} trained personas leave no retain persona; raise "
                        "--num-personas")
    return sets


def _both_modalities(people: Sequence[PersonaMedia], seed: int) -> dict[str, list[dict]]:
    """The train rows of both directions, and the held-out test rows in each modality (a
    direction's `test_source` asks in the modality it trains)."""
    rows: dict[str, list[dict]] = {"train": []}
    for name, (trained, _) in DIRECTIONS.items():
        splits = direction_splits(name, list(people), seed)
        rows["train"] += splits["train"]
        rows[f"test_{trained}"] = splits["test_source"]
    return rows


def unlearn_rows(ctx: GenContext) -> dict[str, dict[str, list[dict]]]:
    trained, holdout = partition(ctx.people, ctx.seed)
    rows = _both_modalities(ctx.people, ctx.seed)

    def of(split: str, ids: Sequence[str]) -> list[dict]:
        keep = set(ids)
        return [r for r in rows[split] if r["persona_id"] in keep]

    retained = set(trained)
    splits: dict[str, list[dict]] = {"train": of("train", trained), "holdout": of("train", holdout)}
    for fraction, forget in forget_sets(trained).items():
        groups = {"forget": forget, "retain": sorted(retained - set(forget))}
        splits[forget_split(fraction)] = of("train", groups["forget"])
        splits[retain_split(fraction)] = of("train", groups["retain"])
        for group, ids in groups.items():
            for m in MODALITIES:
                splits[test_split(group, fraction, m)] = of(f"test_{m}", ids)
    for m in MODALITIES:
        splits[test_split("holdout", "", m)] = of(f"test_{m}", holdout)
    return {DATA: splits}
