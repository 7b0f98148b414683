"""The task YAMLs of both packs, generated from the experiment registry.

Every config of every experiment gets, in the lmms-eval pack, one task per evaluation half
(``persona_<config>_<role>``) and a group of its `in_group` halves (``persona_<config>``);
in the lm-eval pack (text questions only), one task per text half
(``pbench_text_<config>_<role>``) and a group of them all (``pbench_text_<config>``).
The hand-written `_default_template_yaml` and `utils.py` of each pack hold everything else.

The checked-in packs are this module's output (a test compares them); after changing an
experiment, rewrite them with

    python -m persona_bench.tasks.packs
"""

from __future__ import annotations

import sys
from pathlib import Path

from persona_bench.contracts import group_name, task_name
from persona_bench.experiments import CONFIGS, Config, Half, experiment_of

PACK_ROOT = Path(__file__).resolve().parent
PACKS = ("lmms", "lm_eval")
TEMPLATE = "_default_template_yaml"
VERSION = "1.0"  # of the prompts, splits and scoring (tasks.data.TASK_VERSION)


def _half_yaml(config: Config, half: Half, text_only: bool) -> str:
    return "\n".join([
        f"# {config.name} {half.role}: {half.about}.",
        "include: _default_template_yaml",
        f"task: {task_name(config.name, half.role, text_only)}",
        f"dataset_name: {config.dataset_config}",
        f"test_split: {half.split}",
    ]) + "\n"


def _group_yaml(config: Config, halves: list[Half], text_only: bool) -> str:
    what = "its text questions (lm-eval asks text only)" if text_only else "its halves"
    lines = [
        f"# {experiment_of(config.name).name} experiment, {config.name}: {config.about}.",
        f"# The group runs {what}: {', '.join(h.role for h in halves)}.",
        f"group: {group_name(config.name, text_only)}",
        "task:",
        *[f"  - {task_name(config.name, h.role, text_only)}" for h in halves],
        "metadata:",
        f"  version: {VERSION}",
    ]
    return "\n".join(lines) + "\n"


def pack_yamls(pack: str) -> dict[str, str]:
    """File name -> text of every generated YAML of `pack`."""
    text_only = pack == "lm_eval"
    files: dict[str, str] = {}
    for config in CONFIGS.values():
        halves = [h for h in config.halves if h.modality == "text"] if text_only else \
            list(config.halves)
        group = halves if text_only else [h for h in halves if h.in_group]
        if not halves:
            continue
        files[f"{group_name(config.name, text_only)}.yaml"] = _group_yaml(config, group, text_only)
        for half in halves:
            files[f"{task_name(config.name, half.role, text_only)}.yaml"] = _half_yaml(
                config, half, text_only)
    return dict(sorted(files.items()))


def stale_files(root: Path = PACK_ROOT) -> list[str]:
    """Checked-in YAMLs that differ from the registry's, or are missing or left over."""
    stale = []
    for pack in PACKS:
        want = pack_yamls(pack)
        have = {p.name: p.read_text() for p in (root / pack).glob("*.yaml")}
        stale += [f"{pack}/{name}" for name in sorted(set(want) | set(have))
                  if want.get(name) != have.get(name)]
    return stale


def write_packs(root: Path = PACK_ROOT) -> list[str]:
    """Rewrite the generated YAMLs of both packs in `root`; return what changed."""
    changed = stale_files(root)
    for pack in PACKS:
        want = pack_yamls(pack)
        for path in (root / pack).glob("*.yaml"):
            if path.name not in want:
                path.unlink()
        for name, text in want.items():
            (root / pack / name).write_text(text)
    return changed


if __name__ == "__main__":
    print("\n".join(f"rewrote {name}" for name in write_packs()) or "packs are up to date")
    sys.exit(0)
