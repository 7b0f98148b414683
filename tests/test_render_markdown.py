"""The README table: every column, inert submitted text, plot links."""

from __future__ import annotations

from pathlib import Path

from test_readers import make_board

from persona_bench.leaderboards.columns import MAIN_COLUMNS
from persona_bench.leaderboards.render_markdown import md_escape, render_markdown


def test_escaping_makes_text_inert():
    assert md_escape("a|b") == "a\\|b"
    assert md_escape("<img src=x onerror=alert(1)>") == "&lt;img src=x onerror=alert(1)&gt;"
    assert md_escape("[click](javascript:x)") == "\\[click\\](javascript:x)"
    assert md_escape("two\nlines") == "two lines"


def test_table(tmp_path):
    board = make_board(tmp_path, ("evil | <script>", "ok"))
    text = render_markdown(board.rows(), board.meta(), {"scatter": Path("scatter.png")})
    table = [line for line in text.splitlines() if line.startswith("|")]
    assert len(table) == 2 + 2
    assert all(line.count(" | ") == len(MAIN_COLUMNS) - 1 for line in table)
    assert "<script>" not in text and "evil \\| &lt;script&gt;" in text
    assert "gap ↓" in text and "target recall ↑" in text
    assert "![scatter](scatter.png)" in text
    assert "No rows yet" in render_markdown([], None, {})


def test_bidi_and_control_characters_are_shown_escaped():
    from persona_bench.leaderboards.render_markdown import md_escape

    assert md_escape("a\u202eb\x1b[31m<b>") == "a\\\\u202eb\\\\x1b\\[31m&lt;b&gt;"
