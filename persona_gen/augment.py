"""Rows of the augmentation experiment: extra image-text pairs mixed into one-modality training.

Wen et al. (2025) report that in-distribution image-text pairs narrow the cross-modal gap
while out-of-distribution pairs help less. Two arms test that here:

- `augment_id_rows`: portraits and descriptions of a *disjoint* persona pool (`a0000` ..,
  from `augment_personas`), as captioning in both directions and yes/no pairing questions.
  No fact (name, city...) is ever asked: the pool teaches how the modalities line up, not
  anything a test question could be answered from.
- `augment_ood_rows`: the same tasks on procedural scenes of coloured shapes
  (`renderers.scenes`, ids `s0000` ..), mirrored row by row from the `augment_id` rows:
  same row count, same task and modality of every row, same yes/no answers and, by error
  diffusion on the scene size, the same question+answer word count (`text_tokens`) to
  within a few words. So the arms differ in the distribution only.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from persona_bench.errors import UserError
from persona_bench.persona_gen.personas import Persona, _balanced, max_personas
from persona_bench.persona_gen.renderers import scenes
from persona_bench.persona_gen.rows import (
    GenContext,
    PersonaMedia,
    PretrainContext,
    _appearance,
    _caption,
    _paraphrase,
    make_descriptions,
    pretrain_rows,
    qa_row,
)
from persona_bench.persona_gen.vocab import APPEARANCE, FACTS, first_names, last_names

AUGMENT_PREFIX = "a"  # persona ids a0000..; targets are p...., the pretrain pool q....
SCENE_PREFIX = "s"
CAPTION_FACT = "description"  # the fact of caption/paraphrase rows, as in `pretrain`
MATCH_FACT = "match"
YES_NO = ("yes", "no")
NEAR = 3  # a mismatched description comes from one of the NEAR most similar pool personas

IMAGE_MATCH_QUESTIONS = (
    "Does this description match the person in the picture? Answer yes or no.",
    "Is the person in the picture the one described? Answer yes or no.",
)
TEXT_MATCH_QUESTIONS = (
    "Do these two descriptions describe the same person? Answer yes or no.",
    "Are both descriptions of one and the same person? Answer yes or no.",
)

# --------------------------------------------------------------------------- the pool


def augment_personas(exclude: Sequence[Persona], count: int, seed: int) -> list[Persona]:
    """`count` new personas sharing no name and no appearance with `exclude`.

    Pass the target personas and the pretrain pool (`sample_personas`) as `exclude`: this
    draws from its own random stream, so those two groups stay exactly as they were.
    """
    if count + len(exclude) > max_personas():
        raise UserError(f"{count} augmentation personas on top of {len(exclude)} others exceed "
                        f"the {max_personas()} the vocabularies allow")
    rng = random.Random(f"persona-bench:augment:{seed}")
    firsts, lasts = first_names(), last_names()
    used = {p.name for p in exclude}
    free = [f"{a} {b}" for a in firsts for b in lasts if f"{a} {b}" not in used]
    names = rng.sample(free, count)
    seen = {p.appearance_key for p in exclude}
    looks: list[dict[str, str]] = []
    while len(looks) < count:
        look = {attr: rng.choice(values) for attr, values in APPEARANCE.items()}
        if tuple(look.values()) not in seen:
            seen.add(tuple(look.values()))
            looks.append(look)
    facts = {fact: _balanced(rng, values, count) for fact, values in FACTS.items()}
    return [
        Persona(f"{AUGMENT_PREFIX}{i:04d}", names[i], looks[i],
                {"name": names[i], **{f: facts[f][i] for f in FACTS}})
        for i in range(count)
    ]


def augment_media(personas: Sequence[Persona], variants: int, image_size: int, seed: int,
                  renderer: str = "procedural", workers: int = 1) -> list[PersonaMedia]:
    """Portraits (the same renderer and job seeds as `generate`) and descriptions."""
    from persona_bench.persona_gen.generate import (
        render_all,  # lazy: generate may come to import us
    )

    images = render_all(list(personas), variants, image_size, seed, renderer,
                        {"workers": workers}, progress=False)
    return [PersonaMedia(p, imgs, make_descriptions(p, variants, seed))
            for p, imgs in zip(personas, images, strict=True)]


# --------------------------------------------------------------------------- augment_id


@dataclass
class _Pool:
    """What a task needs beyond its own persona: the others, and balanced yes/no streams."""

    contexts: dict[str, PretrainContext]
    near: dict[str, list[str]]
    answers: dict[str, Iterator[str]]

    def other_text(self, ctx: PretrainContext) -> str:
        """A description of a similar pool persona (a hard negative: many shared attributes)."""
        other = self.contexts[ctx.rng.choice(self.near[ctx.media.persona.persona_id])]
        return other.texts[ctx.rng.randrange(other.styles)]


def _nearest(pool: Sequence[PersonaMedia]) -> dict[str, list[str]]:
    def shared(a: Persona, b: Persona) -> int:
        return sum(a.appearance[k] == b.appearance[k] for k in APPEARANCE)

    people = [m.persona for m in pool]
    return {a.persona_id: [b.persona_id for b in sorted(
        (b for b in people if b is not a), key=lambda b: (-shared(a, b), b.persona_id))][:NEAR]
        for a in people}


def _match_image(ctx: PretrainContext, v: int, pool: _Pool) -> list[dict]:
    """Portrait + a description -> yes/no: does it describe this person?"""
    answer = next(pool.answers["match_image"])
    text = ctx.text() if answer == "yes" else pool.other_text(ctx)
    t = ctx.rng.randrange(len(IMAGE_MATCH_QUESTIONS))
    return [qa_row(ctx.media, MATCH_FACT, "image", v, t,
                   question=f"{IMAGE_MATCH_QUESTIONS[t]} Description: {text}", answer=answer)]


def _match_text(ctx: PretrainContext, v: int, pool: _Pool) -> list[dict]:
    """Two descriptions -> yes/no: the same person? (the text side of `_match_image`)."""
    answer = next(pool.answers["match_text"])
    k = ctx.rng.randrange(ctx.styles)
    if answer == "yes":
        text = ctx.texts[(k + 1 + ctx.rng.randrange(ctx.styles - 1)) % ctx.styles]
    else:
        text = pool.other_text(ctx)
    t = ctx.rng.randrange(len(TEXT_MATCH_QUESTIONS))
    return [qa_row(ctx.media, MATCH_FACT, "text", k, t,
                   question=f"Another description: {text} {TEXT_MATCH_QUESTIONS[t]}",
                   answer=answer)]


# Tasks by name: each gives the rows of one pool persona and image variant. Image and text
# rows come in equal numbers for every task list, as `augment_ood_rows` mirrors them.
AUGMENT_TASKS: dict[str, Callable[[PretrainContext, int, _Pool], list[dict]]] = {
    "caption": lambda ctx, v, pool: _caption(ctx, v),  # portrait -> description
    "paraphrase": lambda ctx, v, pool: _paraphrase(ctx, v),  # description -> description
    "match_image": _match_image,
    "match_text": _match_text,
    "appearance": lambda ctx, v, pool: _appearance(ctx, v),  # attributes from either side
}
DEFAULT_AUGMENT_TASKS: tuple[str, ...] = ("caption", "paraphrase", "match_image", "match_text")


def augment_id_rows(pool: Sequence[PersonaMedia], seed: int,
                    tasks: Sequence[str] = DEFAULT_AUGMENT_TASKS) -> list[dict]:
    """In-distribution image-text rows on the augmentation pool (`QA_FEATURES` schema).

    Every image variant of every pool persona gets one round of `tasks`. Pairing answers
    are exactly balanced per task (`yes` on half the rounds, rounded), in a seeded order.
    Ids end in ``-s<variant>`` (the round), so that they are unique without dropping rows.
    """
    unknown = [t for t in tasks if t not in AUGMENT_TASKS]
    if unknown or not tasks:
        raise UserError(f"unknown or no augmentation tasks {unknown or list(tasks)}; "
                        f"use some of: {', '.join(AUGMENT_TASKS)}")
    if len(pool) < 2 and any(t.startswith("match") for t in tasks):
        raise UserError("pairing questions need at least 2 augmentation personas")
    rounds = sum(len(m.images) for m in pool)
    state = _Pool(
        contexts={m.persona.persona_id: PretrainContext(m, seed) for m in pool},
        near=_nearest(pool) if len(pool) > 1 else {},
        answers={t: iter(_balanced(random.Random(f"{seed}:augment:{t}"), YES_NO, rounds))
                 for t in tasks},
    )
    rows: list[dict] = []
    for media in pool:
        ctx = state.contexts[media.persona.persona_id]
        for v in range(len(media.images)):
            for task in tasks:
                for row in AUGMENT_TASKS[task](ctx, v, state):
                    rows.append({**row, "id": f"{row['id']}-s{v}"})
    return rows


# --------------------------------------------------------------------------- augment_ood

SCENE_TEXT_PREFIX = "Consider the following scene."
SCENE_CAPTION_QUESTIONS = ("Describe this scene.", "What does this scene show?")
SCENE_IMAGE_MATCH = ("Does this description match the scene in the picture? Answer yes or no.",)
SCENE_TEXT_MATCH = ("Do these two descriptions describe the same scene? Answer yes or no.",)
SCENE_FACTS = ("shape_colour", "shape_kind", "shape_count", "background")


def row_tokens(row: dict) -> int:
    """Whitespace words of the prompt (description included) plus the answer."""
    return len(row["question"].split()) + len(row["answer"].split())


def text_tokens(rows: Iterable[dict]) -> int:
    """The arms' shared size measure: `row_tokens` summed (tokenizer-free, so reproducible)."""
    return sum(row_tokens(row) for row in rows)


def _scene_row(sid: str, fact: str, modality: str, variant: int, template: int, asked: str,
               answer: str, scene_text: str) -> dict:
    """One scene row in the `QA_FEATURES` schema; the image is added once a size is chosen."""
    prompt = asked if modality == "image" else f"{SCENE_TEXT_PREFIX} {scene_text} {asked}"
    return {
        "id": f"{sid}-{fact}-{modality}-v{variant}-t{template}",
        "persona_id": sid, "fact": fact, "modality": modality, "variant": variant,
        "template": template, "question": prompt, "answer": answer, "images": [],
        "messages": [{"role": "user", "content": prompt},
                     {"role": "assistant", "content": answer}],
    }


def _kind(row: dict) -> str:
    if row["fact"] == CAPTION_FACT:
        return "caption"
    if row["fact"] == MATCH_FACT and row["answer"] in YES_NO:
        return "match"
    return "attribute"


def _attribute(scene: scenes.Scene, rng: random.Random) -> tuple[str, str, str]:
    """(fact, question, answer) about one visible property of the scene."""
    fact = rng.choice(SCENE_FACTS)
    sh = rng.choice(scene.shapes)
    where = scenes.where(sh)
    if fact == "shape_colour":
        return fact, f"What colour is the shape {where}?", sh.colour
    if fact == "shape_kind":
        return fact, f"What shape is {where}?", sh.kind
    if fact == "shape_count":
        return fact, "How many shapes are there?", scenes.NUMBERS[len(scene.shapes)]
    return fact, "What colour is the background?", scene.background


def _scene_plan(ref: dict, sid: str, full: scenes.Scene, key: str) -> Callable[[int], dict]:
    """The mirror of `ref` on the first `n` shapes of `full`, as a function of `n`."""
    kind, modality = _kind(ref), ref["modality"]
    styles = len(scenes.CAPTION_STYLES)

    def plan(n: int) -> dict:
        rng = random.Random(f"{key}:{n}")
        scene = full.first(n)
        k = rng.randrange(styles)
        text = scenes.caption(scene, k)
        other = (k + 1 + rng.randrange(styles - 1)) % styles
        variant = 0 if modality == "image" else k
        if kind == "caption":
            c = rng.randrange(len(SCENE_CAPTION_QUESTIONS))
            answer = text if modality == "image" else scenes.caption(scene, other)
            return _scene_row(sid, CAPTION_FACT, modality, variant, c,
                              SCENE_CAPTION_QUESTIONS[c], answer, text)
        if kind == "match":
            shown = scene if ref["answer"] == "yes" else scenes.perturb(scene, rng)
            if modality == "image":
                asked = f"{SCENE_IMAGE_MATCH[0]} Description: {scenes.caption(shown, k)}"
            else:
                asked = f"Another description: {scenes.caption(shown, other)} {SCENE_TEXT_MATCH[0]}"
            return _scene_row(sid, MATCH_FACT, modality, variant, 0, asked, ref["answer"], text)
        fact, asked, answer = _attribute(scene, rng)
        return _scene_row(sid, fact, modality, variant, 0, asked, answer, text)

    return plan


def augment_ood_rows(like: Sequence[dict], image_size: int, seed: int) -> list[dict]:
    """Out-of-distribution rows (shape scenes) matched to `like` (e.g. `augment_id_rows`).

    Row i mirrors `like[i]`: same modality, same task (caption, paraphrase, pairing, or an
    attribute question for any other fact), same yes/no answer. The number of shapes (1-9)
    of scene i is the one that brings the running word count closest to that of `like`
    (error diffusion), so `text_tokens` of the two lists differ by a few words at most.
    Raises ValueError if they still differ by more than 5% (rows far longer than a scene
    caption can be).
    """
    rows: list[dict] = []
    carry = 0
    for i, ref in enumerate(like):
        sid = f"{SCENE_PREFIX}{i:04d}"
        key = f"{seed}:scene:{i}"
        full = scenes.sample_scene(random.Random(key))
        plan = _scene_plan(ref, sid, full, key)
        want = row_tokens(ref) + carry
        candidates = [plan(n) for n in range(1, scenes.MAX_SHAPES + 1)]
        best = min(range(len(candidates)), key=lambda j: abs(row_tokens(candidates[j]) - want))
        row = candidates[best]
        if row["modality"] == "image":
            row["images"] = [{"bytes": scenes.scene_png(full.first(best + 1), image_size),
                              "path": None}]
        carry = want - row_tokens(row)
        rows.append(row)
    target = text_tokens(like)
    if target and abs(text_tokens(rows) - target) > 0.05 * target:
        raise ValueError(f"scene rows have {text_tokens(rows)} words for {target} in `like`; "
                         "rows that long cannot be matched")
    return rows


# --------------------------------------------------------------------------- the experiment


def augment_replay_rows(pool: Sequence[PersonaMedia], seed: int) -> list[dict]:
    """Our mitigation: every fact of each augmentation persona asked from its portrait and
    from a description (the pretrain pool's `facts` task, on the augmentation pool)."""
    return pretrain_rows(list(pool), seed, ("facts",))


def augment_configs(ctx: GenContext) -> dict[str, dict[str, list[dict]]]:
    """The augment experiment's train-only configs (persona_bench/experiments/augment.py)."""
    if ctx.augment_personas < 2:
        raise UserError("the augment experiment needs at least 2 augmentation personas; "
                        "pass --augment-personas N (default: as many as --num-personas)")
    others = [m.persona for m in (*ctx.people, *ctx.pool)]
    personas = augment_personas(others, ctx.augment_personas, ctx.seed)
    media = augment_media(personas, ctx.variants, ctx.image_size, ctx.seed, ctx.renderer,
                          ctx.workers)
    in_distribution = augment_id_rows(media, ctx.seed)
    return {
        "augment_ood": {"train": augment_ood_rows(in_distribution, ctx.image_size, ctx.seed)},
        "augment_id": {"train": in_distribution},
        "augment_replay": {"train": augment_replay_rows(media, ctx.seed)},
    }
