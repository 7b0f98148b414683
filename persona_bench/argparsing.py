"""The argument parser every `persona-bench` command uses: one flag spelling, defaults shown.

- Flags are spelled with hyphens (``--pretrain-steps``); the underscore spelling
  (``--pretrain_steps``, what TRL/transformers scripts use) is accepted as a hidden alias,
  so both work on every command and help lists one.
- ``--help`` shows each option's default (unless it is None, False or already written).

Importing this module is cheap (argparse only): a command builds its parser and parses
``--help`` before it imports torch, transformers or datasets.
"""

from __future__ import annotations

import argparse
from typing import Any


def _alias(option: str) -> str:
    """``--a-b`` -> ``--a_b`` and back (the other spelling of a long option)."""
    body = option[2:]
    return "--" + (body.replace("-", "_") if "-" in body else body.replace("_", "-"))


def _blank(default: object) -> bool:
    """Defaults not worth showing (identity checks: 0 is a real default, False is not)."""
    return default is None or default is False or default == argparse.SUPPRESS


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps descriptions as written, appends defaults, hides the underscore aliases."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if (not action.option_strings or _blank(action.default) or "%(default)" in text
                or "default" in text):
            return text
        return f"{text} (default: %(default)s)"

    def _format_action_invocation(self, action: argparse.Action) -> str:
        shown = [o for o in action.option_strings
                 if not (o.startswith("--") and "_" in o and _alias(o) in action.option_strings)]
        if shown != action.option_strings:
            action = _copy(action, shown)
        return super()._format_action_invocation(action)


def _copy(action: argparse.Action, option_strings: list[str]) -> argparse.Action:
    clone = argparse.Action.__new__(type(action))
    clone.__dict__.update(action.__dict__)
    clone.option_strings = option_strings
    return clone


class ArgumentParser(argparse.ArgumentParser):
    """`argparse.ArgumentParser` with `HelpFormatter` and both spellings of every long flag."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def add_argument(self, *names: str, **kwargs: Any) -> argparse.Action:
        extra = [_alias(n) for n in names if n.startswith("--") and ("-" in n[2:] or "_" in n)]
        if not kwargs.get("help") and not _blank(kwargs.get("default")):
            kwargs["help"] = "default: %(default)s"  # argparse skips options without help
        return super().add_argument(*names, *[e for e in extra if e not in names], **kwargs)
