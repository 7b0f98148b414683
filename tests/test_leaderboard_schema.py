"""Checks of run manifests, training records and board files: one clear line per problem."""

from __future__ import annotations

import copy
import json

import pytest
from test_readers import write_submission

from persona_bench.errors import UserError
from persona_bench.leaderboards import schema
from persona_bench.leaderboards.schema import (
    MANIFEST,
    TRAIN_RECORD,
    check_direction,
    check_manifest,
    check_name,
    check_row,
    check_train_record,
    require,
)


@pytest.fixture
def documents(tmp_path):
    run = write_submission(tmp_path / "run")
    manifest = json.loads((run / MANIFEST).read_text())
    record = json.loads((run / "model" / TRAIN_RECORD).read_text())
    return manifest, record


def test_valid_documents_pass(documents):
    manifest, record = documents
    assert check_manifest(manifest, "m") is manifest
    assert check_train_record(record, "r") is record


@pytest.mark.parametrize(("path", "value", "message"), [
    (("schema",), "other/1", "schema 'other/1'"),
    (("direction",), "sideways", "unknown direction 'sideways'"),
    (("model", "revision"), None, "'revision' must be str"),
    (("harness",), "vllm", "harness must be one of"),
    (("commands",), [], "commands must be"),
    (("commands",), ["x" * 9000], "commands must be"),
    (("name",), "bad\nname", "control character U\\+000A"),
])
def test_manifest_problems(documents, path, value, message):
    manifest = copy.deepcopy(documents[0])
    target = manifest
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(UserError, match=message):
        check_manifest(manifest, "m")


@pytest.mark.parametrize(("path", "value", "message"), [
    (("dataset", "content_hash"), None, "no content hash"),
    (("source_modality",), "text", "inconsistent"),
    (("training", "method"), "dpo", "method must be"),
    (("training", "parts"), {"language_model": False}, "no part"),
    (("seed",), True, "'seed' must be int"),
    (("num_parameters",), "5M", "must be int"),
])
def test_train_record_problems(documents, path, value, message):
    record = copy.deepcopy(documents[1])
    target = record
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(UserError, match=message):
        check_train_record(record, "r")


def test_small_checks():
    assert check_direction("text2img") == "text2img"
    with pytest.raises(UserError, match="choose one of img2text, text2img"):
        check_direction("image2text")
    assert check_name("tiny LoRA (r=8)") == "tiny LoRA (r=8)"
    with pytest.raises(UserError):
        check_name("x" * 500)
    with pytest.raises(UserError, match="missing field 'a'"):
        require({}, "a", str, "where")
    with pytest.raises(UserError, match="schema"):
        check_row({"schema": "nope"}, "row")


def test_a_row_direction_is_any_registered_config_and_its_track_must_match():
    from persona_bench.experiments import CONFIGS
    from persona_bench.persona_gen import schema as dataset_schema

    assert tuple(CONFIGS) == schema.DIRECTIONS
    assert schema.MODALITIES == dataset_schema.MODALITIES
    row = {"direction": "multihop_image", "training": {}, "track": "multihop"}
    schema.check_track(row, "row")
    for track, training in (("transfer", {}), ("multihop", {"augment": {"config": "augment_id"}}),
                            ("nope", {})):
        with pytest.raises(UserError, match="track"):
            schema.check_track({**row, "track": track, "training": training}, "row")
    schema.check_track({"direction": "img2text", "training": {"augment": {
        "config": "augment_id"}}, "track": "mitigation"}, "row")
    assert schema.row_track({"direction": "img2text"}) == "transfer"  # rows before tracks
