"""The leaderboard as a Markdown table (for the README), linking the PNG plots beside it.

One section per track (transfer, multi-hop, mitigation, unlearning), each with its main
columns (`columns.track_columns`): a README table must fit a page; the HTML page has every
metric.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from persona_bench.checks import printable
from persona_bench.experiments import TRACKS
from persona_bench.leaderboards.columns import TRACK_TITLES, track_columns
from persona_bench.leaderboards.schema import row_track

_MARKDOWN = re.compile(r"([\\`*_\[\]|~])")


def md_escape(text: str) -> str:
    """Submitted text as inert Markdown: no HTML, links, emphasis or table breaks."""
    flat = printable(" ".join(str(text).split()), limit=10**6)  # control/bidi shown escaped
    return _MARKDOWN.sub(r"\\\1", html.escape(flat, quote=False))


def render_markdown(rows: list[dict], meta: dict | None, plots: dict[str, Path]) -> str:
    lines = ["# persona-bench transfer-gap leaderboard", ""]
    if meta:
        lines += [f"Dataset {md_escape(meta['dataset']['id'])} "
                  f"({md_escape(meta['dataset']['content_hash'][:19])}), "
                  f"metric: {meta['metric']} match, "
                  f"95% CI: paired bootstrap over personas ({meta['n_resamples']} resamples). "
                  "Source recall: held-out questions in the trained modality; target recall: "
                  "the same questions in the other modality. ↑ higher is better, "
                  "↓ lower is better. Every other stored metric (seen, likelihood, base-model "
                  "gains, counts) with its chance level: index.html.", ""]
    present = {row_track(r) for r in rows} | {"transfer"}
    for track in (t for t in TRACKS if t in present):
        mine = [r for r in rows if row_track(r) == track]
        main = [c for c in track_columns(track) if c.main]
        lines += [f"## {TRACK_TITLES[track]}", "", f"{md_escape(TRACKS[track].about)}.", "",
                  "| " + " | ".join(c.header + c.arrow for c in main) + " |",
                  "|" + "|".join(" --- " for _ in main) + "|"]
        lines += ["| " + " | ".join(md_escape(c.text(r)) for c in main) + " |" for r in mine]
        if not mine:
            lines.append("\n_No rows yet._")
        lines.append("")
    lines += [f"![{name}]({path.name})" for name, path in plots.items()]
    return "\n".join(lines) + "\n"
