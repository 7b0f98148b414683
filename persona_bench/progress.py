"""Progress bars for people, not for log files.

A bar redraws itself with carriage returns; in a log file every redraw stays (the demo's
log was 270 KB of bars). When stderr is not a terminal, `quiet_when_logged` turns the
bars of tqdm, transformers, huggingface_hub and datasets off for this process and the
harness processes it starts (environment defaults: a variable the user set wins), and
our own bars pass `disable=bar_disabled(...)`, which lets tqdm decide by the terminal.
"""

from __future__ import annotations

import os
import sys
from typing import TextIO

QUIET_ENV = {
    "TQDM_DISABLE": "1",  # tqdm's default for bars that do not pass `disable`
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",  # huggingface_hub and transformers
    "HF_DATASETS_DISABLE_PROGRESS_BARS": "1",
}
FORCE_ENV = "PERSONA_BENCH_PROGRESS"  # "1": keep the bars even in a log


def is_logged(stream: TextIO | None = None) -> bool:
    """True when `stream` (default: stderr, where bars go) is not a terminal."""
    stream = sys.stderr if stream is None else stream
    return not (hasattr(stream, "isatty") and stream.isatty())


def quiet_when_logged(stream: TextIO | None = None) -> bool:
    """Turn library progress bars off when stderr is a file or pipe; True if it did."""
    if not is_logged(stream) or os.environ.get(FORCE_ENV) == "1":
        return False
    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)
    return True


def bar_disabled(wanted: bool = True) -> bool | None:
    """tqdm's `disable` for one of our bars: None (tqdm hides it off a terminal), True when
    not wanted; False only when forced with PERSONA_BENCH_PROGRESS=1."""
    if not wanted:
        return True
    return False if os.environ.get(FORCE_ENV) == "1" else None
