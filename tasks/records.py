"""The per-sample evaluation record shared by both task packs and the likelihood scorer.

Each record is ``{"id", "persona_id", "fact", "modality", "answer", "prediction", "exact",
"contains"}`` (docs/CONTRACT.md). It is the value of every per-sample metric, so source
and target answers of the same (persona, fact) can be paired from the sample logs alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from persona_bench.matching import contains_match, exact_match

RECORD_KEYS = ("id", "persona_id", "fact", "modality", "answer", "prediction", "exact", "contains")
METRICS = ("exact", "contains")


def make_record(doc: Mapping[str, Any], prediction: str) -> dict[str, Any]:
    prediction = prediction.strip()
    return {
        "id": doc["id"],
        "persona_id": doc["persona_id"],
        "fact": doc["fact"],
        "modality": doc["modality"],
        "answer": doc["answer"],
        "prediction": prediction,
        "exact": exact_match(prediction, doc["answer"]),
        "contains": contains_match(prediction, doc["answer"]),
    }


def mean_of(records: Iterable[Mapping[str, Any]], key: str) -> float:
    values = [float(record[key]) for record in records]
    return sum(values) / len(values) if values else float("nan")


# Task-pack functions (re-exported by tasks/lmms/utils.py and tasks/lm_eval/utils.py).
def process_results(doc: Mapping[str, Any], results: list[str]) -> dict[str, dict[str, Any]]:
    """Every metric carries the same full record; the aggregations pick their field."""
    record = make_record(doc, results[0])
    return {metric: record for metric in METRICS}


def mean_exact(records: list[Mapping[str, Any]]) -> float:
    return mean_of(records, "exact")


def mean_contains(records: list[Mapping[str, Any]]) -> float:
    return mean_of(records, "contains")
