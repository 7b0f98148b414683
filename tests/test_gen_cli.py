"""`persona-bench gen | inspect | push` as a user runs them (through the real dispatcher)."""

import subprocess
import sys

import pytest

from persona_bench.cli import main

FAST = ["--num-personas", "3", "--pretrain-personas", "0", "--image-size", "32", "--variants",
        "2", "--workers", "1", "--quiet"]


def test_gen_then_inspect(tmp_path, capsys):
    out = tmp_path / "data"
    assert main(["gen", "--out", str(out), *FAST]) == 0
    assert "wrote" in capsys.readouterr().out
    assert main(["inspect", str(out), "--config", "img2text", "--split", "train"]) == 0
    printed = capsys.readouterr().out
    assert "img2text/train" in printed and (out / "contact_sheet.png").is_file()


@pytest.mark.parametrize("args, message", [
    (["--num-personas", "0"], "--num-personas must be at least 1"),
    (["--renderer", "crayon"], "unknown renderer"),
    (["--renderer", "diffusers", "--t2i-model", "/nonexistent/pipe"], "--t2i-model"),
])
def test_gen_bad_input_one_line_error(tmp_path, capsys, args, message):
    out = tmp_path / "data"
    argv = ["gen", "--out", str(out), *FAST]
    for flag, value in zip(args[::2], args[1::2], strict=True):
        if flag in argv:
            argv[argv.index(flag) + 1] = value
        else:
            argv += [flag, value]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_gen_refuses_non_empty_output(tmp_path, capsys):
    (tmp_path / "x.txt").write_text("keep")
    assert main(["gen", "--out", str(tmp_path), *FAST]) == 2
    assert "not empty" in capsys.readouterr().err
    assert (tmp_path / "x.txt").read_text() == "keep"


def test_inspect_unknown_config_and_split(dataset_dir, capsys):
    assert main(["inspect", str(dataset_dir), "--config", "nope"]) == 2
    assert "unknown config 'nope'" in capsys.readouterr().err
    assert main(["inspect", str(dataset_dir), "--config", "img2text", "--split", "dev"]) == 2
    assert "has no split 'dev'" in capsys.readouterr().err


def test_push_offline_fails_with_one_line(dataset_dir, capsys):
    assert main(["push", str(dataset_dir), "--repo-id", "someone/persona-test"]) == 2
    err = capsys.readouterr().err.strip()
    assert "upload to someone/persona-test failed" in err and len(err.splitlines()) == 1


def test_console_script_runs():
    done = subprocess.run([sys.executable, "-m", "persona_bench.cli", "--help"],
                          capture_output=True, text=True, check=True)
    assert "gen" in done.stdout and "leaderboard" in done.stdout
