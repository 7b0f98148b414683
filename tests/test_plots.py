"""Plots: valid PNGs for any board, including an empty one and hostile names."""

from __future__ import annotations

from test_readers import make_board

from leaderboards.plots import PLOTS, write_plots

PNG = b"\x89PNG\r\n\x1a\n"


def test_plots_are_pngs(tmp_path):
    board = make_board(tmp_path, ("plain", "$\\frac{1}{0}$ <b>", "third"))
    paths = write_plots(board.rows(), tmp_path / "site")
    assert set(paths) == set(PLOTS)
    for path in paths.values():
        assert path.read_bytes().startswith(PNG) and path.stat().st_size > 5000


def test_empty_board_still_plots(tmp_path):
    for path in write_plots([], tmp_path).values():
        assert path.read_bytes().startswith(PNG)
