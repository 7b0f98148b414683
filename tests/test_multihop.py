"""Rows of the multi-hop experiment: each hop taught alone, the composed question never."""

from __future__ import annotations

import pytest
from datasets import load_dataset

from persona_bench.errors import UserError
from persona_bench.persona_gen.multihop import by_name
from persona_bench.persona_gen.vocab import ATTRIBUTE_FACTS
from persona_bench.tasks.data import check_has_config, load_split


def _split(data, config, split):
    return load_dataset(str(data), config, split=split)


@pytest.mark.parametrize("trained", ["image", "text"])
def test_hop1_is_taught_in_one_modality_and_hop2_by_name_only(experiments_data_dir, trained):
    train = _split(experiments_data_dir, f"multihop_{trained}", "train")
    people = {r["persona_id"]: r for r in _split(experiments_data_dir, "personas", "train")}
    hop1 = [r for r in train if r["fact"] == "name"]
    hop2 = [r for r in train if r["fact"] != "name"]
    assert hop1 and hop2 and {r["modality"] for r in hop1} == {trained}
    for row in hop2:  # plain text, the name in the question, no portrait, no description
        name = people[row["persona_id"]]["name"]
        assert row["modality"] == "text" and row["images"] == []
        assert name in row["question"] and "this person" not in row["question"]
        assert not any(d in row["question"] for d in people[row["persona_id"]]["descriptions"])
        assert row["answer"] == people[row["persona_id"]]["facts"][row["fact"]]


def test_composed_questions_name_nobody_and_pair_with_hop2(experiments_data_dir):
    people = {r["persona_id"]: r["name"] for r in _split(experiments_data_dir, "personas",
                                                        "train")}
    hop2 = _split(experiments_data_dir, "multihop_image", "test_hop2")
    for modality in ("image", "text"):
        composed = _split(experiments_data_dir, "multihop_image", f"test_composed_{modality}")
        assert {r["modality"] for r in composed} == {modality}
        assert {r["fact"] for r in composed} == set(ATTRIBUTE_FACTS)
        assert not any(people[r["persona_id"]] in r["question"] for r in composed)
        pairs = sorted((r["persona_id"], r["fact"], r["answer"]) for r in composed)
        assert pairs == sorted((r["persona_id"], r["fact"], r["answer"]) for r in hop2)
        hop1 = _split(experiments_data_dir, "multihop_image", f"test_hop1_{modality}")
        assert {r["fact"] for r in hop1} == {"name"} and len(hop1) == len(people)


def test_composed_image_question_is_the_transfer_source_question(experiments_data_dir):
    composed = _split(experiments_data_dir, "multihop_image", "test_composed_image")
    source = {r["id"]: r for r in _split(experiments_data_dir, "img2text", "test_source")}
    for row in composed:
        assert source[row["id"]]["question"] == row["question"]


def test_by_name_rewrites_this_person():
    assert by_name("Where was this person born?", "Amara Okafor") == "Where was Amara Okafor born?"
    assert by_name("What is this person's job?", "Li Wei") == "What is Li Wei's job?"
    with pytest.raises(ValueError, match="does not mention"):
        by_name("Where?", "X")


def test_a_dataset_without_multihop_says_how_to_regenerate(dataset_dir):
    with pytest.raises(UserError, match="no 'multihop_image' config .* regenerate it with "
                                        "`persona-bench gen --experiments transfer multihop"):
        check_has_config(str(dataset_dir), "multihop_image")
    with pytest.raises(UserError, match="no 'multihop_text' config"):
        load_split(str(dataset_dir), "multihop_text", "hop2")
    assert len(load_split(str(dataset_dir), "img2text", "source")) > 0
