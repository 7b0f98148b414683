"""Write the environment lock from a pip installation report (`pip install --dry-run --report`).

Why a report rather than `pip freeze`: the report holds the exact file pip chose for every
package, transitive ones included, with its sha256, so the lock can be installed in
hash-checking mode and a fresh clone gets byte-for-byte the set the suite passed with.

    python tools/lock.py REPORT.json requirements.lock
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

PROJECT = "persona-bench"  # the editable project itself is installed from the checkout, not locked


def canonical(name: str) -> str:
    """PEP 503 normalised name (the form pip freeze and the lock compare on)."""
    return "-".join(name.lower().replace("_", "-").replace(".", "-").split("-"))


def lock_lines(report: dict) -> list[str]:
    """One `name==version --hash=sha256:...` line per package, named and sorted as `pip freeze`
    prints them, so the installed venv's freeze reads the same as the lock."""
    lines = []
    for item in report["install"]:
        meta = item["metadata"]
        if canonical(meta["name"]) == PROJECT:
            continue
        digest = item["download_info"].get("archive_info", {}).get("hashes", {}).get("sha256")
        if not digest:
            raise SystemExit(f"lock: {meta['name']} {meta['version']} has no sha256 in the report "
                             f"({item['download_info'].get('url')}); refusing an unhashed lock")
        lines.append(f"{meta['name']}=={meta['version']} --hash=sha256:{digest}")
    return sorted(lines, key=lambda line: line.split("==", 1)[0].lower())


def render(report: dict) -> str:
    env = report.get("environment", {})
    header = [
        "# The whole environment of persona-bench, every package at an exact version and hash.",
        "# Written by `make lock` (tools/lock.py) from pyproject.toml's ranges and",
        "# tools/lock-pins.txt; installed by `make install` (tools/install.py) in hash-checking",
        "# mode. Do not edit by hand.",
        f"# Resolved by pip {report.get('pip_version')} for CPython "
        f"{env.get('python_full_version', env.get('python_version'))} on "
        f"{env.get('sys_platform')} {env.get('platform_machine')}.",
    ]
    return "\n".join(header + lock_lines(report)) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python tools/lock.py REPORT.json OUT.lock", file=sys.stderr)
        return 2
    report = json.loads(Path(argv[0]).read_text())
    out = Path(argv[1])
    text = render(report)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.")
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(tmp, out)
    print(f"lock: wrote {out} ({text.count('--hash=')} packages)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
