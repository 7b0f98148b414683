"""Paired bootstrap over personas: deterministic, paired, honest about undefined values."""

from __future__ import annotations

import numpy as np

from persona_bench.leaderboards.bootstrap import interval, ratio, recall_draws, resample_weights


def test_weights_are_draw_counts_and_deterministic():
    weights = resample_weights(7, 200, seed=3)
    assert weights.shape == (200, 7)
    assert (weights.sum(axis=1) == 7).all()
    assert (resample_weights(7, 200, seed=3) == weights).all()
    assert not (resample_weights(7, 200, seed=4) == weights).all()
    # Python's random() sequence is guaranteed across versions: pin the first resample.
    assert resample_weights(4, 1, seed=0).tolist() == [[0.0, 2.0, 0.0, 2.0]]


def test_recall_pools_questions_of_the_drawn_personas():
    correct, total = np.array([1.0, 3.0]), np.array([2.0, 4.0])
    weights = np.array([[2.0, 0.0], [1.0, 1.0], [0.0, 2.0]])
    assert recall_draws(correct, total, weights).tolist() == [0.5, 4 / 6, 0.75]


def test_interval_contains_the_point_and_handles_nan():
    draws = np.linspace(0.2, 0.8, 1001)
    iv = interval(0.5, draws)
    assert iv.low <= iv.value <= iv.high
    assert abs(iv.low - 0.215) < 1e-9 and abs(iv.high - 0.785) < 1e-9
    assert interval(float("nan"), draws).value is None
    assert interval(0.5, np.array([np.nan, np.nan])).low is None
    assert np.isnan(ratio(np.array([1.0]), np.array([0.0]))[0])


def test_pairing_narrows_the_gap_of_correlated_sides():
    """Source and target share persona difficulty: a paired gap is much tighter."""
    rng = np.random.default_rng(0)
    skill = rng.uniform(0, 1, 40)
    total = np.full(40, 7.0)
    source, target = np.round(skill * 7), np.round(skill * 7 * 0.5)
    weights = resample_weights(40, 500, seed=0)
    paired = recall_draws(source, total, weights) - recall_draws(target, total, weights)
    unpaired = recall_draws(source, total, weights) - recall_draws(
        target, total, resample_weights(40, 500, seed=1))
    assert paired.std() < 0.6 * unpaired.std()
