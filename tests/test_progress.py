"""Progress bars stay out of log files (stderr not a terminal) and stay on a terminal."""

from __future__ import annotations

import io
import subprocess
import sys

from persona_bench import progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_switches(monkeypatch):
    for key in (*progress.QUIET_ENV, progress.FORCE_ENV):
        monkeypatch.delenv(key, raising=False)
    assert progress.quiet_when_logged(Terminal()) is False
    assert "TQDM_DISABLE" not in __import__("os").environ
    monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "0")  # the user's choice wins
    assert progress.quiet_when_logged(io.StringIO()) is True
    import os

    assert os.environ["TQDM_DISABLE"] == "1" and os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] == "0"
    assert progress.bar_disabled(False) is True and progress.bar_disabled(True) is None
    monkeypatch.setenv(progress.FORCE_ENV, "1")
    assert progress.bar_disabled(True) is False


def test_gen_writes_no_bars_to_a_log(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "persona_bench.cli", "gen", "--out", str(tmp_path / "d"),
         "--num-personas", "2", "--pretrain-personas", "0", "--image-size", "32",
         "--variants", "2", "--workers", "1"],
        capture_output=True, text=True, check=True)
    assert "\r" not in done.stderr and "it/s" not in done.stderr
    assert "wrote" in done.stdout
