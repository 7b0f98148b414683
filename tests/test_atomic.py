import pytest

from persona_bench.atomic import atomic_dir, write_text_atomic


def test_write_text_atomic_replaces_whole_file(tmp_path):
    path = tmp_path / "a" / "f.txt"
    write_text_atomic(path, "one")
    write_text_atomic(path, "two")
    assert path.read_text() == "two" and [p.name for p in path.parent.iterdir()] == ["f.txt"]


def test_atomic_dir_keeps_old_folder_on_error(tmp_path):
    out = tmp_path / "out"
    with atomic_dir(out) as tmp:
        (tmp / "x").write_text("old")
    with pytest.raises(RuntimeError), atomic_dir(out, overwrite=True) as tmp:
        (tmp / "x").write_text("new")
        raise RuntimeError
    assert (out / "x").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_atomic_dir_refuses_existing_without_overwrite(tmp_path):
    (tmp_path / "out").mkdir()
    with pytest.raises(FileExistsError), atomic_dir(tmp_path / "out"):
        pass


def test_clean_leftovers_removes_only_dead_writers_files(tmp_path):
    import os
    import subprocess
    import sys

    from persona_bench.atomic import clean_leftovers

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    (tmp_path / f".data.{dead}.x1.tmp").mkdir()
    (tmp_path / f".data.old-{dead}").mkdir()
    (tmp_path / f".rows.jsonl.{dead}.y.tmp").write_text("half")
    alive = tmp_path / f".data.{os.getpid()}.z.tmp"
    alive.mkdir()
    (tmp_path / ".data.notapid.tmp").mkdir()
    removed = clean_leftovers(tmp_path / "data") + clean_leftovers(tmp_path / "rows.jsonl")
    assert len(removed) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([alive.name, ".data.notapid.tmp"])
