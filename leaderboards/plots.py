"""Leaderboard plots as PNG (for the README and, inlined, for the HTML page).

- ``scatter.png``  source vs target recall per row, 95% CIs, the diagonal (perfect
  transfer) and the chance level.
- ``gap.png``      the gap (source - target, lower is better) per row with its 95% CI.
- ``per_fact.png`` target and source recall per fact and row, as two heat maps.
"""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.text import Text  # noqa: E402
from matplotlib.transforms import Bbox  # noqa: E402

from persona_bench.atomic import write_bytes_atomic  # noqa: E402
from persona_bench.experiments import DIRECTIONS  # noqa: E402
from persona_bench.leaderboards.columns import headline  # noqa: E402
from persona_bench.leaderboards.schema import row_track  # noqa: E402
from persona_bench.persona_gen.vocab import ALL_FACTS  # noqa: E402

# One colour and marker per transfer direction, in registry order.
COLORS = dict(zip(DIRECTIONS, ("#1f77b4", "#d62728"), strict=True))
MARKERS = dict(zip(DIRECTIONS, ("o", "s"), strict=True))
DPI = 120


def label(row: dict) -> str:
    return f"{row['name'][:40]} [{row['direction']}, {row['training'].get('recipe', '')}]"


def _err(iv: dict) -> tuple[list[float], list[float]]:
    return [iv["value"] - iv["low"]], [iv["high"] - iv["value"]]


def _save(fig: plt.Figure, path: Path) -> Path:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    write_bytes_atomic(path, buffer.getvalue())
    return path


def scatter(rows: list[dict], path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(6, 5.5))
    ax.plot([0, 1], [0, 1], color="grey", lw=1, ls="--", label="perfect transfer")
    chances = [r["score"]["groups"]["all"]["chance"] for r in rows]
    if chances:
        chance = sum(chances) / len(chances)
        ax.axhline(chance, color="grey", lw=0.8, ls=":", label=f"chance ({chance:.2f})")
        ax.axvline(chance, color="grey", lw=0.8, ls=":")
    seen: set[str] = set()
    points: list[tuple[float, float, str]] = []
    for row in rows:
        src, tgt = headline(row, "source"), headline(row, "target")
        if not src or not tgt or src["value"] is None or tgt["value"] is None:
            continue
        d = row["direction"]
        ax.errorbar(src["value"], tgt["value"], xerr=_err(src), yerr=_err(tgt), fmt=MARKERS[d],
                    color=COLORS[d], ms=6, capsize=2, label=None if d in seen else d)
        points.append((src["value"], tgt["value"], row["name"][:24]))
        seen.add(d)
    ax.set(xlim=(-0.02, 1.02), ylim=(-0.02, 1.02),
           xlabel="source recall (trained modality), higher is better ↑",
           ylabel="target recall (other modality), higher is better ↑",
           title="Cross-modal transfer (95% CI)")
    ax.set_aspect("equal")
    ax.legend(loc="upper left", fontsize=8)
    place_labels(ax, points)
    return _save(fig, path)


def text_box(label: Text, renderer) -> Bbox:
    """The box of a label's text alone (an Annotation's own extent includes its arrow)."""
    return Text.get_window_extent(label, renderer)


def _overlaps(box: Bbox, placed: list[Bbox]) -> bool:
    return any(box.overlaps(other) for other in placed)


def place_labels(ax: plt.Axes, points: list[tuple[float, float, str]],
                 step: float = 9.0, tries: int = 40) -> list[plt.Annotation]:
    """Label each point beside it, moving a label up or down (by `step` points, nearest
    first) until its box overlaps no label placed before it nor the legend."""
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    legend = ax.get_legend()
    placed = [legend.get_window_extent(renderer)] if legend else []
    labels = []
    for x, y, text in points:
        label = ax.annotate(text, (x, y), fontsize=7, xytext=(5, 3), textcoords="offset points",
                            arrowprops={"arrowstyle": "-", "color": "grey", "lw": 0.5})
        for i in range(tries):
            shift = step * ((i + 1) // 2) * (1 if i % 2 else -1)
            label.set_position((5, 3 + shift))
            box = text_box(label, renderer)
            if not _overlaps(box, placed):
                break
        placed.append(text_box(label, renderer))
        labels.append(label)
    return labels


def gap_bars(rows: list[dict], path: Path) -> Path:
    rows = [r for r in rows if (headline(r, "gap") or {}).get("value") is not None]
    fig, ax = plt.subplots(figsize=(7, 1.2 + 0.35 * max(len(rows), 1)))
    for i, row in enumerate(rows):
        gap = headline(row, "gap")
        ax.barh(i, gap["value"], xerr=[[gap["value"] - gap["low"]], [gap["high"] - gap["value"]]],
                color=COLORS[row["direction"]], capsize=3)
    ax.set_yticks(range(len(rows)), [label(r) for r in rows], fontsize=8)
    ax.invert_yaxis()
    ax.axvline(0, color="black", lw=0.8)
    ax.set(xlabel="gap = source recall - target recall, lower is better ↓ (95% CI)",
           title="Transfer gap per model")
    return _save(fig, path)


def per_fact(rows: list[dict], path: Path) -> Path:
    facts = [f for f in ALL_FACTS if any(f in r["score"]["groups"] for r in rows)] or ["name"]
    fig, axes = plt.subplots(1, 2, figsize=(4 + 1.1 * len(facts), 1.6 + 0.4 * max(len(rows), 1)),
                             sharey=True)
    for ax, side in zip(axes, ("source", "target"), strict=True):
        grid = [[(headline(r, side, f) or {}).get("value") for f in facts] for r in rows] or [
            [None] * len(facts)]
        values = [[float("nan") if v is None else v for v in line] for line in grid]
        image = ax.imshow(values, vmin=0, vmax=1, cmap="viridis", aspect="auto")
        for i, line in enumerate(grid):
            for j, v in enumerate(line):
                if v is not None:
                    ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7,
                            color="white" if v < 0.6 else "black")
        ax.set_xticks(range(len(facts)), facts, rotation=45, ha="right", fontsize=8)
        ax.set_title(f"{side} recall per fact, higher is better ↑", fontsize=10)
    axes[0].set_yticks(range(len(rows)), [label(r) for r in rows], fontsize=8)
    fig.colorbar(image, ax=axes, shrink=0.8)
    return _save(fig, path)


PLOTS = {"scatter": scatter, "gap": gap_bars, "per_fact": per_fact}


def write_plots(rows: list[dict], out: Path) -> dict[str, Path]:
    """Every plot as ``<out>/<name>.png``; returns name -> path.

    Submitted names are drawn as plain text (no mathtext: a `$` must not be parsed). The
    plots compare the transfer directions: rows of the other tracks are in the tables.
    """
    rows = [r for r in rows if r["direction"] in COLORS and row_track(r) == "transfer"]
    with matplotlib.rc_context({"text.parse_math": False}):
        return {name: draw(rows, out / f"{name}.png") for name, draw in PLOTS.items()}
