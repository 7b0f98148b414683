"""Likelihood recall: rank the true answer among k same-fact distractors by log-probability.

Generation needs one decoding step per answer token; this needs one batched forward pass
per candidate set. For each question, the candidates are the true answer and k other
values of the same fact present in the split (drawn with a per-question seed; a half that
declares `distractors` draws them from that split instead, e.g. the unlearning experiment's
one-persona forget sets draw from `train`). Each
candidate is scored as the summed log-probability of ``answer + end-of-turn`` (the whole
reply the model was trained to give) after the same chat prompt the generation path uses,
so the top candidate is what greedy decoding would prefer among them.

Per-sample records are the generation records (`persona_bench.tasks.records`, ``prediction`` = the
top-ranked candidate) plus ``rank`` (1 = best; ties count against the truth), ``correct``
(rank 1), ``k`` (distractors used) and ``scores`` (each candidate's log-probability, the
truth first: what the unlearning experiment's truth ratio and forget quality are computed
from). Chance accuracy is 1/(k+1); higher is better.

    python -m persona_bench.tasks.likelihood --model DIR --data DATA --direction img2text --out OUT
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from persona_bench.atomic import write_text_atomic
from persona_bench.contracts import likelihood_results, likelihood_samples
from persona_bench.experiments import check_config
from persona_bench.matching import normalize
from persona_bench.tasks.data import (
    check_split,
    content_hash,
    load_split,
    resolve_dataset_path,
)
from persona_bench.tasks.hf_model import HFModel, Query
from persona_bench.tasks.records import make_record, mean_of

DEFAULT_K = 4
NORMALIZATION = "sum of log-probs of answer + end-of-turn"


def answer_pool(rows: Iterable[Mapping[str, Any]]) -> dict[str, list[str]]:
    """fact -> the distinct answers (first spelling of each normalised form), sorted."""
    pool: dict[str, dict[str, str]] = {}
    for row in rows:
        pool.setdefault(row["fact"], {}).setdefault(normalize(row["answer"]), row["answer"])
    return {fact: sorted(values.values()) for fact, values in pool.items()}


def candidates(row: Mapping[str, Any], pool: Mapping[str, Sequence[str]], k: int, seed: int
               ) -> list[str]:
    """The true answer first, then up to k distractors of the same fact."""
    gold = normalize(row["answer"])
    others = [value for value in pool.get(row["fact"], ()) if normalize(value) != gold]
    rng = random.Random(f"{seed}:{row['id']}")
    return [row["answer"], *rng.sample(others, min(k, len(others)))]


def rank_of_truth(scores: Sequence[float]) -> int:
    """1 + the number of distractors scoring at least as high as the truth (scores[0])."""
    return 1 + sum(score >= scores[0] for score in scores[1:])


def score_rows(
    model: HFModel,
    rows: Sequence[Mapping[str, Any]],
    *,
    pool: Mapping[str, Sequence[str]] | None = None,
    k: int = DEFAULT_K,
    batch_size: int = 8,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """One record per row; `batch_size` candidate sets share each forward pass."""
    pool = answer_pool(rows) if pool is None else pool
    end = model.end_of_turn()
    records: list[dict[str, Any]] = []
    for start in range(0, len(rows), batch_size):
        batch = rows[start : start + batch_size]
        sets = [candidates(row, pool, k, seed) for row in batch]
        queries = [Query(row["question"], tuple(row["images"])) for row in batch]
        flat_queries = [q for q, cands in zip(queries, sets, strict=True) for _ in cands]
        scores = [s for s, _ in model.score(flat_queries, [c + end for cs in sets for c in cs])]
        offset = 0
        for row, cands in zip(batch, sets, strict=True):
            own = scores[offset : offset + len(cands)]
            offset += len(cands)
            best = max(range(len(cands)), key=lambda i: (own[i], i))  # ties: a distractor
            rank = rank_of_truth(own)
            record = make_record(row, cands[best])
            record.update(rank=rank, correct=rank == 1, k=len(cands) - 1,
                          scores=[round(float(x), 6) for x in own])
            records.append(record)
    return records


def summarize(records: Sequence[Mapping[str, Any]]) -> dict[str, float | int]:
    return {
        "n": len(records),
        "accuracy": mean_of(records, "correct"),
        "mean_rank": mean_of(records, "rank"),
        "chance": mean_of([{"c": 1 / (r["k"] + 1)} for r in records], "c"),
        "exact": mean_of(records, "exact"),
        "contains": mean_of(records, "contains"),
    }


def run_likelihood(
    model: str | HFModel,
    data: str | None,
    direction: str,
    out_dir: str | Path,
    *,
    halves: Sequence[str] = ("source", "target"),
    k: int = DEFAULT_K,
    batch_size: int = 8,
    limit: int | None = None,
    seed: int = 0,
    device: str | None = None,
    dtype: str | None = None,
) -> Path:
    """Score each half (a role of the config); write `likelihood_<config>_<role>.jsonl` + a
    results JSON.

    Returns `out_dir`. The pool of distractors is each full split, even with `limit`.
    """
    splits = {half: check_split(direction, half) for half in halves}
    dataset = resolve_dataset_path(data)
    hf = model if isinstance(model, HFModel) else HFModel(model, device=device, dtype=dtype)
    out = Path(out_dir)
    summary: dict[str, Any] = {
        "direction": direction,
        "dataset": dataset,
        "content_hash": content_hash(dataset),
        "model": hf.describe(),
        "settings": {"k": k, "seed": seed, "batch_size": batch_size, "limit": limit,
                     "score": NORMALIZATION, "metric": "accuracy (rank 1), higher is better"},
        "results": {},
    }
    declared = check_config(direction)
    for half, split in splits.items():
        rows = load_split(dataset, direction, split)
        where = declared.half(half).distractors or split  # a few personas: a wider pool
        pool_rows = rows if where == split else load_split(dataset, direction, where)
        pool = answer_pool(pool_rows.remove_columns(["images", "messages"]))
        rows = rows.select(range(min(limit, len(rows)))) if limit else rows
        started = time.perf_counter()
        records = score_rows(hf, list(rows), pool=pool, k=k, batch_size=batch_size, seed=seed)
        seconds = time.perf_counter() - started
        path = out / likelihood_samples(direction, half)
        write_text_atomic(path, "".join(json.dumps(r) + "\n" for r in records))
        summary["results"][half] = {
            **summarize(records), "split": split, "distractors_from": where,
            "samples": path.name, "seconds": seconds,
        }
    write_text_atomic(out / likelihood_results(direction), json.dumps(summary, indent=2))
    return out


if __name__ == "__main__":
    import sys

    from persona_bench.tasks.cli import likelihood_main, run_cli

    sys.exit(run_cli(likelihood_main))
