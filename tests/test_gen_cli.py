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
    (["--num-personas", "-3"], "--num-personas must be at least 1, got -3"),
    (["--workers", "0"], "--workers must be at least 1"),
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


def test_gen_overwrite_refuses_a_folder_it_did_not_write(tmp_path, capsys):
    mine = tmp_path / "thesis"
    mine.mkdir()
    (mine / "chapter1.tex").write_text("three years of work")
    assert main(["gen", "--out", str(mine), "--overwrite", *FAST]) == 2
    err = capsys.readouterr().err
    assert "not a dataset folder written by `persona-bench gen`" in err and err.count("\n") == 1
    assert [p.name for p in mine.iterdir()] == ["chapter1.tex"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thesis"]


def test_gen_overwrite_replaces_its_own_dataset(tmp_path, capsys):
    out = tmp_path / "data"
    assert main(["gen", "--out", str(out), *FAST]) == 0
    assert main(["gen", "--out", str(out), "--overwrite", "--seed", "1", *FAST]) == 0
    assert "seed: 1" in (out / "README.md").read_text()


def test_gen_out_under_an_existing_file(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    assert main(["gen", "--out", str(tmp_path / "file" / "data"), *FAST]) == 2
    err = capsys.readouterr().err
    assert "which is a file" in err and err.count("\n") == 1
    assert (tmp_path / "file").read_text() == "x"


def test_interrupted_gen_leftovers_are_cleaned_next_run(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    leftover = tmp_path / f".data.{dead}.abc123.tmp"  # as atomic_dir names it
    (leftover / "img2text").mkdir(parents=True)
    assert main(["gen", "--out", str(tmp_path / "data"), *FAST]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


def test_full_disk_is_one_line_and_leaves_nothing(tmp_path, capsys, monkeypatch):
    import errno

    import datasets

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "x.parquet"))

    monkeypatch.setattr(datasets.Dataset, "to_parquet", full)  # publish imports it lazily
    assert main(["gen", "--out", str(tmp_path / "data"), *FAST]) == 2
    err = capsys.readouterr().err
    assert "x.parquet" in err and "the disk is full" in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []
