"""One flag spelling everywhere (the other accepted as an alias), defaults in help, and
`--help` of every command answered without importing torch, transformers or datasets."""

from __future__ import annotations

import json
import subprocess
import sys

from persona_bench.argparsing import ArgumentParser
from persona_bench.cli import COMMANDS


def _parser() -> ArgumentParser:
    parser = ArgumentParser(prog="x")
    parser.add_argument("--pretrain-steps", type=int, default=300, help="steps")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quiet", action="store_true", help="no bars")
    parser.add_argument("--data", help="a folder")
    return parser


def test_both_spellings_parse_and_help_lists_one():
    parser = _parser()
    assert parser.parse_args(["--pretrain_steps", "3"]).pretrain_steps == 3
    assert parser.parse_args(["--pretrain-steps", "4"]).pretrain_steps == 4
    text = parser.format_help()
    assert "--pretrain-steps PRETRAIN_STEPS" in text and "--pretrain_steps" not in text
    assert "steps (default: 300)" in text and "default: 0" in text
    assert "(default: False)" not in text and "(default: None)" not in text


HELP_PROBE = """
import contextlib, io, json, sys
from persona_bench.cli import COMMANDS, main
out = {}
for name in COMMANDS:
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer), contextlib.suppress(SystemExit):
        main([name, "--help"])
    heavy = sorted(m for m in ("torch", "transformers", "datasets", "trl") if m in sys.modules)
    out[name] = {"heavy": heavy, "help": buffer.getvalue()}
print(json.dumps(out))
"""


def test_every_help_is_light_and_shows_defaults():
    done = subprocess.run([sys.executable, "-c", HELP_PROBE], capture_output=True, text=True,
                          check=True)
    helps = json.loads(done.stdout)
    assert set(helps) == set(COMMANDS)
    for name, got in helps.items():
        assert got["heavy"] == [], f"{name} --help imported {got['heavy']}"
        assert got["help"].startswith("usage: persona-bench " + name), name
    assert "(default: xs)" in helps["tiny-vlm"]["help"]
    assert "--pretrain-steps" in helps["tiny-vlm"]["help"]
    assert "(default: 4)" in helps["likelihood"]["help"]
    assert "(default: 16)" in helps["eval"]["help"]
    assert "--num_train_epochs" in helps["train"]["help"]  # the full TRL option list
