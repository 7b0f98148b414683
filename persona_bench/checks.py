"""Checks for input from strangers, shared by every stage: text, booleans, numbers, paths.

Submissions, manifests, model arguments and command-line options all end up printed on a
terminal, written into Markdown and HTML, or used to open files. Each check here raises
`UserError` with one line naming the field and the fix, so no stage needs its own copy.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

from persona_bench.errors import UserError

# Unicode categories never allowed in a name, id or hash: control (terminal escapes),
# format (bidi overrides, zero-width joiners), private use, surrogates, line separators.
UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"})
SHA256_RE = re.compile(r"^sha256:[0-9a-f]{64}$")
TRUE_WORDS = frozenset({"true", "1", "yes", "on", "y", "t"})
FALSE_WORDS = frozenset({"false", "0", "no", "off", "n", "f", "none", ""})
# Alphabets whose letters look alike (Latin "a", Cyrillic "а", Greek "α" ...): a name may
# use at most one of them (a CJK or Arabic name with Latin "7B" in it is fine).
CONFUSABLE_SCRIPTS = frozenset({"LATIN", "CYRILLIC", "GREEK", "ARMENIAN", "CHEROKEE", "COPTIC"})


def unsafe_char(text: str) -> str | None:
    """The first character of `text` that must never reach a terminal or page, if any."""
    return next((c for c in text if unicodedata.category(c) in UNSAFE_CATEGORIES), None)


def printable(text: Any, limit: int = 80) -> str:
    """`text` shortened and with every unsafe character escaped: safe inside any message."""
    text = str(text)
    shown = "".join(c if unicodedata.category(c) not in UNSAFE_CATEGORIES
                    else c.encode("unicode_escape").decode("ascii") for c in text[:limit])
    return shown + ("..." if len(text) > limit else "")


def _scripts(text: str) -> set[str]:
    """Writing systems of the letters in `text` (LATIN, CYRILLIC, GREEK, CJK ...)."""
    found = set()
    for char in text:
        if char.isalpha():
            name = unicodedata.name(char, "")
            found.add(name.split(" ")[0] if name else "UNKNOWN")
    return found


def check_text(value: Any, where: str, max_chars: int = 200, *, single_script: bool = False
               ) -> str:
    """A non-empty string without control, bidi or other invisible characters.

    `single_script` also refuses look-alike names that mix writing systems (a Cyrillic
    "а" inside a Latin name) and text that Unicode normalisation would change (full-width
    letters), so two rows cannot display the same name.
    """
    if not isinstance(value, str) or not value.strip():
        raise UserError(f"{where}: must be a non-empty string, got {printable(value, 40)!r}")
    if len(value) > max_chars:
        raise UserError(f"{where}: {len(value)} characters, over the limit of {max_chars}; "
                        "shorten it")
    bad = unsafe_char(value)
    if bad is not None:
        raise UserError(f"{where}: contains the invisible/control character U+{ord(bad):04X} "
                        f"({unicodedata.name(bad, 'unnamed')}); remove it")
    if single_script:
        if unicodedata.normalize("NFKC", value) != value:
            raise UserError(f"{where}: {printable(value, 40)!r} is not in Unicode normal form "
                            "(full-width or compatibility characters); retype it plainly")
        scripts = _scripts(value) & CONFUSABLE_SCRIPTS
        if len(scripts) > 1:
            raise UserError(f"{where}: {printable(value, 40)!r} mixes writing systems "
                            f"({', '.join(sorted(scripts))}), which makes look-alike names; "
                            "use one script")
    return value


def check_sha256(value: Any, where: str) -> str:
    """A hash written as ``sha256:`` + 64 lowercase hex digits, and nothing else."""
    if not isinstance(value, str) or not SHA256_RE.match(value):
        raise UserError(f"{where}: {printable(value, 40)!r} is not a hash ('sha256:' + 64 hex "
                        "digits); take it from the dataset card or `persona-bench inspect`")
    return value


def parse_bool(value: Any, name: str) -> bool:
    """Strict booleans: true/1/yes/on and false/0/no/off (any case); anything else is an error.

    `bool("no")` is True, so a model argument like ``trust_remote_code=no`` must never be
    passed through `bool`.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    word = str(value).strip().lower() if value is not None else ""
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise UserError(f"{name}={printable(value, 40)!r} is not a boolean; use true or false")


def check_finite(obj: Any, where: str) -> Any:
    """`obj` unchanged if no number anywhere inside it is NaN or infinite."""
    stack: list[tuple[str, Any]] = [(where, obj)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, float) and not math.isfinite(value):
            raise UserError(f"{path}: {value} is not a finite number; a score must be a real "
                            "value: re-run the step that wrote it")
        if isinstance(value, dict):
            stack += [(f"{path}.{k}", v) for k, v in value.items()]
        elif isinstance(value, list | tuple):
            stack += [(f"{path}[{i}]", v) for i, v in enumerate(value)]
    return obj


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON (numbers must be finite)")


def strict_json_loads(data: str | bytes) -> Any:
    """`json.loads` that refuses NaN, Infinity and -Infinity (not JSON, but Python allows it)."""
    return json.loads(data, parse_constant=_reject_constant)


def strict_json_dumps(obj: Any, **kwargs: Any) -> str:
    """`json.dumps` that refuses to write NaN/Infinity, so every file stays strict JSON."""
    return json.dumps(obj, allow_nan=False, **kwargs)


def contained_path(base: Path, relative: Any, where: str) -> Path:
    """`base / relative`, refusing absolute paths, `..` and symlinks anywhere on the way.

    A submission is the folder given: nothing outside it is ever read.
    """
    if not isinstance(relative, str) or not relative.strip():
        raise UserError(f"{where}: must be a relative path inside the submission folder")
    rel = Path(relative)
    if rel.is_absolute() or ".." in rel.parts or "\\" in relative or unsafe_char(relative):
        raise UserError(f"{where}: {printable(relative, 60)!r} leaves the submission folder; "
                        "use a path relative to it, without '..', and copy the files in")
    path = base
    for part in rel.parts:
        path = path / part
        if path.is_symlink():
            raise UserError(f"{where}: {path} is a symbolic link; copy the real files into "
                            "the submission folder")
    if not path.resolve().is_relative_to(base.resolve()):
        raise UserError(f"{where}: {printable(relative, 60)!r} resolves outside {base}")
    return path


def bounded(kind: Callable[[str], Any], low: float, flag: str) -> Callable[[str], Any]:
    """An argparse `type=` for `flag`: parse with `kind`, refuse values below `low`.

    It raises `UserError` (which argparse lets through), so a bad count is the usual one
    line naming the flag, like every other bad input.
    """
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise UserError(f"{flag}: {printable(text, 40)!r} is not a number") from None
        if isinstance(value, float) and not math.isfinite(value) or value < low:
            least = "positive" if low > 0 and kind is float else f"at least {low}"
            raise UserError(f"{flag} must be {least}, got {printable(text, 40)}")
        return value

    parse.__name__ = kind.__name__
    return parse


def non_negative_int(flag: str) -> Callable[[str], int]:
    return bounded(int, 0, flag)


def positive_int(flag: str) -> Callable[[str], int]:
    return bounded(int, 1, flag)


def positive_float(flag: str) -> Callable[[str], float]:
    return bounded(float, 1e-300, flag)
