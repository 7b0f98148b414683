"""Paired percentile bootstrap over personas.

Questions about the same persona are not independent, so the unit of resampling is the
persona. One weight matrix (how often each persona is drawn in each resample) is shared
by every side and every statistic of a direction, which pairs them: source and target
recall of a resample come from the same personas, and the gap's interval is the interval
of the paired difference. Draws use Python's `random.Random(seed).random()`, whose
sequence Python guarantees across versions, so a stored row recomputes to the same
interval anywhere.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

N_RESAMPLES = 1000
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Interval:
    """A point estimate and its bootstrap confidence interval (None when undefined)."""

    value: float | None
    low: float | None
    high: float | None


def resample_weights(n_personas: int, n_resamples: int = N_RESAMPLES, seed: int = 0) -> np.ndarray:
    """(n_resamples, n_personas) draw counts; each row sums to n_personas."""
    rng = random.Random(seed)
    draws = np.array([rng.random() for _ in range(n_resamples * n_personas)])
    index = np.minimum((draws * n_personas).astype(np.int64), n_personas - 1)
    index = index.reshape(n_resamples, n_personas) + n_personas * np.arange(n_resamples)[:, None]
    counts = np.bincount(index.ravel(), minlength=n_resamples * n_personas)
    return counts.reshape(n_resamples, n_personas).astype(np.float64)


def ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """Element-wise ratio with NaN where the denominator is 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator != 0, numerator / np.where(denominator != 0, denominator, 1),
                        np.nan)


def recall_draws(correct: np.ndarray, total: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Pooled recall (correct / asked over the drawn personas) in each resample."""
    return ratio(weights @ correct, weights @ total)


def interval(point: float, draws: np.ndarray, confidence: float = CONFIDENCE) -> Interval:
    """Percentile interval of the finite draws around `point` (all None if `point` is not)."""
    finite = draws[np.isfinite(draws)]
    if not np.isfinite(point) or finite.size == 0:
        return Interval(None, None, None)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(finite, [tail, 100 - tail])
    return Interval(float(point), float(low), float(high))
