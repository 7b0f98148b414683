"""Submissions built as a hostile submitter would: each is refused in one line, and the
board on disk is byte-for-byte what it was."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_readers import make_board, write_run, write_submission

from persona_bench.cli import main
from persona_bench.errors import UserError
from persona_bench.leaderboards.schema import MANIFEST, TRAIN_RECORD
from persona_bench.leaderboards.store import Board
from persona_bench.leaderboards.submission import load_submission


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()} if root.exists() else {}


def edit_lines(path: Path, edit) -> None:
    """Apply `edit(obj)` to every JSON line of a samples file."""
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    for row in rows:
        edit(row)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def refused(capsys, board: Path, run: Path, match: str, *extra: str) -> None:
    """`leaderboard add` exits 2 with one line matching `match`; the board is untouched."""
    before = snapshot(board)
    code = main(["leaderboard", "add", str(run), "--board", str(board), *extra])
    err = capsys.readouterr().err
    assert code == 2, err
    assert match in err and err.count("\n") == 1 and "Traceback" not in err, err
    assert snapshot(board) == before


@pytest.fixture
def board(tmp_path: Path) -> Path:
    make_board(tmp_path, ("alpha",))
    return tmp_path / "board"


def _all_samples(run: Path) -> list[Path]:
    return sorted((run / "eval").rglob("*_samples_*.jsonl"))


def test_gold_predictions_with_the_cross_check_fields_deleted(tmp_path, board, capsys):
    run = write_submission(tmp_path / "faked", name="faker", seed=5)

    def to_gold(sample: dict) -> None:
        for key in ("exact", "contains"):
            sample[key]["prediction"] = sample[key]["answer"]
            sample[key].pop("exact", None)
            sample[key].pop("contains", None)
        sample.pop("filtered_resps", None)

    for path in _all_samples(run):
        edit_lines(path, to_gold)
    refused(capsys, board, run, "no logged model response")


def test_self_reported_correct_flags_are_ignored(tmp_path, board, capsys):
    run = write_submission(tmp_path / "flags", name="flags", seed=6)

    def claim(sample: dict) -> None:
        for key in ("exact", "contains"):
            sample[key]["exact"] = sample[key]["contains"] = True

    edit_lines(next(p for p in _all_samples(run) if "target" in p.name), claim)
    refused(capsys, board, run, "the log was edited (tampered)")


def test_gold_answers_rewritten_to_the_predictions(tmp_path, board, capsys):
    run = write_submission(tmp_path / "answers", name="answers", seed=7)

    def flip(sample: dict) -> None:
        for key in ("exact", "contains"):
            sample[key]["answer"] = sample[key]["prediction"]
            sample[key]["exact"] = sample[key]["contains"] = True

    for path in _all_samples(run):
        edit_lines(path, flip)
    refused(capsys, board, run, "is not the logged target")


def test_personas_left_out_with_counts_adjusted(tmp_path, board, capsys):
    run = write_submission(tmp_path / "fewer", name="fewer", seed=8, n_personas=6)
    refused(capsys, board, run, "every row covers the full test split")


def test_one_fact_of_a_persona_left_out(tmp_path, board, capsys):
    run = write_submission(tmp_path / "gap", name="gap", seed=9, base=False)
    for path in (run / "eval").rglob("*_samples_persona_img2text_*.jsonl"):
        lines = path.read_text().splitlines()[1:]  # p0000's first fact
        path.write_text("".join(line + "\n" for line in lines))
    results = next((run / "eval").rglob("*_results.json"))
    meta = json.loads(results.read_text())
    for task in meta["n-samples"]:
        meta["n-samples"][task]["effective"] -= 1
    for task in meta["results"]:
        meta["results"][task] = {"alias": task}
    results.write_text(json.dumps(meta))
    refused(capsys, board, run, "persona p0000 is not asked name")


def test_nan_aggregate(tmp_path, board, capsys):
    run = write_submission(tmp_path / "nan", name="nan", seed=10)
    results = next((run / "eval").rglob("*_results.json"))
    meta = json.loads(results.read_text())
    meta["results"]["persona_img2text_source"]["exact,none"] = float("nan")
    results.write_text(json.dumps(meta))  # Python writes NaN, which is not JSON
    refused(capsys, board, run, "numbers must be finite")


@pytest.mark.parametrize("field, value, match", [
    ("num_parameters", "5M", "'num_parameters' must be int"),
    ("num_parameters", -1, "num_parameters must be between"),
    ("num_trainable_parameters", 10**12, "trainable parameters but"),
    ("seed", 1.5, "'seed' must be int"),
])
def test_wrongly_typed_fields_never_reach_the_board(tmp_path, board, capsys, field, value,
                                                    match):
    run = write_submission(tmp_path / "typed", name="typed", seed=11)
    record_path = run / "model" / TRAIN_RECORD
    record = json.loads(record_path.read_text())
    record[field] = value
    record_path.write_text(json.dumps(record))
    refused(capsys, board, run, match)
    assert main(["leaderboard", "show", "--board", str(board)]) == 0


@pytest.mark.parametrize("field, value, match", [
    ("results_dir", "../outside/eval", "leaves the submission folder"),
    ("results_dir", "/etc", "leaves the submission folder"),
    ("train_record", "../outside/model/persona_train.json", "leaves the submission folder"),
    ("base_results_dir", "linked", "symbolic link"),
    ("train_record", "model/linked.json", "symbolic link"),
])
def test_manifest_paths_never_leave_the_folder(tmp_path, board, capsys, field, value, match):
    outside = write_submission(tmp_path / "outside", name="outside", seed=12)
    run = write_submission(tmp_path / "run", name="run", seed=13)
    (run / "linked").symlink_to(outside / "eval_base", target_is_directory=True)
    (run / "model" / "linked.json").symlink_to(outside / "model" / TRAIN_RECORD)
    manifest = json.loads((run / MANIFEST).read_text())
    manifest[field] = value
    (run / MANIFEST).write_text(json.dumps(manifest))
    refused(capsys, board, run, match)


def test_symlinked_results_inside_the_results_folder(tmp_path, board, capsys):
    outside = write_run(tmp_path / "elsewhere", model="runs/x/model", seed=14)
    run = write_submission(tmp_path / "run", name="run", seed=14, base=False)
    (run / "eval" / "sneaky").symlink_to(next(outside.iterdir()), target_is_directory=True)
    refused(capsys, board, run, "symbolic link or lies outside")


@pytest.mark.parametrize("name, match", [
    ("evil\x1b[2J\x1b[31mred", "control character U+001B"),
    ("gpt\u202eevil", "U+202E"),
    ("Llаma-3", "mixes writing systems"),  # a Cyrillic а
])
def test_names_that_would_spoof_the_board(tmp_path, board, capsys, name, match):
    run = write_submission(tmp_path / "spoof", name="spoof", seed=15)
    refused(capsys, board, run, match, "--name", name)
    err_free = capsys.readouterr()
    assert "\x1b" not in err_free.err


@pytest.mark.parametrize("where, value, match", [
    (("dataset", "content_hash"), "sha256:<script>alert(1)</script>", "is not a hash"),
    (("model", "id"), "org/\x1b]0;pwned\x07model", "control character"),
])
def test_manifest_metadata_is_validated_before_it_can_plant_anything(tmp_path, capsys, where,
                                                                     value, match):
    run = write_submission(tmp_path / "first", name="first", seed=16)
    manifest = json.loads((run / MANIFEST).read_text())
    manifest[where[0]][where[1]] = value
    (run / MANIFEST).write_text(json.dumps(manifest))
    refused(capsys, tmp_path / "new-board", run, match)
    assert not (tmp_path / "new-board").exists() or not snapshot(tmp_path / "new-board")


def test_a_board_edited_into_an_invalid_state_names_the_row_and_the_repair(board, capsys):
    rows = board / "rows.jsonl"
    rows.write_text(rows.read_text().replace('"total": 5000000', '"total": "5M"'))
    before = snapshot(board)
    for command in (["show"], ["verify"], ["render", "--out", str(board.parent / "site")]):
        code = main(["leaderboard", *command, "--board", str(board)])
        err = capsys.readouterr().err
        assert code == 2 and "line 1 (row " in err and "git checkout --" in err, err
        assert err.count("\n") == 1
    assert snapshot(board) == before


@pytest.mark.parametrize("old, new", [
    ('"total": 5000000', '"total": 9000000'),
    ('"method": "full"', '"method": "lora"'),
    ('"version": "0.7.3"', '"version": "9.9.9"'),
])
def test_verify_catches_a_board_tampered_by_hand(board, capsys, old, new):
    rows = board / "rows.jsonl"
    text = rows.read_text()
    assert old in text
    rows.write_text(text.replace(old, new, 1))
    code = main(["leaderboard", "verify", "--board", str(board)])
    captured = capsys.readouterr()
    assert code == 1 and "differs from what its stored files give" in captured.err, captured
    assert "1 rows checked, 1 problems" in captured.out


def test_interrupted_add_leftovers_are_cleaned_by_the_next_add(tmp_path, board):
    leftover = board / "blobs" / ".deadbeef.jsonl.123.tmp"
    leftover.write_text("half")
    (board / ".rows.jsonl.456.tmp").write_text("half")
    Board(board).add(load_submission(write_submission(tmp_path / "next", name="next",
                                                      seed=17)), "next")
    assert not list(board.rglob(".*.tmp"))


def test_load_submission_refuses_a_symlinked_manifest(tmp_path):
    run = write_submission(tmp_path / "run")
    (tmp_path / "link").mkdir()
    (tmp_path / "link" / MANIFEST).symlink_to(run / MANIFEST)
    with pytest.raises(UserError, match="symbolic link"):
        load_submission(tmp_path / "link")
