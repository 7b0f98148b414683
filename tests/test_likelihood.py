"""Likelihood recall: candidate sets, ranking, and agreement with greedy generation."""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import pytest

from persona_bench.errors import UserError
from persona_bench.tasks.cli import likelihood_main, run_cli
from persona_bench.tasks.hf_model import HFModel, Query
from persona_bench.tasks.likelihood import (
    answer_pool,
    candidates,
    rank_of_truth,
    run_likelihood,
    score_rows,
)
from persona_bench.tasks.records import RECORD_KEYS

ROW = {"id": "p1-hobby", "fact": "hobby", "answer": "Chess"}


def test_candidates_are_same_fact_distractors_and_deterministic() -> None:
    others = [("hobby", "chess!"), ("hobby", "golf"), ("hobby", "sailing"), ("name", "Ann")]
    pool = answer_pool([ROW, *({"fact": f, "answer": a} for f, a in others)])
    assert pool == {"hobby": ["Chess", "golf", "sailing"], "name": ["Ann"]}
    cands = candidates(ROW, pool, k=4, seed=0)
    assert cands[0] == "Chess" and sorted(cands[1:]) == ["golf", "sailing"]  # k capped by pool
    assert candidates(ROW, pool, k=1, seed=0) == candidates(ROW, pool, k=1, seed=0)
    assert rank_of_truth([-1.0, -2.0, -3.0]) == 1
    assert rank_of_truth([-2.0, -1.0, -2.0]) == 3  # ties count against the truth


@pytest.fixture(scope="module")
def seen_rows(dataset_dir: Path) -> list[dict]:
    """Training rows (one per persona and fact) of the modality the model was trained on."""
    return list(datasets.load_dataset(str(dataset_dir), "text2img", split="seen"))


def test_memorised_facts_agree_with_generation(trained_vlm_dir: Path, seen_rows: list[dict]
                                               ) -> None:
    model = HFModel(str(trained_vlm_dir), device="cpu", dtype="float32")
    records = score_rows(model, seen_rows, k=4, batch_size=8)
    assert all(set(RECORD_KEYS) | {"rank", "correct", "k", "scores"} == set(r) for r in records)
    assert all(len(r["scores"]) == r["k"] + 1 for r in records)
    queries = [Query(r["question"], tuple(r["images"])) for r in seen_rows]
    generated = [text.strip() for start in range(0, len(queries), 16)
                 for text in model.generate(queries[start:start + 16], max_new_tokens=16,
                                            until=["\n"])]
    exact = [g.lower() == r["answer"].lower() for g, r in zip(generated, seen_rows, strict=True)]
    correct = [r["correct"] for r in records]
    assert sum(exact) / len(exact) >= 0.5, (
        "trained_vlm_dir should have memorised its training rows (the `seen` split)")
    agreement = sum(e == c for e, c in zip(exact, correct, strict=True)) / len(exact)
    assert agreement >= 0.85
    # where generation is right, the likelihood's top candidate is that same answer
    assert all(r["prediction"] == row["answer"] for r, row, e in
               zip(records, seen_rows, exact, strict=True) if e and r["correct"])


def test_untrained_model_is_near_chance_and_writes_logs(tiny_vlm_dir: Path, dataset_dir: Path,
                                                        tmp_path: Path) -> None:
    out = run_likelihood(str(tiny_vlm_dir), str(dataset_dir), "img2text", tmp_path, k=4,
                         batch_size=16, limit=28, dtype="float32", device="cpu")
    summary = json.loads((out / "likelihood_img2text_results.json").read_text())
    for half in ("source", "target"):
        result = summary["results"][half]
        assert result["n"] == 28 and result["chance"] == pytest.approx(0.2)
        assert result["accuracy"] < 0.5, "an untrained model should sit near chance (0.2)"
        lines = (out / result["samples"]).read_text().splitlines()
        assert len(lines) == 28 and json.loads(lines[0])["k"] == 4
    assert summary["content_hash"].startswith("sha256:")


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["--direction", "img2txt"], "invalid choice"),
    ],
)
def test_bad_arguments(argv: list[str], match: str, tmp_path: Path,
                       capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        likelihood_main(["--model", "m", "--out", str(tmp_path), *argv])
    assert match in capsys.readouterr().err


def test_an_unknown_half_is_refused_before_loading(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture) -> None:
    argv = ["--model", "m", "--out", str(tmp_path), "--direction", "img2text",
            "--halves", "middle"]
    assert run_cli(likelihood_main, argv) == 2
    assert "unknown split 'middle' of img2text; choose one of source, target, seen" in (
        capsys.readouterr().err)


def test_missing_dataset_and_model(tmp_path: Path, tiny_vlm_dir: Path,
                                   capsys: pytest.CaptureFixture) -> None:
    argv = ["--model", str(tiny_vlm_dir), "--data", str(tmp_path / "nope"),
            "--direction", "img2text", "--out", str(tmp_path / "o")]
    assert run_cli(likelihood_main, argv) == 2
    assert "persona-bench gen" in capsys.readouterr().err
    with pytest.raises(UserError, match="unknown split"):
        run_likelihood(str(tiny_vlm_dir), None, "img2text", tmp_path, halves=("middle",))


def test_cli_default_k_mirrors_the_scorer():
    from persona_bench.tasks import cli, likelihood

    assert cli.DEFAULT_K == likelihood.DEFAULT_K
