"""tools/lock.py and tools/install.py: the committed lock, and installing it (or failing)."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import install  # noqa: E402
import lock  # noqa: E402


def _report(*items: tuple[str, str, str | None]) -> dict:
    return {"pip_version": "26.3", "environment": {"python_full_version": "3.11.7",
                                                    "sys_platform": "linux",
                                                    "platform_machine": "x86_64"},
            "install": [{"metadata": {"name": name, "version": version},
                         "download_info": {"url": f"https://x/{name}",
                                           "archive_info": {"hashes": {"sha256": digest}}
                                           if digest else {}}}
                        for name, version, digest in items]}


def test_lock_lines_are_sorted_hashed_and_leave_out_the_project() -> None:
    text = lock.render(_report(("Zeta_Pkg", "1.0", "b" * 64), ("persona-bench", "0.1.0", "c" * 64),
                               ("alpha", "2.0", "a" * 64)))
    pins = [line for line in text.splitlines() if not line.startswith("#")]
    assert pins == [f"alpha==2.0 --hash=sha256:{'a' * 64}",
                    f"Zeta_Pkg==1.0 --hash=sha256:{'b' * 64}"]
    assert "for CPython 3.11.7 on linux x86_64" in text


def test_lock_refuses_a_package_without_a_hash() -> None:
    with pytest.raises(SystemExit, match="no sha256"):
        lock.render(_report(("alpha", "2.0", None)))


def test_committed_lock_pins_every_declared_dependency_within_its_range() -> None:
    pins = install.pinned_versions(install.read_lock(ROOT / "requirements.lock"))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = project["dependencies"] + project["optional-dependencies"]["dev"]
    for spec in map(Requirement, declared):
        name = lock.canonical(spec.name)
        assert name in pins, f"{name} is declared but not locked: run `make lock`"
        assert spec.specifier.contains(pins[name], prereleases=True), (name, pins[name])
    assert {"pip", "setuptools", "torch", "lmms-eval"} <= set(pins)


def _install(tmp_path: Path, lock_text: str) -> subprocess.CompletedProcess:
    lock_file = tmp_path / "requirements.lock"
    lock_file.write_text(lock_text)
    empty = tmp_path / "no-index"
    empty.mkdir(exist_ok=True)
    return subprocess.run([sys.executable, str(ROOT / "tools" / "install.py"),
                           "--venv", str(tmp_path / "venv"), "--lock", str(lock_file),
                           "--pip-arg=--no-index", f"--pip-arg=--find-links={empty}"],
                          capture_output=True, text=True, timeout=300)


def test_unsatisfiable_lock_names_the_package_and_writes_no_stamp(tmp_path: Path) -> None:
    stamp = tmp_path / "venv" / "bin" / install.STAMP
    stamp.parent.mkdir(parents=True)
    stamp.touch()  # a stamp from an earlier install must not survive a failed one
    proc = _install(tmp_path, f"no-such-package-pbench==1.0 --hash=sha256:{'0' * 64}\n")
    assert proc.returncode == 1
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("install: error: pip could not install from")
    assert "no-such-package-pbench==1.0" in line and "make lock" in line
    assert "Traceback" not in proc.stdout + proc.stderr
    assert not stamp.exists()


def test_malformed_lock_line_is_one_line_error(tmp_path: Path) -> None:
    proc = _install(tmp_path, "torch>=2\n")
    assert proc.returncode == 1
    (line,) = proc.stderr.strip().splitlines()
    assert "requirements.lock:1 is not `name==version --hash=sha256:...`" in line
    assert not (tmp_path / "venv").exists()  # checked before anything is created


def test_pip_failure_picks_the_line_that_names_the_problem() -> None:
    hashes = ("ERROR: THESE PACKAGES DO NOT MATCH THE HASHES FROM THE REQUIREMENTS FILE.\n"
              "    zss==1.2.0 from https://x/zss-1.2.0.tar.gz:\n"
              "        Expected sha256 00\n             Got        11\n")
    assert install.pip_failure(hashes).endswith("zss==1.2.0 from https://x/zss-1.2.0.tar.gz")
    assert install.pip_failure("ERROR: boom\nERROR: last\n") == "last"


def test_pip_check_tag_mismatch_warns_and_a_conflict_fails() -> None:
    warnings, error = install.check_findings(f"decord 0.6.0 {install.UNSUPPORTED}\n")
    assert len(warnings) == 1 and error is None
    assert install.check_findings("No broken requirements found.\n") == ([], None)
    conflict = "trl 1.16.0 has requirement transformers>=5.30, but you have transformers 5.23.0."
    assert install.check_findings(f"{conflict}\ndecord 0.6.0 {install.UNSUPPORTED}\n")[1] == (
        conflict)
