"""The columns of the leaderboard (shared by the terminal, Markdown and HTML tables).

Each column reads a stored row (a dict, see `leaderboards.schema.Row`), gives a sort
value and a display text, and states its direction: higher is better, lower is better,
or neither. Headline numbers are the ``all`` fact group of the row's direction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from persona_bench.checks import printable as escape_unsafe
from persona_bench.errors import UserError

Value = float | str | None


def _get(obj: Any, key: str) -> Any:
    return obj.get(key) if isinstance(obj, dict) else getattr(obj, key, None)


def fmt_interval(value: Any) -> str:
    """``0.812 [0.700, 0.900]`` for an Interval or its dict; ``-`` when undefined."""
    point = _get(value, "value") if value is not None else None
    if point is None:
        return "-"
    low, high = _get(value, "low"), _get(value, "high")
    return f"{point:.3f} [{low:.3f}, {high:.3f}]"


def fmt_count(n: Any) -> str:
    if not isinstance(n, int):
        return "-"
    for unit, size in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= size:
            return f"{n / size:.1f}{unit}"
    return str(n)


def printable(text: str) -> str:
    """`text` with control and bidi characters escaped (submitted strings reach the terminal)."""
    return escape_unsafe(text, limit=10**6)


def text_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    cells = [[printable(str(c)) for c in row] for row in [headers, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
             for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def headline(row: dict, metric: str, group: str = "all") -> dict | None:
    """The interval dict of `metric` in `group` of a row's score (None when absent)."""
    return row["score"]["groups"].get(group, {}).get("metrics", {}).get(metric)


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    value: Callable[[dict], Value]
    text: Callable[[dict], str]
    higher_is_better: bool | None = None

    @property
    def arrow(self) -> str:
        return {True: " ↑", False: " ↓", None: ""}[self.higher_is_better]


def _metric_column(key: str, header: str, metric: str, better: bool | None) -> Column:
    return Column(
        key, header,
        value=lambda row: (headline(row, metric) or {}).get("value"),
        text=lambda row: fmt_interval(headline(row, metric)),
        higher_is_better=better,
    )


def _text_column(key: str, header: str, get: Callable[[dict], Any]) -> Column:
    return Column(key, header, value=lambda row: str(get(row)), text=lambda row: str(get(row)))


COLUMNS: tuple[Column, ...] = (
    _text_column("id", "id", lambda r: r["row_id"]),
    _text_column("name", "model", lambda r: r["name"]),
    _text_column("direction", "direction", lambda r: r["direction"]),
    _text_column("recipe", "trained", lambda r: r["training"].get("recipe", "-")),
    _text_column("base", "base model", lambda r: r["base_model"]["id"]),
    Column("params", "params", value=lambda r: (r["param_count"] or {}).get("total"),
           text=lambda r: fmt_count((r["param_count"] or {}).get("total"))),
    _metric_column("source", "source recall", "source", True),
    _metric_column("target", "target recall", "target", True),
    _metric_column("gap", "gap", "gap", False),
    _metric_column("ratio", "transfer ratio", "transfer_ratio", True),
    _metric_column("lik_target", "likelihood target", "likelihood_target", True),
    Column("chance", "chance", value=lambda r: r["score"]["groups"]["all"]["chance"],
           text=lambda r: f"{r['score']['groups']['all']['chance']:.3f}"),
    _text_column("date", "added", lambda r: r["added"][:10]),
)
COLUMN_KEYS = tuple(c.key for c in COLUMNS)
DEFAULT_SORT = "target"


def column(key: str) -> Column:
    for col in COLUMNS:
        if col.key == key:
            return col
    raise UserError(f"unknown column {key!r}; sort by one of {', '.join(COLUMN_KEYS)}")


def sort_rows(rows: list[dict], key: str = DEFAULT_SORT, reverse: bool = False) -> list[dict]:
    """Best first for scored columns (by their direction), A-Z for text; missing values last."""
    col = column(key)
    descending = (col.higher_is_better is True) != reverse
    present = [r for r in rows if col.value(r) is not None]
    missing = [r for r in rows if col.value(r) is None]
    present.sort(key=lambda r: (col.value(r), r["row_id"]), reverse=descending)
    return present + missing
