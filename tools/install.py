"""Install the project's virtualenv from the committed lock, or fail in one line.

`make install` (and so `make demo` / `make test` / CI) runs this. The venv gets exactly the
packages of requirements.lock, hash-checked, plus the project itself in editable mode;
packages the lock does not list are removed, and the stamp that later commands trust is
written only after `pip freeze` equals the lock. pip's full output goes to VENV/install.log.

    python3.11 tools/install.py --venv .venv --lock requirements.lock
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lock import PROJECT, canonical  # noqa: E402

BOOTSTRAP = ("pip", "setuptools")  # installed first: the rest is built with these, not fresh ones
STAMP = ".installed"
UNSUPPORTED = "is not supported on this platform"  # pip check's line for a wheel-tag mismatch
ROOT = Path(__file__).resolve().parent.parent


class InstallError(Exception):
    """A problem the user can fix; printed as one line."""


def read_lock(path: Path) -> dict[str, str]:
    """`{canonical name: line}` of a lock file; one clear error if it is missing or malformed."""
    if not path.is_file():
        raise InstallError(f"{path} does not exist: run `make lock` to write it")
    text = path.read_text()
    resolved_for = re.search(r"for CPython (\d+\.\d+)", text)
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    if resolved_for and resolved_for[1] != running:
        wanted = resolved_for[1]
        raise InstallError(f"{path} was resolved for Python {wanted}, this is {running}: "
                           f"run with python{wanted} (make PYTHON=python{wanted})")
    pins = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        match = re.match(r"([A-Za-z0-9._-]+)==(\S+) --hash=sha256:[0-9a-f]{64}$", line.strip())
        if not match:
            raise InstallError(f"{path}:{number} is not `name==version --hash=sha256:...`: "
                               "rewrite the lock with `make lock`")
        pins[canonical(match[1])] = line.strip()
    return pins


def pinned_versions(pins: dict[str, str]) -> dict[str, str]:
    return {name: line.split("==", 1)[1].split()[0] for name, line in pins.items()}


def pip_failure(log: str) -> str:
    """The one line of pip's output that names what went wrong."""
    lines = log.splitlines()
    for index, line in enumerate(lines):
        if "DO NOT MATCH THE HASHES" in line:
            culprit = next((lin.strip().rstrip(":") for lin in lines[index + 1:]
                            if lin.startswith("    ") and "==" in lin), "a package")
            return f"the downloaded file does not match the lock's hash: {culprit}"
        if "No matching distribution found for" in line:
            return line.split("ERROR: ", 1)[-1]
    errors = [line.split("ERROR: ", 1)[-1] for line in lines if line.startswith("ERROR:")]
    return errors[-1] if errors else (lines[-1] if lines else "pip failed without output")


class Installer:
    def __init__(self, venv: Path, lock: Path, pip_args: list[str]) -> None:
        self.venv, self.lock, self.pip_args = venv, lock, pip_args
        self.python = venv / "bin" / "python"
        self.log = venv / "install.log"

    def pip(self, *args: str) -> str:
        """Run the venv's pip; its output goes to the log, a failure becomes an InstallError."""
        extra = self.pip_args if args[0] == "install" else []
        proc = subprocess.run([str(self.python), "-m", "pip", *args, *extra],
                              capture_output=True, text=True, cwd=ROOT)
        with self.log.open("a") as handle:
            handle.write(f"$ pip {' '.join(args)}\n{proc.stdout}{proc.stderr}\n")
        if proc.returncode != 0:
            raise InstallError(f"pip could not install from {self.lock}: "
                               f"{pip_failure(proc.stdout + proc.stderr)} (full log: {self.log}). "
                               "Fix: check the package index, or refresh the lock with `make lock`")
        return proc.stdout

    def installed(self) -> dict[str, str]:
        """`{canonical name: version}` of what the venv holds, the editable project excluded."""
        out = subprocess.run([str(self.python), "-m", "pip", "freeze", "--all",
                              "--exclude-editable"], capture_output=True, text=True, check=True)
        found = {}
        for line in out.stdout.splitlines():
            if "==" in line:
                name, version = line.split("==", 1)
                found[canonical(name)] = version.strip()
        found.pop(PROJECT, None)
        return found

    def run(self) -> None:
        pins = read_lock(self.lock)
        stamp = self.venv / "bin" / STAMP
        stamp.unlink(missing_ok=True)
        if not self.python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(self.venv)], check=True)
        self.log.write_text("")
        self.step(1, "pip and setuptools", self.install_lines,
                  [pins[name] for name in BOOTSTRAP if name in pins])
        self.step(2, f"{len(pins)} locked packages", self.install_lines, list(pins.values()))
        self.step(3, "the project (editable)", self.pip, "install", "--no-deps",
                  "--no-build-isolation", "-e", ".")
        self.step(4, "check the venv equals the lock", self.sync, pins)
        stamp.touch()

    def step(self, number: int, what: str, action, *args) -> None:
        start = time.perf_counter()
        print(f"install: [{number}/4] {what} ...", flush=True)
        action(*args)
        print(f"install: [{number}/4] done in {time.perf_counter() - start:.0f} s", flush=True)

    def install_lines(self, lines: list[str]) -> None:
        if not lines:
            return
        with tempfile.NamedTemporaryFile("w", suffix=".lock", delete=False) as handle:
            handle.write("\n".join(lines) + "\n")
        try:
            self.pip("install", "--require-hashes", "--no-deps", "--no-build-isolation",
                     "-r", handle.name)
        finally:
            Path(handle.name).unlink()

    def sync(self, pins: dict[str, str]) -> None:
        """Remove what the lock does not list, then require freeze == lock and `pip check`."""
        wanted = pinned_versions(pins)
        extra = sorted(set(self.installed()) - set(wanted))
        if extra:
            self.pip("uninstall", "-y", *extra)
        installed = self.installed()
        wrong = sorted(name for name in set(wanted) | set(installed)
                       if installed.get(name) != wanted.get(name))
        if wrong:
            raise InstallError(f"{self.venv} differs from {self.lock} after installing: "
                               f"{', '.join(wrong[:5])}: delete {self.venv} and run `make install`")
        self.check()

    def check(self) -> None:
        proc = subprocess.run([str(self.python), "-m", "pip", "check"], capture_output=True,
                              text=True)
        warnings, error = check_findings(proc.stdout)
        for line in warnings:
            print(f"install: warning: pip check: {line}")
        if error:
            raise InstallError(f"the locked packages do not fit together: {error}: "
                               "refresh the lock with `make lock`")


def check_findings(output: str) -> tuple[list[str], str | None]:
    """`pip check` output -> (warnings, the first real problem). A wheel whose internal tag
    disagrees with the file name pip chose it by (decord 0.6.0 says cp36 inside a py3 wheel)
    is a warning; a missing or conflicting requirement is a problem."""
    lines = [line for line in output.splitlines() if line.strip() and "No broken" not in line]
    warnings = [f"{line} (the wheel's internal tag disagrees with its file name)"
                for line in lines if line.endswith(UNSUPPORTED)]
    problems = [line for line in lines if not line.endswith(UNSUPPORTED)]
    return warnings, (problems[0] if problems else None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venv", type=Path, default=Path(".venv"))
    parser.add_argument("--lock", type=Path, default=Path("requirements.lock"))
    parser.add_argument("--pip-arg", action="append", default=[],
                        help="extra argument for every pip call (e.g. --no-index)")
    args = parser.parse_args(argv)
    try:
        Installer(args.venv, args.lock, args.pip_arg).run()
    except InstallError as error:
        print(f"install: error: {error}", file=sys.stderr)
        return 1
    print(f"install: {args.venv} matches {args.lock}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
