"""The static page: escaped, self-contained, its own script allowed by hash only."""

from __future__ import annotations

import base64
import hashlib
import re

from test_readers import make_board

from leaderboards.plots import write_plots
from leaderboards.render_html import SCRIPT, render_html

EVIL = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_page_is_escaped_and_self_contained(tmp_path):
    board = make_board(tmp_path, (EVIL, "fine"))
    rows = board.rows()
    page = render_html(rows, board.meta(), write_plots(rows, tmp_path / "site"))
    assert EVIL not in page and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert page.count("<script>") == 1  # ours only
    assert not re.search(r'(src|href)="(?!data:)', page)  # no external assets
    assert page.count('src="data:image/png;base64,') == 3
    digest = base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in page and f"<script>{SCRIPT}</script>" in page
    assert page.count('<th data-key="') == page.count("<th ")
    assert "python -m lmms_eval" in page  # the commands that produced each row
    for row in rows:
        assert f'data-value="{row["row_id"]}"' in page


def test_empty_board_page(tmp_path):
    assert "No rows yet." in render_html([], None, {})


def test_bidi_and_control_characters_are_shown_escaped():
    from leaderboards.render_html import _e

    assert _e("a\u202eb\x1b<i>") == "a\\u202eb\\x1b&lt;i&gt;"
