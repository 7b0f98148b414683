"""The static page: escaped, self-contained, its own script allowed by hash only; and, in a
real headless Chromium (Debian's /usr/bin/chromium driven by Playwright), it fits a
1400 px window, sorts best-first, switches tabs, toggles columns, and logs no errors."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import pytest
from test_readers import make_board

from persona_bench.leaderboards.columns import COLUMNS, MAIN_COLUMNS
from persona_bench.leaderboards.plots import write_plots
from persona_bench.leaderboards.render_html import SCRIPT, render_html

EVIL = '<script>alert("x")</script><img src=x onerror=alert(1)>'
CHROMIUM = "/usr/bin/chromium"  # Debian's package `chromium`
# What works as root on a machine with no network (see the README's CI notes).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
WIDTH = 1400


def test_page_is_escaped_and_self_contained(tmp_path):
    board = make_board(tmp_path, (EVIL, "fine"))
    rows = board.rows()
    page = render_html(rows, board.meta(), write_plots(rows, tmp_path / "site"))
    assert EVIL not in page and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert page.count("<script>") == 1  # ours only
    assert not re.search(r'src="(?!data:)', page)  # no external assets
    assert not re.search(r'href="(?!https://huggingface\.co/)', page)  # links: Hub pages only
    assert page.count('src="data:image/png;base64,') == 3
    digest = base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in page and f"<script>{SCRIPT}</script>" in page
    assert page.count('<th data-key="') == page.count("<th ") == len(COLUMNS)
    assert "python -m lmms_eval" in page  # the commands that produced each row
    for row in rows:
        assert f'data-value="{row["row_id"]}"' in page
    # each recall column states its own chance level; likelihood's is 1/(k+1)
    assert "chance 0.200" in page and "likelihood chance, 1 / (k + 1)" in page
    assert "lmms-eval 0.7.3" in page


def test_empty_board_page(tmp_path):
    assert "No rows yet." in render_html([], None, {})


def test_bidi_and_control_characters_are_shown_escaped():
    from persona_bench.leaderboards.render_html import _e

    assert _e("a\u202eb\x1b<i>") == "a\\u202eb\\x1b&lt;i&gt;"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("html")
    board = make_board(tmp, ("alpha, a model with a long display name", "beta", "gamma"))
    rows = board.rows()
    out = tmp / "site" / "index.html"
    out.write_text(render_html(rows, board.meta(), write_plots(rows, out.parent)), "utf-8")
    return out


@pytest.fixture(scope="module")
def page(site):
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        tab = browser.new_page(viewport={"width": WIDTH, "height": 900})
        tab.on("console", lambda m: errors.append(m.text) if m.type in ("error", "warning")
               else None)
        tab.on("pageerror", lambda err: errors.append(str(err)))
        tab.goto(site.as_uri())
        tab.errors = errors
        yield tab
        browser.close()


def _visible_headers(page) -> list[str]:
    return page.eval_on_selector_all(
        "#board th", "hs => hs.filter(h => h.offsetParent !== null).map(h => h.dataset.key)")


def _column(page, key: str) -> list[str]:
    index = [c.key for c in COLUMNS].index(key)
    script = f"rs => rs.filter(r => !r.hidden).map(r => r.cells[{index}].dataset.value)"
    return page.eval_on_selector_all("#board tbody tr", script)


def test_fits_a_laptop_window_with_the_main_columns(page):
    assert _visible_headers(page) == [c.key for c in MAIN_COLUMNS]
    right = page.eval_on_selector("#board", "t => t.getBoundingClientRect().right")
    assert right <= WIDTH
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH
    assert page.errors == []


def test_toggle_shows_every_column(page):
    page.click("#more")
    assert _visible_headers(page) == [c.key for c in COLUMNS]
    page.click("#more")
    assert _visible_headers(page) == [c.key for c in MAIN_COLUMNS]


def test_sorting_is_best_first_then_flips(page):
    page.click('th[data-key="target"]')
    values = [float(v) for v in _column(page, "target")]
    assert values == sorted(values, reverse=True) and len(set(values)) > 1
    page.click('th[data-key="target"]')
    assert [float(v) for v in _column(page, "target")] == sorted(values)
    page.click('th[data-key="gap"]')  # lower is better: ascending first
    gaps = [float(v) for v in _column(page, "gap")]
    assert gaps == sorted(gaps)
    page.click('th[data-key="name"]')
    names = _column(page, "name")
    assert names == sorted(names)


def test_direction_filter_and_tabs(page):
    page.click('[data-filter="text2img"]')
    assert set(_column(page, "direction")) == {"text2img"}
    page.click('[data-filter="all"]')
    assert set(_column(page, "direction")) == {"img2text", "text2img"}
    page.click("#tab-plots")
    assert page.is_visible("#plots") and not page.is_visible("#leaderboard")
    widths = page.eval_on_selector_all("#plots img", "is => is.map(i => i.naturalWidth)")
    assert len(widths) == 3 and min(widths) > 100  # the inlined PNGs decoded
    page.click("#tab-metrics")
    assert "1 / (k + 1)" in page.inner_text("#metrics")
    page.click("#tab-leaderboard")
    assert page.is_visible("#board")
    assert page.errors == []


def test_recall_within_chance_is_greyed(page):
    cells = page.eval_on_selector_all(
        "#board td.at-chance", "cs => cs.map(c => c.getAttribute('title'))")
    assert cells and all("reaches chance" in title for title in cells)


def test_screenshot(page, tmp_path):
    page.click("#tab-leaderboard")
    shot = page.screenshot(path=str(tmp_path / "board.png"))
    assert shot.startswith(b"\x89PNG")
