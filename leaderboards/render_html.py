"""The leaderboard as one static HTML page, laid out like a Hub leaderboard.

Tabs (one leaderboard per track: transfer, multi-hop, mitigation; plots, metrics, runs, how
to submit); the table shows the columns that
matter first (the main `columns.track_columns`, they fit a 1400 px window) and every other stored
metric behind a "more columns" toggle; each column states its definition, direction and
chance level, and a recall whose 95% CI reaches its chance level is greyed. Without
JavaScript every tab and column is simply shown.

Every submitted string goes through `html.escape`; plots are inlined as PNG data URIs;
a Content-Security-Policy allows only the page's own script (by hash) and inline styles.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from pathlib import Path

from persona_bench.checks import printable
from persona_bench.experiments import TRACKS
from persona_bench.leaderboards.columns import (
    ALL_COLUMNS,
    CHANCES,
    TRACK_TITLES,
    Column,
    headline,
    hub_id,
    track_columns,
)
from persona_bench.leaderboards.schema import row_track

SCRIPT = """
const tabs = document.querySelectorAll("[role=tab]");
const show = (tab) => {
  tabs.forEach((t) => {
    const on = t === tab;
    t.setAttribute("aria-selected", on);
    document.getElementById(t.getAttribute("aria-controls")).hidden = !on;
  });
};
tabs.forEach((t) => t.addEventListener("click", () => show(t)));
show(tabs[0]);

document.querySelectorAll("table.board").forEach((table) => {
  const toggle = document.getElementById(table.dataset.toggle);
  const setCompact = (on) => {
    table.classList.toggle("compact", on);
    toggle.setAttribute("aria-pressed", !on);
    toggle.textContent = on ? "Show all columns" : "Show fewer columns";
  };
  toggle.addEventListener("click", () => setCompact(!table.classList.contains("compact")));
  setCompact(true);

  const filters = document.querySelectorAll(`[data-filter][data-for="${table.id}"]`);
  filters.forEach((button) => {
    button.addEventListener("click", () => {
      const want = button.dataset.filter;
      filters.forEach((b) => b.setAttribute("aria-pressed", b === button));
      Array.from(table.tBodies[0].rows).forEach((tr) => {
        tr.hidden = want !== "all" && tr.dataset.direction !== want;
      });
    });
  });

  table.querySelectorAll("th[data-key]").forEach((th) => {
    th.addEventListener("click", () => {
      const body = table.tBodies[0];
      const index = th.cellIndex;
      // first click: best first (by the column's direction; text A-Z), then flip
      const first = th.dataset.better === "1" ? "desc" : "asc";
      const order = th.dataset.order ? (th.dataset.order === "asc" ? "desc" : "asc") : first;
      table.querySelectorAll("th[data-key]").forEach((h) => {
        delete h.dataset.order;
        h.removeAttribute("aria-sort");
      });
      th.dataset.order = order;
      th.setAttribute("aria-sort", order === "asc" ? "ascending" : "descending");
      const value = (tr) => tr.cells[index].dataset.value;
      const rows = Array.from(body.rows).sort((a, b) => {
        const x = value(a), y = value(b);
        if (x === "" || y === "") return (x === "") - (y === "");
        const nx = Number(x), ny = Number(y);
        const c = isNaN(nx) || isNaN(ny) ? x.localeCompare(y) : nx - ny;
        return order === "asc" ? c : -c;
      });
      rows.forEach((tr) => body.appendChild(tr));
    });
  });
});
"""
STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #222; max-width: 1600px; }
h1 { font-size: 1.5rem; margin: 0 0 0.4rem; }
p.lead { margin: 0.3rem 0 1rem; max-width: 75rem; }
[role=tablist] { display: flex; gap: 0.3rem; border-bottom: 1px solid #ccc; margin: 1rem 0; }
[role=tab] { border: 1px solid #ccc; border-bottom: none; background: #f4f4f4; padding: 0.4rem
  0.9rem; cursor: pointer; border-radius: 6px 6px 0 0; font-size: 0.95rem; }
[role=tab][aria-selected=true] { background: #fff; font-weight: 600; margin-bottom: -1px; }
.controls { display: flex; gap: 0.4rem; align-items: center; margin: 0.5rem 0; flex-wrap: wrap; }
.controls button { border: 1px solid #bbb; background: #fafafa; border-radius: 4px;
  padding: 0.2rem 0.6rem; cursor: pointer; }
.controls button[aria-pressed=true] { background: #dde8f6; border-color: #7a9cc6; }
table { border-collapse: collapse; font-size: 0.85rem; }
th, td { border-bottom: 1px solid #ddd; padding: 0.3rem 0.5rem; text-align: left;
  vertical-align: top; }
th[data-key] { cursor: pointer; background: #f4f4f4; font-weight: 600; }
th[data-key]:hover { background: #e8e8e8; }
th small { display: block; font-weight: normal; color: #555; white-space: nowrap; }
th[data-order=asc]::after { content: " ▲"; } th[data-order=desc]::after { content: " ▼"; }
td.num { font-variant-numeric: tabular-nums; white-space: nowrap; }
td .ci { display: block; color: #666; font-size: 0.75rem; }
td.at-chance { color: #999; }
td.name { min-width: 9rem; max-width: 16rem; overflow-wrap: anywhere; }
table.compact .more { display: none; }
div.wide { overflow-x: auto; }
img { max-width: 100%; margin: 0.5rem 0; }
pre { background: #f7f7f7; padding: 0.5rem; overflow-x: auto; white-space: pre-wrap; }
details { margin: 0.5rem 0; }
dl.metrics dt { font-weight: 600; margin-top: 0.5rem; }
"""


def _e(value: object) -> str:
    """HTML-escaped, with control and bidi characters shown as escapes (never applied)."""
    return html.escape(printable(str(value), limit=10**6), quote=True)


def _csp() -> str:
    digest = base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()
    return (f"default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
            f"script-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'")


def _chance_note(col: Column, rows: list[dict]) -> str:
    """The column's chance level for the header: one value, or 'per row' when rows differ."""
    if col.chance is None:
        return ""
    levels = {round(level, 6) for row in rows if (level := col.chance_level(row)) is not None}
    if not levels:
        return "chance -"
    return f"chance {levels.pop():.3f}" if len(levels) == 1 else "chance: per row"


def _header(col: Column, rows: list[dict]) -> str:
    note = _chance_note(col, rows)
    title = f"{col.definition}. {col.direction.capitalize()}."
    if note:
        title += f" {note.capitalize()}; greyed when the 95% CI reaches it."
    css = "" if col.main else ' class="more"'
    better = {True: "1", False: "0", None: ""}[col.higher_is_better]
    small = f"<small>{_e(note)}</small>" if note else ""
    return (f'<th data-key="{col.key}" data-better="{better}"{css} title="{_e(title)}">'
            f"{_e(col.header + col.arrow)}{small}</th>")


def _cell(col: Column, row: dict) -> str:
    value = col.value(row)
    classes = [] if col.main else ["more"]
    if isinstance(value, int | float):
        classes.append("num")
    if col.key == "name":
        classes.append("name")
    interval = headline(row, col.metric) if col.metric else None
    title = ""
    if interval and interval.get("value") is not None:
        point, low, high = interval["value"], interval["low"], interval["high"]
        text = f"{point:.3f}<span class=\"ci\">[{low:.3f}, {high:.3f}]</span>"
        chance = col.chance_level(row)
        if chance is not None and low <= chance:
            classes.append("at-chance")
            title = f' title="95% CI [{low:.3f}, {high:.3f}] reaches chance {chance:.3f}"'
    else:
        text = _e(col.text(row))
    if col.key in ("name", "base"):
        model = row["model" if col.key == "name" else "base_model"]["id"]
        title = f' title="{_e(model)}"'
    kind = f' class="{" ".join(classes)}"' if classes else ""
    return f'<td{kind} data-value="{_e("" if value is None else value)}"{title}>{text}</td>'


def _ids(track: str) -> tuple[str, str, str]:
    """(panel, table, toggle) ids; the transfer track keeps the ids of the one-track page."""
    if track == "transfer":
        return "leaderboard", "board", "more"
    return f"track-{track}", f"board-{track}", f"more-{track}"


def _table(rows: list[dict], track: str = "transfer") -> str:
    _, table, toggle = _ids(track)
    columns = track_columns(track)
    head = "".join(_header(c, rows) for c in columns)
    body = "\n".join(f'<tr data-direction="{_e(row["direction"])}">'
                     f"{''.join(_cell(c, row) for c in columns)}</tr>" for row in rows)
    directions = sorted({row["direction"] for row in rows})
    filters = "".join(f'<button type="button" data-filter="{_e(d)}" data-for="{table}" '
                      f'aria-pressed="false">{_e(d)}</button>' for d in directions)
    return (f'<p class="track">{_e(TRACKS[track].about)}.</p>\n'
            f'<div class="controls"><button type="button" id="{toggle}" aria-pressed="true">'
            f"Show fewer columns</button><span>direction:</span>"
            f'<button type="button" data-filter="all" data-for="{table}" aria-pressed="true">'
            f"all</button>{filters}</div>\n"
            f'<div class="wide"><table id="{table}" class="board" data-toggle="{toggle}">\n'
            f"<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table></div>")


def _metrics_tab() -> str:
    items = "\n".join(
        f"<dt>{_e(c.header + c.arrow)}</dt><dd>{_e(c.definition)}; {_e(c.direction)}"
        f"{'; chance level: ' + _e(CHANCES[c.chance][1]) if c.chance else ''}</dd>"
        for c in ALL_COLUMNS)
    return (f'<dl class="metrics">{items}</dl>'
            "<p>Recall pools every question of the fact group <code>all</code> (name and six "
            "attribute facts). Intervals: 95% paired percentile bootstrap over personas. "
            "A cell is greyed when its interval reaches the chance level of its column: that "
            "recall is not distinguishable from guessing.</p>")


def _model_ref(ref: dict) -> str:
    hub = hub_id(ref["id"])
    if hub:
        return f'<a href="https://huggingface.co/{_e(hub)}">{_e(hub)}</a>'
    return f"<code>{_e(ref['id'])}</code> (local)"


def _details(row: dict) -> str:
    facts = {k: row[k] for k in ("model", "base_model", "param_count", "training", "dataset",
                                 "harness", "task_versions", "scoring", "evaluated", "added")}
    commands = "\n".join(row["commands"])
    return (f"<details><summary>{_e(row['row_id'])}: {_e(row['name'])} "
            f"({_e(row['direction'])})</summary>\n"
            f"<p>Model {_model_ref(row['model'])}, base model "
            f"{_model_ref(row['base_model'])}.</p>\n"
            f"<pre>{_e(json.dumps(facts, indent=2, sort_keys=True))}</pre>\n"
            f"<p>Commands:</p><pre>{_e(commands)}</pre></details>")


SUBMIT = """<p>Train and evaluate with one command, then open a pull request with the changed
board folder:</p>
<pre>persona-bench run --model ORG/your-vlm --data data --direction both --out runs/your-vlm \\
    --board leaderboards/board -- --use_peft --lora_r 16
persona-bench leaderboard verify</pre>
<p><code>leaderboard add</code> recomputes every number from the per-sample logs and refuses
logs that disagree with them.</p>"""


def _harnesses(rows: list[dict]) -> str:
    found = sorted({f"{r['harness']['name']} {r['harness']['version']}" for r in rows})
    return ", ".join(found) or "-"


def render_html(rows: list[dict], meta: dict | None, plots: dict[str, Path]) -> str:
    """The whole page as a string (write it as ``index.html``)."""
    intro = "No rows yet."
    if meta:
        intro = (f"Dataset <code>{_e(meta['dataset']['id'])}</code> "
                 f"(<code>{_e(meta['dataset']['content_hash'][:19])}</code>), "
                 f"harness {_e(_harnesses(rows))}, metric: {_e(meta['metric'])} match; "
                 f"95% CI: paired bootstrap over personas ({_e(meta['n_resamples'])} "
                 "resamples). Source recall: held-out questions in the trained modality; "
                 "target recall: the same questions in the other modality. "
                 "↑ higher is better, ↓ lower is better; grey: the 95% CI reaches the chance "
                 "level. Click a header to sort (best first).")
    images = "\n".join(
        f'<img alt="{_e(name)}" src="data:image/png;base64,'
        f'{base64.b64encode(path.read_bytes()).decode()}">' for name, path in plots.items())
    details = "\n".join(_details(row) for row in rows)
    present = {row_track(r) for r in rows} | {"transfer"}
    tracks = {_ids(track)[0]: (TRACK_TITLES[track],
                               _table([r for r in rows if row_track(r) == track], track))
              for track in TRACKS if track in present}
    panels = {**tracks, "plots": ("Plots", images),
              "metrics": ("Metrics", _metrics_tab()), "runs": ("Runs", details),
              "submit": ("Submit", SUBMIT)}
    tabs = "".join(f'<button type="button" role="tab" id="tab-{key}" aria-controls="{key}" '
                   f'aria-selected="false">{label}</button>'
                   for key, (label, _) in panels.items())
    sections = "\n".join(f'<section role="tabpanel" id="{key}" aria-labelledby="tab-{key}">'
                         f"\n{body}\n</section>" for key, (_, body) in panels.items())
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_csp()}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>persona-bench transfer-gap leaderboard</title>
<style>{STYLE}</style>
</head>
<body>
<h1>persona-bench transfer-gap leaderboard</h1>
<p class="lead">{intro}</p>
<nav role="tablist">{tabs}</nav>
{sections}
<script>{SCRIPT}</script>
</body>
</html>
"""
