"""Screenshot a rendered leaderboard page as a reader sees it: Debian's Chromium, headless,
a 1400 x 900 window (how docs/figures/leaderboard_page*.png were made).

    python docs/figures/screenshot.py SITE/index.html docs/figures/leaderboard_page.png [--all]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from playwright.sync_api import sync_playwright

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("page", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--all", action="store_true", help="click 'Show all columns' first")
    args = parser.parse_args()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(args.page.resolve().as_uri())
        if args.all:
            page.click("#more")
        page.screenshot(path=str(args.out))
        browser.close()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
