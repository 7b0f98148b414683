"""The Hub Space app: started on localhost, it serves the board over HTTP (its page
config and its `view` endpoint, through gradio's own client)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from test_readers import make_board

APP = Path(__file__).resolve().parents[1] / "leaderboards" / "space" / "app.py"


@pytest.fixture(scope="module")
def space(tmp_path_factory):
    """(url, board rows): the app on 127.0.0.1, on a port gradio picks, reading a board."""
    tmp = tmp_path_factory.mktemp("space")
    board = make_board(tmp, ("alpha", "beta"))
    env = {**os.environ, "PERSONA_BENCH_BOARD": str(board.root), "GRADIO_SERVER_NAME":
           "127.0.0.1", "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1"}
    env.pop("GRADIO_SERVER_PORT", None)
    log = tmp / "space.log"
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, str(APP)], env=env, stdout=out,
                                stderr=subprocess.STDOUT)
    try:
        url = None
        for _ in range(600):  # start-up: importing gradio, drawing the plots
            found = re.search(r"Running on local URL:\s+(http://127\.0\.0\.1:\d+)", log.read_text())
            if found or proc.poll() is not None:
                url = found and found.group(1)
                break
            time.sleep(0.5)
        assert url, f"the Space did not start:\n{log.read_text()}"
        yield url, board.rows()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _props(config: dict, kind: str) -> list[dict]:
    return [c["props"] for c in config["components"] if c["type"] == kind]


def test_page_serves_the_board(space):
    url, rows = space
    with urllib.request.urlopen(f"{url}/config", timeout=30) as response:
        config = json.load(response)
    frame = next(p for p in _props(config, "dataframe") if p.get("elem_id") == "board")
    names = {line[0] for line in frame["value"]["data"]}
    assert names == {r["name"] for r in rows}
    assert frame["value"]["headers"][4:6] == ["source recall ↑", "target recall ↑"]
    text = " ".join(p["value"] for p in _props(config, "markdown"))
    assert "lmms-eval 0.7.3" in text and "1 / (k + 1)" in text
    assert {t["label"] for t in _props(config, "tabitem")} >= {"Leaderboard", "Plots",
                                                               "Metrics"}


def test_view_endpoint_filters_and_shows_every_column(space):
    from gradio_client import Client

    url, rows = space
    client = Client(url, verbose=False)
    every = client.predict("text2img", True, api_name="/view")
    value = every.get("value", every)
    assert len(value["headers"]) > 20 and "likelihood source ↑" in value["headers"]
    assert {line[2] for line in value["data"]} == {"text2img"}
    assert len(value["data"]) == sum(r["direction"] == "text2img" for r in rows)
