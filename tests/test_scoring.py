"""Scores recomputed from per-sample logs: headline numbers, CIs, chance, base model, errors."""

from __future__ import annotations

import json

import pytest
from test_readers import HASH, edit_samples, samples_file, write_run

from persona_bench.errors import UserError
from persona_bench.leaderboards.scoring import (
    chance_from_dataset,
    dataset_facts,
    format_table,
    score_results,
)
from persona_bench.persona_gen.vocab import ALL_FACTS


def _direct_recall(out, task: str, facts=ALL_FACTS) -> float:
    """Recall counted straight from the JSONL, independently of the scorer."""
    records = [json.loads(line)["exact"] for line in samples_file(out, task).open()]
    hits = [r["prediction"] == r["answer"] for r in records if r["fact"] in facts]
    return sum(hits) / len(hits)


def test_headline_numbers_match_a_direct_count(tmp_path):
    out = write_run(tmp_path, accuracy={"source": 0.8, "target": 0.4, "seen": 1.0}, seed=7)
    score = score_results(out)
    group = score.directions["img2text"].groups
    source = _direct_recall(out, "persona_img2text_source")
    target = _direct_recall(out, "persona_img2text_target")
    metrics = group["all"].metrics
    assert metrics["source"].value == pytest.approx(source)
    assert metrics["target"].value == pytest.approx(target)
    assert metrics["gap"].value == pytest.approx(source - target)
    assert metrics["transfer_ratio"].value == pytest.approx(target / source)
    assert metrics["seen"].value == 1.0
    for iv in metrics.values():
        assert iv.low <= iv.value <= iv.high
    assert group["name"].metrics["target"].value == pytest.approx(
        _direct_recall(out, "persona_img2text_target", ("name",)))
    assert group["all"].n_pairs == 8 * len(ALL_FACTS) and group["name"].n_pairs == 8
    assert set(group) == {"all", "name", "attributes", *ALL_FACTS}
    assert score.directions["img2text"].n_personas == 8
    assert score.higher_is_better["gap"] is False and score.higher_is_better["target"] is True


def test_extremes_and_undefined_ratio(tmp_path):
    perfect = score_results(write_run(tmp_path / "a", accuracy={"source": 1.0, "target": 0.0}))
    metrics = perfect.directions["img2text"].groups["all"].metrics
    assert (metrics["gap"].value, metrics["gap"].low, metrics["gap"].high) == (1.0, 1.0, 1.0)
    assert metrics["transfer_ratio"].value == 0.0
    nothing = score_results(write_run(tmp_path / "b", accuracy={"source": 0.0, "target": 0.0}))
    assert nothing.directions["img2text"].groups["all"].metrics["transfer_ratio"].value is None


def test_deterministic_and_json_serialisable(tmp_path):
    out = write_run(tmp_path, likelihood=True)
    first, second = score_results(out), score_results(out)
    assert first.to_json() == second.to_json()
    data = json.loads(first.to_json())
    assert data["provenance"]["harness_version"] == "0.7.3"
    assert data["provenance"]["tasks"]["persona_img2text_source"]["dataset_hash"] == HASH
    assert "likelihood_target" in data["directions"]["img2text"]["groups"]["all"]["metrics"]
    assert data["directions"]["img2text"]["groups"]["all"]["likelihood_chance"] == 1 / 5
    assert score_results(out, seed=1).to_json() != first.to_json()


def test_base_model_gains(tmp_path):
    out = write_run(tmp_path / "run", accuracy={"source": 0.9, "target": 0.5})
    base = write_run(tmp_path / "base", accuracy={"source": 0.1, "target": 0.1}, seed=3)
    metrics = score_results(out, base_results_dir=base).directions["img2text"].groups["all"].metrics
    assert metrics["source_gain"].value == pytest.approx(
        metrics["source"].value - metrics["base_source"].value)
    assert metrics["adjusted_ratio"].value == pytest.approx(
        metrics["target_gain"].value / metrics["source_gain"].value)


def test_base_from_another_dataset_or_other_pairs_is_refused(tmp_path):
    out = write_run(tmp_path / "run")
    other = write_run(tmp_path / "other", dataset_hash="sha256:" + "cd" * 32)
    with pytest.raises(UserError, match="another dataset version"):
        score_results(out, base_results_dir=other)
    fewer = write_run(tmp_path / "fewer", n_personas=6)
    with pytest.raises(UserError, match="same persona/fact pairs"):
        score_results(out, base_results_dir=fewer)
    text2img = write_run(tmp_path / "t2i", directions=("text2img",))
    with pytest.raises(UserError, match="base-model results have no img2text"):
        score_results(out, base_results_dir=text2img)


def test_mislabelled_modality_is_refused(tmp_path):
    out = write_run(tmp_path)

    def to_image(sample: dict) -> None:
        for key in ("exact", "contains"):
            sample[key]["modality"] = "image"

    edit_samples(out, "persona_img2text_target", to_image)
    with pytest.raises(UserError, match="mislabelled"):
        score_results(out)


def test_unknown_or_absent_direction(tmp_path):
    out = write_run(tmp_path)
    with pytest.raises(UserError, match="unknown config 'img2txt'; choose one of img2text"):
        score_results(out, direction="img2txt")
    with pytest.raises(UserError, match="no text2img tasks"):
        score_results(out, direction="text2img")
    both = score_results(write_run(tmp_path / "b", directions=("img2text", "text2img")))
    assert set(both.directions) == {"img2text", "text2img"}


def test_one_half_only_scores_what_is_there(tmp_path):
    out = write_run(tmp_path, harness="lm-eval", accuracy={"target": 0.5})
    score = score_results(out, harness="lm-eval")
    metrics = score.directions["img2text"].groups["all"].metrics
    assert set(metrics) == {"target"}
    assert any("no source half" in w for w in score.warnings)


def test_chance_levels(tmp_path, dataset_dir):
    out = write_run(tmp_path)
    from_samples = score_results(out)
    assert from_samples.chance_source == "samples"
    assert from_samples.chance["name"] == 1 / 8  # eight personas, eight distinct names
    given = score_results(out, chance={f: 0.5 for f in ALL_FACTS})
    assert given.chance_source == "given"
    assert given.directions["img2text"].groups["all"].chance == 0.5
    with pytest.raises(UserError, match="no chance level"):
        score_results(out, chance={"name": 0.5})
    assert chance_from_dataset(dataset_dir) == {f: 1 / 8 for f in ALL_FACTS}
    with pytest.raises(UserError, match="another dataset version"):
        score_results(out, dataset=dataset_dir)  # synthetic samples, real dataset: hashes differ


def test_format_table_states_directions(tmp_path):
    out = write_run(tmp_path, likelihood=True)
    base = write_run(tmp_path / "base", seed=2)
    text = format_table(score_results(out, base_results_dir=base))
    assert "img2text: trained on image, tested on text (8 personas)" in text
    for header in ("source ↑", "target ↑", "gap ↓", "ratio ↑", "lik. target ↑", "base source"):
        assert header in text
    assert "higher is better" in text and max(map(len, text.splitlines())) < 130


def test_gold_answers_must_agree_across_sides(tmp_path):
    out = write_run(tmp_path, accuracy={"source": 0.0, "target": 0.0})

    def rename(sample: dict) -> None:  # consistently, the logged target too
        sample["target"] = "Somebody Else"
        for key in ("exact", "contains"):
            sample[key]["answer"] = "Somebody Else"

    edit_samples(out, "persona_img2text_target", rename, first_only=True)
    with pytest.raises(UserError, match="for the same persona and fact"):
        score_results(out)


def test_dataset_checks_hash_and_every_gold_answer(tmp_path, dataset_dir):
    from persona_bench.persona_gen.publish import read_metadata

    facts = dataset_facts(dataset_dir)
    content_hash = read_metadata(dataset_dir)["content_hash"]
    out = write_run(tmp_path / "ok", answers=facts, dataset_hash=content_hash)
    score = score_results(out, dataset=dataset_dir)
    assert score.chance_source == "dataset" and score.chance["name"] == 1 / 8
    first = next(iter(facts))
    edited = {**facts, first: {**facts[first], "hobby": "Edited Hobby"}}
    bad = write_run(tmp_path / "bad", answers=edited, dataset_hash=content_hash)
    with pytest.raises(UserError, match="not the dataset's"):
        score_results(bad, dataset=dataset_dir)


def test_dataset_check_refuses_runs_that_leave_personas_out(tmp_path, dataset_dir):
    from persona_bench.persona_gen.publish import read_metadata

    facts = dataset_facts(dataset_dir)
    fewer = dict(list(facts.items())[:-2])
    out = write_run(tmp_path / "fewer", answers=fewer,
                    dataset_hash=read_metadata(dataset_dir)["content_hash"])
    with pytest.raises(UserError, match="leaves out 2 of the dataset's 8 personas"):
        score_results(out, dataset=dataset_dir)


def test_score_table_never_prints_raw_control_characters(tmp_path):
    out = write_run(tmp_path, model="org/\x1b[2Jevil\u202e")
    text = format_table(score_results(out))
    assert "\x1b" not in text and "\u202e" not in text and "\\x1b[2Jevil\\u202e" in text


def test_the_model_record_decides_the_direction(tmp_path):
    """Text questions are in both directions' task lists (img2text target = text2img source):
    a model whose persona_train.json says it was trained on text is scored as text2img."""
    model = tmp_path / "m"
    model.mkdir()
    (model / "persona_train.json").write_text(json.dumps({"source_modality": "text"}))
    both = write_run(tmp_path / "both", model=str(model), directions=("img2text", "text2img"))
    score = score_results(both)
    assert set(score.directions) == {"text2img"}
    assert any("img2text: not scored" in w for w in score.warnings)
    assert "text2img: trained on text" in format_table(score)
    asked = score_results(both, direction="img2text")  # asked for explicitly: kept, with a note
    assert set(asked.directions) == {"img2text"}
    assert any("trained on text" in w for w in asked.warnings)
    only = write_run(tmp_path / "only", model=str(model), directions=("img2text",))
    with pytest.raises(UserError, match="trained on text .* pbench_text_text2img"):
        score_results(only)
