"""A trained model's card gets its leaderboard results as Hub `model-index` metadata."""

from __future__ import annotations

from huggingface_hub import ModelCard
from test_readers import make_board

from persona_bench.trainers.record import write_model_index


def test_model_index_round_trips_through_the_hub_parser(tmp_path):
    row = make_board(tmp_path, ("alpha",)).rows()[0]
    model = tmp_path / "model"
    model.mkdir()
    (model / "README.md").write_text("---\nlibrary_name: transformers\ntags:\n- persona-bench\n"
                                     "---\n\n# alpha\n\nbody kept\n", "utf-8")
    card_path = write_model_index(model, row)
    write_model_index(model, row)  # again: replaced, not appended
    card = ModelCard.load(card_path)
    assert card.data.library_name == "transformers" and "body kept" in card.text
    results = card.data.eval_results
    by_type = {r.metric_type: r for r in results}
    target = row["score"]["groups"]["all"]["metrics"]["target"]["value"]
    assert by_type["target"].metric_value == round(target, 4)
    assert by_type["target"].dataset_split == "test_target"
    assert by_type["source"].dataset_split == "test_source"
    assert by_type["target"].dataset_config == row["direction"]
    assert "chance" in by_type["target"].metric_name
    assert "lower is better" in by_type["gap"].metric_name
    assert "1 / " not in by_type["likelihood_target"].metric_name  # a number, not a formula
    assert len(results) == len(by_type)  # no duplicates after the second write
