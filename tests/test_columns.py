"""Leaderboard columns: formatting, sorting by each column's stated direction."""

from __future__ import annotations

import pytest

from persona_bench.errors import UserError
from persona_bench.leaderboards.bootstrap import Interval
from persona_bench.leaderboards.columns import (
    COLUMN_KEYS,
    fmt_count,
    fmt_interval,
    hub_id,
    model_label,
    printable,
    sort_rows,
    text_table,
)


def _row(row_id: str, target: float | None, gap: float | None, name: str) -> dict:
    def iv(v):
        return None if v is None else {"value": v, "low": v - 0.1, "high": v + 0.1}

    metrics = {k: v for k, v in (("target", iv(target)), ("gap", iv(gap))) if v is not None}
    return {"row_id": row_id, "name": name, "score": {"groups": {"all": {"metrics": metrics}}}}


ROWS = [_row("a", 0.5, 0.2, "zeta"), _row("b", 0.9, 0.4, "alpha"), _row("c", None, None, "mu")]


def test_sort_follows_each_columns_direction():
    assert [r["row_id"] for r in sort_rows(ROWS, "target")] == ["b", "a", "c"]  # higher first
    assert [r["row_id"] for r in sort_rows(ROWS, "gap")] == ["a", "b", "c"]  # lower first
    assert [r["row_id"] for r in sort_rows(ROWS, "name")] == ["b", "c", "a"]  # A-Z
    assert [r["row_id"] for r in sort_rows(ROWS, "target", reverse=True)] == ["a", "b", "c"]
    with pytest.raises(UserError, match="sort by one of"):
        sort_rows(ROWS, "speed")
    assert {"source", "target", "gap", "ratio", "chance", "params"} <= set(COLUMN_KEYS)


def test_formatting():
    assert fmt_interval(Interval(0.5, 0.25, 0.75)) == "0.500 [0.250, 0.750]"
    assert fmt_interval({"value": 1.0, "low": 1.0, "high": 1.0}) == "1.000 [1.000, 1.000]"
    assert fmt_interval(None) == fmt_interval(Interval(None, None, None)) == "-"
    assert (fmt_count(5_000_000), fmt_count(7_000_000_000), fmt_count(None)) == ("5.0M", "7.0B",
                                                                                "-")
    assert printable("a\x1b[31mb\u202ec") == "a\\x1b[31mb\\u202ec"  # escaped, never applied
    table = text_table(["h1", "header2"], [["x", "y"], ["long cell", "\x07"]])
    assert table.splitlines()[1] == "---------  -------"
    assert "\x07" not in table


def test_hub_ids_where_known(tmp_path):
    assert hub_id("Qwen/Qwen2-VL-2B-Instruct") == "Qwen/Qwen2-VL-2B-Instruct"
    cache = "/root/.cache/huggingface/hub/models--HuggingFaceTB--SmolVLM-256M/snapshots/abc"
    assert hub_id(cache) == "HuggingFaceTB/SmolVLM-256M"
    (tmp_path / "org").mkdir()
    (tmp_path / "org" / "m1").mkdir()
    assert hub_id(str(tmp_path / "org" / "m1")) is None
    assert hub_id("./runs/m1") is None and hub_id("m1") is None
    assert model_label("/tmp/demo/tiny-vlm-xs") == "local: tiny-vlm-xs"
    assert model_label(cache) == "HuggingFaceTB/SmolVLM-256M"
