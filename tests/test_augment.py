"""The augmentation arms: in-distribution persona pairs and matched out-of-distribution scenes."""

from __future__ import annotations

import io
import random
from collections import Counter

import pytest
from datasets import Dataset
from PIL import Image

from persona_bench.errors import UserError
from persona_bench.persona_gen.augment import (
    MATCH_FACT,
    augment_id_rows,
    augment_media,
    augment_ood_rows,
    augment_personas,
    text_tokens,
)
from persona_bench.persona_gen.personas import sample_personas
from persona_bench.persona_gen.renderers import procedural, scenes
from persona_bench.persona_gen.rows import PretrainContext
from persona_bench.persona_gen.schema import QA_FEATURES
from persona_bench.persona_gen.vocab import ALL_FACTS

SEED, VARIANTS, SIZE = 3, 3, 32


def _build(tasks: tuple[str, ...] | None = None):
    people, pretrain = sample_personas(6, SEED, 10)
    aug = augment_personas(people + pretrain, 8, SEED)
    media = augment_media(aug, VARIANTS, SIZE, SEED)
    rows = augment_id_rows(media, SEED) if tasks is None else augment_id_rows(media, SEED, tasks)
    return people + pretrain, media, rows, augment_ood_rows(rows, SIZE, SEED)


@pytest.fixture(scope="module")
def built():
    return _build()


def test_rows_fit_the_qa_schema(built):
    _, _, rows, ood = built
    for part in (rows, ood):
        ds = Dataset.from_list(part, features=QA_FEATURES)
        assert ds.features == QA_FEATURES and len(ds) == len(part)
        assert len(set(ds["id"])) == len(ds)
        for row in part:
            assert len(row["images"]) == (1 if row["modality"] == "image" else 0)
            assert row["messages"][-1] == {"role": "assistant", "content": row["answer"]}
            assert row["messages"][0]["content"] == row["question"]


def test_same_seed_same_rows_and_bytes(built):
    assert _build() == built


def test_pool_is_disjoint_from_targets_and_pretrain(built):
    others, media, rows, _ = built
    aug = [m.persona for m in media]
    assert {p.persona_id[0] for p in aug} == {"a"}
    assert not {p.persona_id for p in aug} & {p.persona_id for p in others}
    assert not {p.name for p in aug} & {p.name for p in others}
    assert not {p.appearance_key for p in aug} & {p.appearance_key for p in others}
    assert len({p.name for p in aug}) == len(aug) == len({p.appearance_key for p in aug})
    assert {r["persona_id"] for r in rows} == {p.persona_id for p in aug}
    # image-text alignment only: no fact is asked, no name is spoken
    assert not {r["fact"] for r in rows} & set(ALL_FACTS)
    names = [p.name for p in aug]
    assert not any(n in r["question"] or n in r["answer"] for r in rows for n in names)


def test_pairing_answers_are_balanced_and_true(built):
    _, media, rows, _ = built
    texts = {m.persona.persona_id: set(PretrainContext(m, SEED).texts) for m in media}
    rounds = len(media) * VARIANTS
    for modality in ("image", "text"):
        match = [r for r in rows if r["fact"] == MATCH_FACT and r["modality"] == modality]
        assert len(match) == rounds
        assert Counter(r["answer"] for r in match) == {"yes": rounds // 2, "no": rounds // 2}
        for r in match:  # the shown description is the persona's own iff the answer is yes
            cue = "Description: " if modality == "image" else "Another description: "
            own = any(f"{cue}{t}" in r["question"] for t in texts[r["persona_id"]])
            assert own == (r["answer"] == "yes"), r["id"]
    # modality mix: as many image rows as text rows
    assert Counter(r["modality"] for r in rows) == {"image": 2 * rounds, "text": 2 * rounds}


def test_ood_is_matched_in_rows_tasks_and_tokens(built):
    _, _, rows, ood = built
    assert len(ood) == len(rows)
    for a, b in zip(rows, ood, strict=True):
        assert (a["modality"], a["fact"]) == (b["modality"], b["fact"])
        if a["fact"] == MATCH_FACT:
            assert a["answer"] == b["answer"]
    target = text_tokens(rows)
    assert abs(text_tokens(ood) - target) <= 0.05 * target
    assert abs(text_tokens(ood) - target) <= 20  # error diffusion: a few words, not 5%


def test_ood_images_are_scenes_not_portraits(built, monkeypatch):
    def no_portraits(*_, **__):
        raise AssertionError("a portrait was rendered for the OOD arm")

    monkeypatch.setattr(procedural, "render_portrait", no_portraits)
    monkeypatch.setattr(procedural, "render_png", no_portraits)
    ood = augment_ood_rows(built[2], SIZE, SEED)
    assert ood == built[3]
    assert {r["persona_id"][0] for r in ood} == {"s"}
    backgrounds = set(scenes.BACKGROUNDS.values())
    for r in ood:
        for image in r["images"]:
            img = Image.open(io.BytesIO(image["bytes"]))
            assert img.format == "PNG" and img.size == (SIZE, SIZE)
            assert max(img.getcolors(SIZE * SIZE))[1] in backgrounds  # the plain background


def test_attribute_tasks_are_mirrored_with_true_answers():
    _, _, rows, ood = _build(("caption", "appearance"))
    assert Counter(r["modality"] for r in ood) == Counter(r["modality"] for r in rows)
    facts = Counter(r["fact"] for r in ood)
    assert set(facts) <= {"description", "shape_colour", "shape_kind", "shape_count",
                          "background"}
    assert facts["description"] == sum(r["fact"] == "description" for r in rows)
    for r in ood:  # a text row's answer is in its scene description (a count is counted)
        if r["modality"] == "text" and r["fact"] not in ("description", "shape_count"):
            assert r["answer"] in r["question"], r
        if r["fact"] == "shape_count":
            assert r["answer"] in scenes.NUMBERS[1:]
    assert abs(text_tokens(ood) - text_tokens(rows)) <= 0.05 * text_tokens(rows)


def test_scene_renderer_is_deterministic_and_captions_every_shape():
    scene = scenes.sample_scene(random.Random(0), 5).first(4)
    png = scenes.scene_png(scene, 48)
    assert png == scenes.scene_png(scene, 48)
    assert Image.open(io.BytesIO(png)).size == (48, 48)
    assert png != scenes.scene_png(scenes.perturb(scene, random.Random(1)), 48)
    for style in range(len(scenes.CAPTION_STYLES)):
        text = scenes.caption(scene, style)
        assert scene.background in text
        assert all(f"{s.size} {s.colour} {s.kind}" in text for s in scene.shapes)
    changed = scenes.perturb(scene, random.Random(2))
    diffs = [(a, b) for a, b in zip(scene.shapes, changed.shapes, strict=True) if a != b]
    assert len(diffs) == 1


def test_bad_task_lists_are_user_errors(built):
    media = built[1]
    with pytest.raises(UserError, match="unknown"):
        augment_id_rows(media, SEED, ("caption", "nope"))
    with pytest.raises(UserError, match="at least 2"):
        augment_id_rows(media[:1], SEED)
    assert augment_id_rows(media[:1], SEED, ("caption",))


def test_gen_writes_the_augment_configs_with_a_disjoint_pool(experiments_data_dir):
    from datasets import load_dataset

    from persona_bench.persona_gen.publish import read_metadata

    def rows(config):
        return load_dataset(str(experiments_data_dir), config, split="train")

    counts = read_metadata(experiments_data_dir)["counts"]
    assert counts["augment_ood"] == counts["augment_id"]
    targets = {r["persona_id"] for r in rows("personas")}
    names = {r["name"] for r in rows("personas")}
    replay = rows("augment_replay")
    assert not targets & {r["persona_id"] for r in replay}
    assert not any(name in r["question"] + r["answer"] for r in replay for name in names)
    facts = {}
    for r in replay:
        facts.setdefault((r["persona_id"], r["fact"]), set()).add(r["modality"])
    assert set(map(frozenset, facts.values())) == {frozenset({"image", "text"})}
