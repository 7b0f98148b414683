"""Rows of the multi-hop experiment (persona_bench/experiments/multihop.py).

`multihop_<m>` teaches hop 1 (the name) only from modality m, and hop 2 (every other fact)
only by name in plain text: no portrait and no description ever sits beside a hop-2
answer. The composed questions reuse the held-out variant and held-out question template of
the transfer experiment, so a composed image question is the same question as a transfer
source question, with a model that was never taught it directly.
"""

from __future__ import annotations

from persona_bench.contracts import MODALITIES
from persona_bench.persona_gen.rows import GenContext, PersonaMedia, _template, qa_row
from persona_bench.persona_gen.vocab import ATTRIBUTE_FACTS, QUESTIONS, TRAIN_TEMPLATES

SUBJECT = "this person"


def by_name(question: str, name: str) -> str:
    """A template about "this person" asked about `name` instead (hop 2)."""
    if SUBJECT not in question:
        raise ValueError(f"question template {question!r} does not mention {SUBJECT!r}")
    return question.replace(f"{SUBJECT}'s", f"{name}'s", 1).replace(SUBJECT, name, 1)


def hop2_row(media: PersonaMedia, fact: str, template: int) -> dict:
    """The fact asked by the person's name, in text, with no description."""
    p = media.persona
    question = by_name(QUESTIONS[fact][template], p.name)
    answer = p.facts[fact]
    return {
        "id": f"{p.persona_id}-{fact}-byname-t{template}",
        "persona_id": p.persona_id,
        "fact": fact,
        "modality": "text",
        "variant": 0,
        "template": template,
        "question": question,
        "answer": answer,
        "images": [],
        "messages": [{"role": "user", "content": question},
                     {"role": "assistant", "content": answer}],
    }


def identity_splits(trained: str, people: list[PersonaMedia], seed: int
                    ) -> dict[str, list[dict]]:
    """`train` and the five test splits of `multihop_<trained>`."""
    splits: dict[str, list[dict]] = {"train": []}
    for m in MODALITIES:
        splits[f"test_composed_{m}"], splits[f"test_hop1_{m}"] = [], []
    splits["test_hop2"] = []
    for media in people:
        pid, held = media.persona.persona_id, media.held_out
        for v in range(held):  # hop 1, taught in one modality only
            t = _template(seed, pid, "name", trained, v, held_out=False)
            splits["train"].append(qa_row(media, "name", trained, v, t))
        for fact in ATTRIBUTE_FACTS:  # hop 2, taught by name only
            splits["train"] += [hop2_row(media, fact, t) for t in range(TRAIN_TEMPLATES)]
        t_name = _template(seed, pid, "name", "test", held_out=True)
        for m in MODALITIES:
            splits[f"test_hop1_{m}"].append(qa_row(media, "name", m, held, t_name))
        for fact in ATTRIBUTE_FACTS:
            t = _template(seed, pid, fact, "test", held_out=True)
            for m in MODALITIES:
                splits[f"test_composed_{m}"].append(qa_row(media, fact, m, held, t))
            splits["test_hop2"].append(hop2_row(media, fact, t))
    return splits


def multihop_rows(ctx: GenContext) -> dict[str, dict[str, list[dict]]]:
    return {f"multihop_{m}": identity_splits(m, ctx.people, ctx.seed) for m in MODALITIES}
