"""The training stage's light command lines agree with the modules they stand in for."""

from __future__ import annotations

import pytest

from persona_bench import families
from persona_bench.trainers import align, cli, tiny_vlm


def test_tiny_vlm_mirrors_agree():
    assert tuple(cli.SIZE_HELP) == tuple(tiny_vlm.SIZES)
    assert tuple(tiny_vlm.VISION) == cli.VISION_NAMES
    assert tuple(tiny_vlm.TEXT) == cli.TEXT_NAMES
    assert tuple(families.BUILDABLE) == cli.FAMILY_NAMES
    assert cli.DEFAULT_FAMILY == families.DEFAULT
    defaults = align.AlignConfig()
    assert defaults.personas == cli.ALIGN_PERSONAS
    assert defaults.temperature == cli.ALIGN_TEMPERATURE


@pytest.mark.parametrize("command", list(cli.SAVED_HELP))
def test_saved_help_is_the_real_one(command):
    saved = cli.saved_help(command)
    fix = "regenerate it with `python -m persona_bench.trainers.cli --write-train-help`"
    assert saved is not None, (f"trainers/{cli.SAVED_HELP[command][0]} is missing or was made "
                               f"from other trl/transformers/sources; {fix}")
    assert saved == cli.live_help(command), f"trainers/{cli.SAVED_HELP[command][0]} is stale; {fix}"


def test_old_and_new_flag_spellings(tmp_path):
    parser = cli.tiny_vlm_parser()
    for flag in ("--pretrain-steps", "--pretrain_steps"):
        args = parser.parse_args(["--out", str(tmp_path), flag, "7"])
        assert args.pretrain_steps == 7
