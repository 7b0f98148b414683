from collections import Counter

import pytest

from persona_bench.errors import UserError
from persona_bench.persona_gen.personas import max_personas, sample_personas
from persona_bench.persona_gen.vocab import ALL_FACTS, APPEARANCE, FACTS


def test_names_and_appearances_unique_across_target_and_pool():
    people, pool = sample_personas(300, seed=1, pool=200)
    everyone = people + pool
    assert len({p.name for p in everyone}) == 500
    assert len({p.appearance_key for p in everyone}) == 500
    assert {p.persona_id[0] for p in people} == {"p"} and {p.persona_id[0] for p in pool} == {"q"}


@pytest.mark.parametrize("n", [7, 100, 1000])
def test_fact_answers_balanced(n):
    people, _ = sample_personas(n, seed=3)
    for fact, values in FACTS.items():
        counts = Counter(p.facts[fact] for p in people)
        assert max(counts.values()) == -(-n // len(values))  # ceil: as balanced as possible
        assert max(counts.values()) - min(counts.get(v, 0) for v in values) <= 1
        if n >= 100:
            assert max(counts.values()) / n <= 1 / len(values) + 0.05


def test_every_persona_has_all_facts_and_attributes():
    people, _ = sample_personas(20, seed=0)
    for p in people:
        assert set(p.facts) == set(ALL_FACTS) and p.facts["name"] == p.name
        assert set(p.appearance) == set(APPEARANCE)
        assert all(p.appearance[a] in APPEARANCE[a] for a in APPEARANCE)


def test_deterministic_per_seed_and_different_across_seeds():
    a, _ = sample_personas(50, seed=5)
    b, _ = sample_personas(50, seed=5)
    c, _ = sample_personas(50, seed=6)
    assert a == b and [p.facts for p in a] == [p.facts for p in b]
    assert [p.name for p in a] != [p.name for p in c]


def test_fact_vocabularies_large_enough():
    assert len(FACTS) >= 5 and all(len(v) >= 20 for v in FACTS.values())
    assert len(APPEARANCE) >= 10


@pytest.mark.parametrize("n, pool", [(0, 0), (-3, 0), (max_personas() + 1, 0), (10, -1)])
def test_bad_counts_are_user_errors(n, pool):
    with pytest.raises(UserError):
        sample_personas(n, seed=0, pool=pool)
