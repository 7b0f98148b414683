"""`persona-bench tasks`: copies of the task packs pinned to a local dataset."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from persona_bench.errors import UserError
from persona_bench.persona_gen.publish import read_metadata
from persona_bench.tasks.cli import tasks_main
from persona_bench.tasks.data import TASK_VERSION
from persona_bench.tasks.writer import (
    PACK_ROOT,
    PACKS,
    TEMPLATE,
    pack_files,
    pinned_template,
    write_task_pack,
)


def _template(folder: Path) -> dict:
    """The written template as YAML (its `!function` tags kept as plain strings)."""
    loader = type("Loader", (yaml.SafeLoader,), {})
    loader.add_constructor("!function", lambda loader, node: loader.construct_scalar(node))
    return yaml.load((folder / TEMPLATE).read_text(), Loader=loader)  # noqa: S506


def test_written_packs_pin_the_dataset_and_its_hash(dataset_dir: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "my_tasks"
    assert tasks_main(["--data", str(dataset_dir), "--out", str(out)]) == 0
    assert "--include_path" in capsys.readouterr().out
    digest = read_metadata(dataset_dir)["content_hash"]
    for pack in PACKS:
        folder = out / pack
        config = _template(folder)
        assert config["dataset_path"] == str(dataset_dir.resolve())
        assert config["metadata"] == {"version": TASK_VERSION, "content_hash": digest,
                                      "dataset_path": str(dataset_dir.resolve())}
        for src in pack_files(pack):  # everything else is a verbatim copy
            if src.name != TEMPLATE:
                assert (folder / src.name).read_bytes() == src.read_bytes()
        original = _template(PACK_ROOT / pack)
        pinned = ("dataset_path", "metadata", "dataset_kwargs")
        assert {k: v for k, v in config.items() if k not in pinned} == {
            k: v for k, v in original.items() if k not in pinned}


def test_refuses_to_overwrite_without_force(dataset_dir: Path, tmp_path: Path) -> None:
    write_task_pack(str(dataset_dir), tmp_path / "t", packs=("lmms",))
    with pytest.raises(UserError, match="--force"):
        write_task_pack(str(dataset_dir), tmp_path / "t")
    written = write_task_pack(str(dataset_dir), tmp_path / "t", overwrite=True)
    assert sorted(written) == sorted(PACKS)


@pytest.mark.parametrize("data", ["missing", "not_a_dataset"])
def test_bad_dataset_folders_are_one_line_errors(tmp_path: Path, data: str) -> None:
    (tmp_path / "not_a_dataset").mkdir()
    with pytest.raises(UserError, match="persona-bench gen") as err:
        write_task_pack(str(tmp_path / data), tmp_path / "out")
    assert "\n" not in str(err.value)
    assert not (tmp_path / "out").exists()


def test_unknown_pack_and_malformed_template(dataset_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="unknown task pack"):
        write_task_pack(str(dataset_dir), tmp_path / "out", packs=("helm",))
    with pytest.raises(ValueError, match="exactly one 'metadata' line"):
        pinned_template("dataset_path: x\ndataset_kwargs: {}\ntask: y\n", {"dataset_path": "/d"})
