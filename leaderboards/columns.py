"""The columns of the leaderboard (shared by the terminal, Markdown and HTML tables).

Each column reads a stored row (a dict, see `persona_bench.leaderboards.schema.Row`), gives a sort
value and a display text, and states its direction: higher is better, lower is better,
or neither. Headline numbers are the ``all`` fact group of the row's direction.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from persona_bench.checks import printable as escape_unsafe
from persona_bench.errors import UserError

Value = float | str | None
# The leaderboard's tracks as the page and the Markdown name them (persona_bench.experiments).
TRACK_TITLES = {"transfer": "Transfer", "multihop": "Multi-hop", "mitigation": "Mitigation",
                "unlearning": "Unlearning"}


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


def group(row: dict, name: str = "all") -> dict:
    """The stored score of fact group `name` (``all``: every fact) of a row."""
    return row["score"]["groups"].get(name, {})


def exact_chance(row: dict) -> float | None:
    """Mean chance of an exact answer over the questions: 1 / distinct values per fact."""
    return group(row).get("chance")


def likelihood_chance(row: dict) -> float | None:
    """Mean 1/(k+1) over the likelihood questions (the answer and k distractors)."""
    return group(row).get("likelihood_chance")


# name -> (level of a row, what it is): each recall column names the one that applies.
CHANCES: dict[str, tuple[Callable[[dict], float | None], str]] = {
    "exact": (exact_chance, "exact-match chance, 1 / distinct values of the fact"),
    "likelihood": (likelihood_chance, "likelihood chance, 1 / (k + 1)"),
}


@dataclass(frozen=True)
class Column:
    """One column: how to read it from a row, its direction, definition and chance level.

    `main` columns are the ones a narrow screen shows first (the rest sit behind a toggle);
    `chance` gives the level a guess reaches on this column's questions (None: not a recall).
    """

    key: str
    header: str
    value: Callable[[dict], Value]
    text: Callable[[dict], str]
    higher_is_better: bool | None = None
    definition: str = ""
    main: bool = False
    chance: str | None = None  # a key of CHANCES: the guessing level of this column
    metric: str | None = None  # the score metric (an interval) the column shows, if any

    def chance_level(self, row: dict) -> float | None:
        return CHANCES[self.chance][0](row) if self.chance else None

    @property
    def arrow(self) -> str:
        return {True: " ↑", False: " ↓", None: ""}[self.higher_is_better]

    @property
    def direction(self) -> str:
        return {True: "higher is better", False: "lower is better",
                None: "no direction"}[self.higher_is_better]


def _metric_column(key: str, header: str, metric: str, better: bool | None, definition: str,
                   main: bool = False, chance: str | None = None) -> Column:
    return Column(
        key, header,
        value=lambda row: (headline(row, metric) or {}).get("value"),
        text=lambda row: fmt_interval(headline(row, metric)),
        higher_is_better=better, definition=definition, main=main, chance=chance, metric=metric,
    )


def _text_column(key: str, header: str, get: Callable[[dict], Any], definition: str,
                 main: bool = False) -> Column:
    return Column(key, header, value=lambda row: str(get(row)), text=lambda row: str(get(row)),
                  definition=definition, main=main)


def _number_column(key: str, header: str, get: Callable[[dict], float | int | None],
                   fmt: Callable[[Any], str], definition: str, main: bool = False) -> Column:
    return Column(key, header, value=get,
                  text=lambda row: "-" if get(row) is None else fmt(get(row)),
                  definition=definition, main=main)


_HUB_CACHE = re.compile(r"models--(?P<org>[^/]+?)--(?P<name>[^/]+)/snapshots/")
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def hub_id(model_id: str) -> str | None:
    """The Hub id of a model reference, where it is known: the id itself, or the repo of a
    Hub cache snapshot folder. None for a local folder (absolute, relative or existing)."""
    cached = _HUB_CACHE.search(model_id)
    if cached:
        return f"{cached['org']}/{cached['name']}"
    local = model_id.startswith((".", "/", "~")) or Path(model_id).exists()
    return model_id if _HUB_ID.match(model_id) and not local else None


def model_label(model_id: str) -> str:
    """A short display name: the Hub id, or ``local: <folder name>`` (full path elsewhere)."""
    return hub_id(model_id) or f"local: {Path(model_id).name or model_id}"


def _harness(row: dict) -> str:
    return f"{row['harness']['name']} {row['harness']['version']}"


X = "exact match"
COLUMNS: tuple[Column, ...] = (
    _text_column("id", "id", lambda r: r["row_id"], "row id: hash of name, model revision, "
                 "direction and training recipe"),
    _text_column("name", "model", lambda r: r["name"], "display name of the evaluated model",
                 main=True),
    _text_column("direction", "direction", lambda r: r["direction"],
                 "img2text: trained on portraits, tested on descriptions; text2img: the mirror",
                 main=True),
    _text_column("recipe", "trained", lambda r: r["training"].get("recipe", "-"),
                 "method (full / lora / none) and the parts trained", main=True),
    _text_column("base", "base model", lambda r: model_label(r["base_model"]["id"]),
                 "the checkpoint that was fine-tuned (Hub id where known)"),
    Column("params", "params", value=lambda r: (r["param_count"] or {}).get("total"),
           text=lambda r: fmt_count((r["param_count"] or {}).get("total")),
           definition="total parameters of the model", main=True),
    _metric_column("source", "source recall", "source", True,
                   f"held-out questions in the trained modality, {X}", True, "exact"),
    _metric_column("target", "target recall", "target", True,
                   f"the same persona/fact pairs asked in the other modality, {X}", True,
                   "exact"),
    _metric_column("gap", "gap", "gap", False, "source recall - target recall", True),
    _metric_column("ratio", "transfer ratio", "transfer_ratio", True,
                   "target recall / source recall (undefined when source is 0)", True),
    _number_column("chance", "chance (exact)", exact_chance, lambda v: f"{v:.3f}",
                   "exact-match chance: mean over questions of 1 / distinct values of the "
                   "fact; applies to source, target, seen and base recall", main=True),
    _metric_column("seen", "seen recall", "seen", True,
                   f"the training questions themselves (memorisation check), {X}",
                   chance="exact"),
    _metric_column("lik_source", "likelihood source", "likelihood_source", True,
                   "source questions: the answer ranks first by likelihood among itself and "
                   "k same-fact distractors", chance="likelihood"),
    _metric_column("lik_target", "likelihood target", "likelihood_target", True,
                   "target questions: the answer ranks first by likelihood among itself and "
                   "k same-fact distractors", main=True, chance="likelihood"),
    _number_column("lik_chance", "chance (likelihood)", likelihood_chance, lambda v: f"{v:.3f}",
                   "likelihood chance: mean 1/(k+1) over the questions; applies to the "
                   "likelihood columns", main=True),
    _metric_column("base_source", "base source", "base_source", None,
                   f"source questions on the untrained base model (guessing, prior "
                   f"knowledge), {X}", chance="exact"),
    _metric_column("base_target", "base target", "base_target", None,
                   f"target questions on the untrained base model, {X}", chance="exact"),
    _metric_column("source_gain", "source gain", "source_gain", True,
                   "source recall - the base model's source recall"),
    _metric_column("target_gain", "target gain", "target_gain", True,
                   "target recall - the base model's target recall"),
    _metric_column("adj_ratio", "adjusted ratio", "adjusted_ratio", True,
                   "target gain / source gain"),
    _number_column("personas", "personas", lambda r: r["score"].get("n_personas"), str,
                   "personas asked (the bootstrap resamples these)"),
    _number_column("pairs", "pairs", lambda r: group(r).get("n_pairs"), str,
                   "persona/fact pairs asked per side"),
    _text_column("harness", "harness", _harness,
                 "evaluation harness and its installed version"),
    _text_column("date", "added", lambda r: r["added"][:10], "date the row was added"),
)
MAIN_COLUMNS = tuple(c for c in COLUMNS if c.main)
DEFAULT_SORT = "target"
IDENTITY = ("name", "direction", "recipe", "params")  # main in every track


def _declared(track: str) -> dict[str, tuple[bool | None, str]]:
    """metric -> (higher is better, definition) of the halves and derived metrics of a
    track's experiment (persona_bench.experiments)."""
    from persona_bench.experiments import TRACKS

    experiment = TRACKS[track]
    found = {h.role: (h.higher_is_better, h.about) for c in experiment.configs for h in c.halves}
    found |= {f"likelihood_{role}": (up, f"{about}: the answer ranks first by likelihood "
                                     "among itself and k distractors")
              for role, (up, about) in list(found.items())}
    return found | {d.name: (d.higher_is_better, d.about) for d in experiment.derived}


def _own_columns(track: str) -> tuple[Column, ...]:
    """A track whose headline is not source/target recall (unlearning): a column for each
    headline metric and each likelihood recall of its halves; the headline ones are main."""
    from persona_bench.experiments import TRACKS

    experiment, fixed = TRACKS[track], {c.metric for c in COLUMNS}
    if "source" in experiment.headline:
        return ()
    declared = _declared(track)
    chance = {m: ("likelihood" if m.startswith("likelihood_") else "exact")
              for m in declared if m in {h.role for c in experiment.configs for h in c.halves}
              or m.startswith("likelihood_")}
    wanted = [*experiment.headline, *(m for m in declared if m.startswith("likelihood_"))]
    return tuple(_metric_column(m, m.replace("_", " "), m, declared[m][0], declared[m][1],
                                main=m in experiment.headline, chance=chance.get(m))
                 for m in dict.fromkeys(wanted) if m not in fixed and m in declared)


def track_columns(track: str) -> tuple[Column, ...]:
    """The columns of one track's table: the shared ones, with the track's own headline
    columns (when it has some) in front of the transfer ones as the main columns."""
    own = _own_columns(track)
    if not own:
        return COLUMNS
    keep_main = {*IDENTITY, "chance", "lik_chance"}
    shared = tuple(replace(c, main=c.key in keep_main) for c in COLUMNS)
    return shared[:6] + own + shared[6:]


def _all_columns() -> tuple[Column, ...]:
    from persona_bench.experiments import TRACKS

    extra = {c.key: c for track in TRACKS for c in _own_columns(track)}
    return COLUMNS + tuple(extra.values())


ALL_COLUMNS = _all_columns()
COLUMN_KEYS = tuple(c.key for c in ALL_COLUMNS)


def column(key: str) -> Column:
    for col in ALL_COLUMNS:
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
