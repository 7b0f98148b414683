"""Leaderboard plots: every plot is written, scatter labels never overlap."""

from __future__ import annotations

import matplotlib.pyplot as plt
from test_readers import make_board

from persona_bench.leaderboards.plots import place_labels, text_box, write_plots


def test_crowded_scatter_labels_do_not_overlap():
    fig, ax = plt.subplots(figsize=(6, 5.5))
    ax.plot([0.5], [0.5], "o", label="img2text")
    ax.legend(loc="upper left")
    points = [(0.50 + 0.005 * i, 0.50, f"model number {i}") for i in range(8)]
    labels = place_labels(ax, points)
    renderer = fig.canvas.get_renderer()
    boxes = [text_box(label, renderer) for label in labels]
    legend = ax.get_legend().get_window_extent(renderer)
    assert not any(boxes[i].overlaps(boxes[j]) for i in range(8) for j in range(i))
    assert not any(box.overlaps(legend) for box in boxes)
    plt.close(fig)


def test_every_plot_is_written(tmp_path):
    board = make_board(tmp_path, ("a", "b"))
    plots = write_plots(board.rows(), tmp_path / "site")
    assert set(plots) == {"scatter", "gap", "per_fact"}
    assert all(path.read_bytes().startswith(b"\x89PNG") for path in plots.values())
