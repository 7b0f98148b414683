"""The leaderboard as one static HTML page: sortable table, plots inlined, nothing external.

Every submitted string goes through `html.escape`; plots are inlined as PNG data URIs;
a Content-Security-Policy allows only the page's own script (by hash) and inline styles.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from pathlib import Path

from leaderboards.columns import COLUMNS
from persona_bench.checks import printable

SCRIPT = """
document.querySelectorAll("th[data-key]").forEach((th) => {
  th.addEventListener("click", () => {
    const body = th.closest("table").tBodies[0];
    const index = th.cellIndex;
    const asc = th.dataset.order !== "asc";
    th.dataset.order = asc ? "asc" : "desc";
    const value = (tr) => tr.cells[index].dataset.value;
    const rows = Array.from(body.rows).sort((a, b) => {
      const x = value(a), y = value(b);
      if (x === "" || y === "") return (x === "") - (y === "");
      const nx = Number(x), ny = Number(y);
      const c = isNaN(nx) || isNaN(ny) ? x.localeCompare(y) : nx - ny;
      return asc ? c : -c;
    });
    rows.forEach((tr) => body.appendChild(tr));
  });
});
"""
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
table { border-collapse: collapse; font-size: 0.9rem; }
th, td { border-bottom: 1px solid #ddd; padding: 0.3rem 0.6rem; text-align: left; }
th[data-key] { cursor: pointer; background: #f4f4f4; }
th[data-key]:hover { background: #e8e8e8; }
td.num { font-variant-numeric: tabular-nums; white-space: nowrap; }
div.wide { overflow-x: auto; }
img { max-width: 100%; margin: 1rem 0; }
pre { background: #f7f7f7; padding: 0.5rem; overflow-x: auto; white-space: pre-wrap; }
details { margin: 0.5rem 0; }
"""


def _e(value: object) -> str:
    """HTML-escaped, with control and bidi characters shown as escapes (never applied)."""
    return html.escape(printable(str(value), limit=10**6), quote=True)


def _csp() -> str:
    digest = base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()
    return (f"default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
            f"script-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'")


def _table(rows: list[dict]) -> str:
    head = "".join(f'<th data-key="{c.key}" title="click to sort">{_e(c.header + c.arrow)}</th>'
                   for c in COLUMNS)
    body = []
    for row in rows:
        cells = []
        for c in COLUMNS:
            value = c.value(row)
            kind = ' class="num"' if isinstance(value, int | float) else ""
            cells.append(f'<td{kind} data-value="{_e("" if value is None else value)}">'
                         f"{_e(c.text(row))}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    rows_html = "\n".join(body)
    return (f'<div class="wide"><table>\n<thead><tr>{head}</tr></thead>\n'
            f"<tbody>\n{rows_html}\n</tbody>\n</table></div>")


def _details(row: dict) -> str:
    facts = {k: row[k] for k in ("model", "base_model", "param_count", "training", "dataset",
                                 "harness", "task_versions", "scoring", "evaluated", "added")}
    commands = "\n".join(row["commands"])
    return (f"<details><summary>{_e(row['row_id'])}: {_e(row['name'])} "
            f"({_e(row['direction'])})</summary>\n"
            f"<pre>{_e(json.dumps(facts, indent=2, sort_keys=True))}</pre>\n"
            f"<p>Commands:</p><pre>{_e(commands)}</pre></details>")


def render_html(rows: list[dict], meta: dict | None, plots: dict[str, Path]) -> str:
    """The whole page as a string (write it as ``index.html``)."""
    intro = "No rows yet."
    if meta:
        intro = (f"Dataset <code>{_e(meta['dataset']['id'])}</code> "
                 f"(<code>{_e(meta['dataset']['content_hash'])}</code>), metric: "
                 f"{_e(meta['metric'])} match; 95% CI: paired bootstrap over personas "
                 f"({_e(meta['n_resamples'])} resamples). Source recall: held-out questions "
                 "in the trained modality; target recall: the same questions in the other "
                 "modality; gap = source - target; transfer ratio = target / source. "
                 "↑ higher is better, ↓ lower is better. Click a header to sort.")
    images = "\n".join(
        f'<img alt="{_e(name)}" src="data:image/png;base64,'
        f'{base64.b64encode(path.read_bytes()).decode()}">' for name, path in plots.items())
    details = "\n".join(_details(row) for row in rows)
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
<p>{intro}</p>
{_table(rows)}
<h2>Plots</h2>
{images}
<h2>Runs</h2>
{details}
<script>{SCRIPT}</script>
</body>
</html>
"""
