"""Turn personas, portraits and descriptions into question rows for every config/split."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from persona_bench.experiments import DEFAULT_EXPERIMENTS, get_experiment
from persona_bench.persona_gen.describe import HELD_OUT_STYLES, TRAIN_STYLES, describe
from persona_bench.persona_gen.personas import Persona
from persona_bench.persona_gen.schema import DIRECTIONS, MODALITIES, SFT_CONFIGS
from persona_bench.persona_gen.vocab import (
    ALL_FACTS,
    APPEARANCE_QUESTIONS,
    CAPTION_QUESTIONS,
    QUESTIONS,
    TRAIN_TEMPLATES,
)
from persona_bench.prompting import prompt_completion

TEXT_PREFIX = "Consider the following person."


@dataclass
class PersonaMedia:
    """A persona with its rendered portraits and its description paraphrases.

    The last image variant and the last description paraphrase are held out for testing.
    """

    persona: Persona
    images: list[bytes]
    descriptions: list[str]

    @property
    def held_out(self) -> int:
        return len(self.images) - 1


def make_descriptions(persona: Persona, variants: int, seed: int) -> list[str]:
    """`variants - 1` training paraphrases, then one held-out paraphrase."""
    key = f"{seed}:{persona.persona_id}"
    train = [describe(persona.appearance, k, False, key) for k in range(variants - 1)]
    return [*train, describe(persona.appearance, variants - 1, True, key)]


def text_question(description: str, question: str) -> str:
    return f"{TEXT_PREFIX} {description} {question}"


def qa_row(
    media: PersonaMedia,
    fact: str,
    modality: str,
    variant: int,
    template: int,
    question: str | None = None,
    answer: str | None = None,
) -> dict:
    """One question row in the schema of `schema.QA_FEATURES`."""
    p = media.persona
    asked = question if question is not None else QUESTIONS[fact][template]
    if modality == "image":
        prompt, images = asked, [{"bytes": media.images[variant], "path": None}]
    else:
        prompt, images = text_question(media.descriptions[variant], asked), []
    gold = answer if answer is not None else p.facts[fact]
    return {
        "id": f"{p.persona_id}-{fact}-{modality}-v{variant}-t{template}",
        "persona_id": p.persona_id,
        "fact": fact,
        "modality": modality,
        "variant": variant,
        "template": template,
        "question": prompt,
        "answer": gold,
        "images": images,
        "messages": [{"role": "user", "content": prompt}, {"role": "assistant", "content": gold}],
    }


def _template(seed: int, *key: object, held_out: bool) -> int:
    rng = random.Random(":".join(map(str, (seed, *key))))
    if held_out:
        return rng.randrange(TRAIN_TEMPLATES, len(QUESTIONS[key[1]]))
    return rng.randrange(TRAIN_TEMPLATES)


def direction_splits(
    direction: str, people: list[PersonaMedia], seed: int
) -> dict[str, list[dict]]:
    """Rows of `train`, `test_source`, `test_target` and `seen` for one direction."""
    source, target = DIRECTIONS[direction]
    splits: dict[str, list[dict]] = {"train": [], "test_source": [], "test_target": [], "seen": []}
    for media in people:
        pid, held = media.persona.persona_id, media.held_out
        for fact in ALL_FACTS:
            for v in range(held):
                t = _template(seed, pid, fact, source, v, held_out=False)
                splits["train"].append(qa_row(media, fact, source, v, t))
            splits["seen"].append(splits["train"][-held])
            t = _template(seed, pid, fact, "test", held_out=True)
            splits["test_source"].append(qa_row(media, fact, source, held, t))
            splits["test_target"].append(qa_row(media, fact, target, held, t))
    return splits


class PretrainContext:
    """One pool persona while its pretraining rows are made: media, every description style
    and a per-persona random stream (so each task's rows are deterministic)."""

    def __init__(self, media: PersonaMedia, seed: int) -> None:
        p = media.persona
        self.styles = len(TRAIN_STYLES) + len(HELD_OUT_STYLES)
        self.texts = [
            describe(p.appearance, k, k >= len(TRAIN_STYLES), f"{seed}:{p.persona_id}")
            for k in range(self.styles)
        ]
        self.media = PersonaMedia(p, media.images, self.texts)
        self.rng = random.Random(f"{seed}:pretrain:{p.persona_id}")

    def text(self) -> str:
        return self.texts[self.rng.randrange(self.styles)]


def _caption(ctx: PretrainContext, v: int) -> list[dict]:
    """Portrait -> a description (image captioning)."""
    c = ctx.rng.randrange(len(CAPTION_QUESTIONS))
    return [qa_row(ctx.media, "description", "image", v, c, question=CAPTION_QUESTIONS[c],
                   answer=ctx.text())]


def _paraphrase(ctx: PretrainContext, v: int) -> list[dict]:
    """Description -> another description style (the text side of captioning)."""
    c = ctx.rng.randrange(len(CAPTION_QUESTIONS))
    k = ctx.rng.randrange(ctx.styles)
    answer = ctx.texts[(k + 1 + ctx.rng.randrange(ctx.styles - 1)) % ctx.styles]
    return [qa_row(ctx.media, "description", "text", k, c, question=CAPTION_QUESTIONS[c],
                   answer=answer)]


APPEARANCE_PER_VARIANT = 4  # attributes asked per image variant, in each modality


def _appearance(ctx: PretrainContext, v: int) -> list[dict]:
    """A few visible attributes asked from the portrait and from a description."""
    attrs = list(APPEARANCE_QUESTIONS)
    rows = []
    for modality in MODALITIES:
        for a in ctx.rng.sample(range(len(attrs)), APPEARANCE_PER_VARIANT):
            variant = v if modality == "image" else ctx.rng.randrange(ctx.styles)
            rows.append(qa_row(ctx.media, attrs[a], modality, variant, a,
                               question=APPEARANCE_QUESTIONS[attrs[a]],
                               answer=ctx.media.persona.appearance[attrs[a]]))
    return rows


def _facts(ctx: PretrainContext, v: int) -> list[dict]:
    """Every fact of the pool persona, asked from the portrait and from a description."""
    rows = []
    for fact in ALL_FACTS:
        rows.append(qa_row(ctx.media, fact, "image", v, ctx.rng.randrange(len(QUESTIONS[fact]))))
        rows.append(qa_row(ctx.media, fact, "text", ctx.rng.randrange(ctx.styles),
                           ctx.rng.randrange(len(QUESTIONS[fact]))))
    return rows


# Pretraining tasks by name: each gives the rows of one pool persona and image variant.
PRETRAIN_TASKS: dict[str, Callable[[PretrainContext, int], list[dict]]] = {
    "caption": _caption,
    "paraphrase": _paraphrase,
    "appearance": _appearance,
    "facts": _facts,
}
DEFAULT_PRETRAIN_TASKS: tuple[str, ...] = ("caption", "facts")


def pretrain_rows(pool: list[PersonaMedia], seed: int,
                  tasks: Sequence[str] = DEFAULT_PRETRAIN_TASKS) -> list[dict]:
    """Alignment rows on the disjoint pool, from the `PRETRAIN_TASKS` named in `tasks`.

    The pool sees every question template and every description style: it stands in for
    the broad pretraining of a real VLM, and shares no persona with the target set.
    """
    rows: list[dict] = []
    for media in pool:
        ctx = PretrainContext(media, seed)
        for v in range(len(media.images)):
            for task in tasks:
                rows += PRETRAIN_TASKS[task](ctx, v)
    return list({row["id"]: row for row in rows}.values())  # drop rare exact repeats


def persona_row(media: PersonaMedia) -> dict:
    p = media.persona
    return {
        "persona_id": p.persona_id,
        "name": p.name,
        "appearance": dict(p.appearance),
        "facts": dict(p.facts),
        "descriptions": list(media.descriptions),
        "images": [{"bytes": png, "path": None} for png in media.images],
    }


def sft_row(row: dict) -> dict:
    """A train row as TRL prompt/completion (the `<direction>_sft` configs)."""
    return {"id": row["id"], "images": row["images"], **prompt_completion(row["messages"])}


@dataclass(frozen=True)
class GenContext:
    """What an experiment's row builder gets: the rendered personas and the options."""

    people: list[PersonaMedia]  # the target personas
    pool: list[PersonaMedia]  # the pretrain pool (disjoint from `people`)
    seed: int
    image_size: int = 64
    variants: int = 4
    renderer: str = "procedural"
    workers: int = 1
    augment_personas: int = 0  # size of the augmentation pool (augment experiment)


def transfer_rows(ctx: GenContext) -> dict[str, dict[str, list[dict]]]:
    """The transfer experiment's configs (persona_bench/experiments/transfer.py)."""
    return {direction: direction_splits(direction, ctx.people, ctx.seed)
            for direction in DIRECTIONS}


def all_configs(
    ctx: GenContext,
    pretrain_tasks: Sequence[str] = DEFAULT_PRETRAIN_TASKS,
    experiments: Sequence[str] = DEFAULT_EXPERIMENTS,
) -> Iterator[tuple[str, str, list[dict]]]:
    """Yield (config, split, rows): each experiment's configs, the pool, the personas, and
    the `_sft` copy of every config that declares one."""
    people, pool, seed = ctx.people, ctx.pool, ctx.seed
    train: dict[str, list[dict]] = {}
    for name in experiments:
        for config, splits in get_experiment(name).row_builder()(ctx).items():
            train[config] = splits["train"]
            for split, rows in splits.items():
                yield config, split, rows
    if pool:
        yield "pretrain", "train", pretrain_rows(pool, seed, pretrain_tasks)
    yield "personas", "train", [persona_row(m) for m in people]
    for config, source in SFT_CONFIGS.items():
        if source in train:
            yield config, "train", [sft_row(row) for row in train[source]]
