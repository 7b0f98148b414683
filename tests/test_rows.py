from collections import Counter

from datasets import load_dataset

from persona_bench.persona_gen.generate import generate_dataset
from persona_bench.persona_gen.rows import PRETRAIN_TASKS
from persona_bench.persona_gen.schema import DIRECTIONS, QA_FEATURES, QA_SPLITS
from persona_bench.persona_gen.vocab import ALL_FACTS, APPEARANCE, TRAIN_TEMPLATES


def _split(dataset_dir, config, split):
    return load_dataset(str(dataset_dir), config, split=split)


def test_no_question_contains_its_answer(dataset_dir):
    for config in (*DIRECTIONS, "pretrain"):
        for split in QA_SPLITS if config in DIRECTIONS else ("train",):
            ds = _split(dataset_dir, config, split).select_columns(["question", "answer", "fact"])
            for row in ds:
                if row["fact"] in ALL_FACTS:  # descriptions and appearance are meant to
                    assert row["answer"].lower() not in row["question"].lower(), row


def test_splits_have_the_right_modality_and_coverage(dataset_dir):
    for direction, (source, target) in DIRECTIONS.items():
        want = {"train": source, "test_source": source, "test_target": target, "seen": source}
        for split, modality in want.items():
            ds = _split(dataset_dir, direction, split)
            assert set(ds["modality"]) == {modality}
            assert ds.features == QA_FEATURES
            pairs = Counter(zip(ds["persona_id"], ds["fact"], strict=True))
            assert set(f for _, f in pairs) == set(ALL_FACTS)
            if split != "train":
                assert set(pairs.values()) == {1}  # one row per persona/fact
            images = [len(x) for x in ds["images"]]
            assert set(images) == ({1} if modality == "image" else {0})


def test_source_and_target_rows_pair_up_on_held_out_material(dataset_dir):
    src = _split(dataset_dir, "img2text", "test_source")
    tgt = _split(dataset_dir, "img2text", "test_target")
    train = _split(dataset_dir, "img2text", "train")
    key = ["persona_id", "fact", "template", "answer"]
    assert sorted(zip(*[src[k] for k in key], strict=True)) == sorted(
        zip(*[tgt[k] for k in key], strict=True))
    assert all(t >= TRAIN_TEMPLATES for t in src["template"])
    assert all(t < TRAIN_TEMPLATES for t in train["template"])
    held_variant = max(src["variant"])
    assert held_variant not in set(train["variant"])


def test_seen_is_a_sample_of_train(dataset_dir):
    for direction in DIRECTIONS:
        seen = set(_split(dataset_dir, direction, "seen")["id"])
        assert seen <= set(_split(dataset_dir, direction, "train")["id"])


def test_messages_are_trl_conversations(dataset_dir):
    row = _split(dataset_dir, "text2img", "train")[0]
    assert [m["role"] for m in row["messages"]] == ["user", "assistant"]
    assert row["messages"][0]["content"] == row["question"]
    assert row["messages"][1]["content"] == row["answer"]


def test_pretrain_pool_is_disjoint_and_has_captions(dataset_dir):
    pool = _split(dataset_dir, "pretrain", "train")
    people = _split(dataset_dir, "personas", "train")
    assert not set(pool["persona_id"]) & set(people["persona_id"])
    assert not set(pool.filter(lambda r: r["fact"] == "name")["answer"]) & set(people["name"])
    assert {"description", *ALL_FACTS} == set(pool["fact"])
    assert {"image", "text"} == set(pool["modality"])


def test_pretrain_tasks_choose_the_pool_rows(tmp_path):
    out = generate_dataset(tmp_path / "d", num_personas=2, pretrain_personas=3, image_size=32,
                           variants=2, workers=1, progress=False,
                           pretrain_tasks=tuple(PRETRAIN_TASKS))
    pool = _split(out, "pretrain", "train")
    def kind(fact: str) -> str:
        return "fact" if fact in ALL_FACTS else "appearance" if fact in APPEARANCE else fact

    kinds = Counter((kind(r["fact"]), r["modality"])
                    for r in pool.select_columns(["fact", "modality"]))
    assert set(kinds) == {(k, m) for k in ("description", "appearance", "fact")
                          for m in ("image", "text")}
    text = pool.filter(lambda r: r["fact"] == "description" and r["modality"] == "text")[0]
    assert text["answer"] not in text["question"]  # a paraphrase, not a copy
