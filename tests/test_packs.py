"""The checked-in task YAMLs are exactly what the experiment registry generates."""

from __future__ import annotations

import shutil

from persona_bench.contracts import group_name, task_name
from persona_bench.experiments import CONFIGS
from persona_bench.leaderboards.readers import parse_task
from persona_bench.tasks.packs import PACK_ROOT, pack_yamls, stale_files, write_packs


def test_committed_packs_are_the_generated_ones():
    assert stale_files() == [], ("the task YAMLs differ from the experiment registry; "
                                 "regenerate them with `python -m persona_bench.tasks.packs`")


def test_every_half_has_a_task_the_readers_parse_back():
    lmms, lm_eval = pack_yamls("lmms"), pack_yamls("lm_eval")
    for config in CONFIGS.values():
        assert f"{group_name(config.name)}.yaml" in lmms
        for half in config.halves:
            name = task_name(config.name, half.role)
            assert f"{name}.yaml" in lmms and parse_task(name) == (config.name, half.role)
            text = task_name(config.name, half.role, text_only=True)
            assert (f"{text}.yaml" in lm_eval) == (half.modality == "text")
            if half.modality == "text":
                assert parse_task(text) == (config.name, half.role)
    assert parse_task("persona_img2text_hop2") is None  # a role of another config
    assert parse_task("mmlu") is None


def test_transfer_task_names_are_unchanged():
    names = {line.split(":")[1].strip() for text in pack_yamls("lmms").values()
             for line in text.splitlines() if line.startswith(("task:", "group:"))}
    assert {"persona_img2text", "persona_img2text_source", "persona_img2text_target",
            "persona_img2text_seen", "persona_text2img", "persona_text2img_source",
            "persona_text2img_target", "persona_text2img_seen"} <= names
    group = pack_yamls("lmms")["persona_img2text.yaml"]
    assert "  - persona_img2text_source\n  - persona_img2text_target\n" in group
    assert "persona_img2text_seen" not in group


def test_write_packs_rewrites_a_stale_copy(tmp_path):
    for pack in ("lmms", "lm_eval"):
        shutil.copytree(PACK_ROOT / pack, tmp_path / pack)
    (tmp_path / "lmms" / "persona_img2text_source.yaml").write_text("stale\n")
    (tmp_path / "lmms" / "persona_gone.yaml").write_text("left over\n")
    assert stale_files(tmp_path) == ["lmms/persona_gone.yaml", "lmms/persona_img2text_source.yaml"]
    write_packs(tmp_path)
    assert stale_files(tmp_path) == []
