"""The ground floor: light to import, and the layering every stage keeps."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

from persona_bench import contracts

ROOT = Path(__file__).resolve().parents[1]
GROUND = ("contracts", "experiments", "prompting", "matching", "checks", "atomic", "errors",
          "argparsing", "progress")
STAGES = ("persona_gen", "trainers", "tasks", "leaderboards")
# What a stage may import of another stage: data flows persona_gen -> trainers / tasks ->
# leaderboards, and only through the dataset's public reader, vocabulary and text corpus.
PUBLIC = {"persona_gen.publish", "persona_gen.vocab", "persona_gen.corpus"}
ALLOWED = {"persona_gen": set(), "trainers": PUBLIC, "tasks": PUBLIC, "leaderboards": PUBLIC}


def test_the_ground_floor_imports_no_heavy_library():
    probe = ("import json, sys\n"
             + "".join(f"import persona_bench.{m}\n" for m in GROUND)
             + "print(json.dumps(sorted(m for m in ('torch', 'transformers', 'datasets', 'trl',"
               " 'numpy') if m in sys.modules)))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True)
    assert json.loads(done.stdout) == []


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return found


def test_no_stage_imports_another_stages_internals():
    wrong = []
    for stage in STAGES:
        for path in (ROOT / stage).rglob("*.py"):
            for module in _imports(path):
                if module.split(".")[0] in STAGES:
                    wrong.append(f"{path.relative_to(ROOT)}: bare `{module}`")
                parts = module.split(".")
                if parts[0] == "persona_bench" and len(parts) > 1 and parts[1] in STAGES:
                    other = ".".join(parts[1:3])
                    if parts[1] != stage and other not in ALLOWED[stage]:
                        wrong.append(f"{path.relative_to(ROOT)} imports {module}")
    assert wrong == []


def test_file_names_and_task_names_have_one_definition():
    assert contracts.task_name("img2text", "source") == "persona_img2text_source"
    assert contracts.task_name("text2img", "seen", text_only=True) == "pbench_text_text2img_seen"
    assert contracts.group_name("multihop_image") == "persona_multihop_image"
    assert contracts.likelihood_samples("img2text", "target") == "likelihood_img2text_target.jsonl"
    offenders = [str(p.relative_to(ROOT)) for stage in (*STAGES, "persona_bench")
                 for p in (ROOT / stage).rglob("*.py")
                 if p.name != "contracts.py"
                 and ('"persona_train.json"' in p.read_text()
                      or '"run_manifest.json"' in p.read_text())]
    assert offenders == []


def test_the_stages_install_under_the_project_namespace():
    """`persona_bench.tasks` is importable; a bare `tasks` package is not installed."""
    done = subprocess.run(
        [sys.executable, "-c", "import importlib.util as u, json; print(json.dumps("
         "[u.find_spec(m) is not None for m in ('persona_bench.tasks', 'persona_bench.trainers',"
         " 'persona_bench.leaderboards', 'persona_bench.persona_gen', 'tasks', 'trainers',"
         " 'leaderboards', 'persona_gen')]))"],
        capture_output=True, text=True, check=True, cwd="/")
    assert json.loads(done.stdout) == [True] * 4 + [False] * 4
