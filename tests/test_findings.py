"""bench/findings.py: the seed summaries and the verdicts of docs/findings.md (no demo run)."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest

SPEC = importlib.util.spec_from_file_location(
    "findings", Path(__file__).parents[1] / "bench" / "findings.py")
findings = sys.modules["findings"] = importlib.util.module_from_spec(SPEC)  # for @dataclass
SPEC.loader.exec_module(findings)


def row(direction: str, target: float, low: float, lik_low: float = 0.3) -> dict:
    return {"direction": direction, "chance": 0.083, "likelihood_chance": 0.2,
            "source": [0.4, 0.3, 0.5], "target": [target, low, target + 0.1],
            "gap": [0.4 - target, 0.4 - target - 0.1, 0.4 - target + 0.1],
            "likelihood_target": [0.5, lik_low, 0.7]}


def result(seed: int, i2t: float, t2i: float) -> dict:
    return {"label": "recipe", "seed": seed, "args": [],
            "rows": [row("img2text", i2t, i2t - 0.05), row("text2img", t2i, 0.0, lik_low=0.1)]}


def test_verdicts_read_the_lower_end_of_each_interval():
    assert findings.verdicts(row("img2text", 0.2, 0.1)) == (
        "target > chance: yes; likelihood target > chance: yes; gap > 0: yes")
    assert findings.verdicts(row("img2text", 0.1, 0.05, lik_low=0.2)).startswith(
        "target > chance: no; likelihood target > chance: no")


def test_over_seeds_counts_the_seeds_that_clear_each_goal():
    text = findings.over_seeds([result(0, 0.2, 0.1), result(1, 0.1, 0.1)])
    lines = {line.split(" | ")[1]: line for line in text.splitlines() if "| recipe" in line}
    assert "0.150 ± 0.071" in lines["img2text"]  # target mean ± sd over the 2 seeds
    assert lines["img2text"].endswith("| 1/2 | 2/2 | 2/2 |")
    assert lines["text2img"].endswith("| 0/2 | 0/2 | 2/2 |")
    assert findings.over_seeds([result(0, 0.2, 0.1)]) == ""  # one seed: nothing to summarise


def test_asymmetry_over_seeds_says_which_direction_is_ahead():
    text = findings.asymmetry([result(0, 0.2, 0.1), result(1, 0.1, 0.3)])
    assert "target over 2 seeds: img2text - text2img -0.050 ± 0.212; img2text ahead in 1, " \
           "behind in 1" in text


def test_a_stored_case_run_with_other_flags_is_refused(tmp_path):
    case = findings.Case("demo recipe", ("--epochs", "3"))
    folder = findings.case_dir(tmp_path, case, 0)
    folder.mkdir()
    (folder / "findings.json").write_text(json.dumps(result(0, 0.2, 0.1)))
    with pytest.raises(SystemExit, match="was run with"):
        findings.run_case(tmp_path, case, 0)


def write_sample_logs(root, answers: dict[str, list[tuple[str, str, str]]]) -> None:
    """lmms-eval logs of img2text: per half, (persona, fact, prediction) records."""
    logs = root / "run" / "img2text" / "eval" / "model"
    logs.mkdir(parents=True)
    tasks = {}
    for half, rows in answers.items():
        task = f"persona_img2text_{half}"
        tasks[task] = {}
        lines = []
        for i, (pid, fact, p) in enumerate(rows):
            record = {"id": f"{pid}-{fact}", "persona_id": pid, "fact": fact,
                      "modality": "image", "answer": "x", "prediction": p, "exact": False,
                      "contains": False}
            lines.append(json.dumps({"doc_id": i, "target": "x", "filtered_resps": [p],
                                     "exact": record}))
        (logs / f"20261201_samples_{task}.jsonl").write_text("\n".join(lines) + "\n")
    (logs / "20261201_results.json").write_text(json.dumps({"results": tasks}))


def test_answer_types_is_the_share_of_answers_of_the_asked_kind(tmp_path):
    write_sample_logs(tmp_path, {
        "source": [("p0000", "birth_city", "Bergen"), ("p0001", "name", "Nils Moreau")],
        "target": [("p0000", "birth_city", "blue"), ("p0001", "name", "b")]})
    assert findings.answer_types(tmp_path, "img2text") == {"source": 1.0, "target": 0.0}


def test_same_answers_says_whether_the_answer_follows_the_question(tmp_path):
    write_sample_logs(tmp_path, {  # target: p0000 answers Bergen whatever is asked
        "source": [("p0000", "birth_city", "Bergen"), ("p0000", "name", "Nils Moreau"),
                   ("p0001", "name", "Ada Li")],
        "target": [("p0000", "birth_city", "Bergen"), ("p0000", "name", "bergen"),
                   ("p0001", "name", "Ada Li")]})
    assert findings.same_answers(tmp_path, "img2text") == {"source": 0.75, "target": 1.0}


def test_stored_only_runs_nothing_and_lists_what_is_missing(tmp_path, capsys):
    assert findings.main(["--out", str(tmp_path), "--only", "first", "--stored-only"]) == 0
    assert "Not run: first issue-14 recipe (seed 0)." in capsys.readouterr().out
    assert [p.name for p in tmp_path.iterdir()] == ["first.json"]  # no case was run


def test_a_case_with_a_base_starts_from_its_dataset_and_pretrained_model(tmp_path):
    (epochs,) = [c for c in findings.EXPERIMENTS["epochs"][1]
                 if c.args[-2:] == ("--epochs", "20")]
    assert epochs.base == "own-question alignment"
    assert epochs.args == (*findings.OWN, "--epochs", "20")
    base = findings.case_dir(tmp_path, findings.OWN_RECIPE, 0)
    for name in ("data", "tiny-vlm-xs"):
        (base / name).mkdir(parents=True)
        (base / name / "config.json").write_text(name)
    stored = {**result(0, 0.2, 0.1), "label": "own-question alignment", "args": list(findings.OWN),
              "identification": {}}
    for r in stored["rows"]:
        r.update(answer_type={}, same_answer={}, facts={})
    (base / "findings.json").write_text(json.dumps(stored))
    findings.start_from_base(tmp_path, epochs, 0)
    folder = findings.case_dir(tmp_path, epochs, 0)
    assert sorted(p.name for p in folder.iterdir()) == ["data", "tiny-vlm-xs"]  # no partials
    assert (folder / "tiny-vlm-xs" / "config.json").read_text() == "tiny-vlm-xs"


def test_per_fact_averages_over_seeds_and_counts_the_seeds_above_chance():
    def facts(target: float) -> dict:
        return {f: {"chance": 0.083, "likelihood_chance": 0.2, "source": 0.5, "target": target,
                    "likelihood_target": 0.4} for f in findings.ALL_FACTS}

    runs = [{"label": "recipe", "seed": s, "rows": [{"direction": "img2text", "n_personas": 12,
                                                     "facts": facts(t)}]}
            for s, t in ((0, 0.0), (1, 0.25))]
    text = findings.per_fact(runs)
    (name,) = [line for line in text.splitlines() if "| name |" in line]
    assert name == ("| recipe | img2text | name | 0.083 / 0.20 | 0.500 | 0.125 | 0.400 | 1/2 "
                    "| 2/2 |")
    assert "steps of 1/12" in text


def test_every_case_but_the_demos_pins_its_alignment_question_and_budget():
    """A stored case must stay what it was when the demo's default moves on."""
    cases = {c for _, cs in findings.EXPERIMENTS.values() for c in cs}
    assert findings.DEMO_RECIPE in cases
    for case in cases - {findings.DEMO_RECIPE}:
        assert "--align-question" in case.args, case.label
        assert "--pretrain-steps" in case.args, case.label


def test_write_tables_replaces_between_markers_and_appends_without(tmp_path):
    doc = tmp_path / "findings.md"
    doc.write_text("# Findings\n\nprose\n")
    findings.write_tables(doc, "table 1\n", "<!-- b -->", "<!-- e -->")
    assert doc.read_text() == "# Findings\n\nprose\n\n<!-- b -->\ntable 1\n<!-- e -->\n"
    doc.write_text(doc.read_text() + "after\n")
    findings.write_tables(doc, "table 2\n", "<!-- b -->", "<!-- e -->")
    assert doc.read_text() == "# Findings\n\nprose\n\n<!-- b -->\ntable 2\n<!-- e -->\nafter\n"


def test_write_puts_each_experiment_between_its_own_markers(tmp_path):
    """A sweep of one experiment rewrites its own tables and leaves another's alone."""
    doc = tmp_path / "findings.md"
    other_begin, other_end = findings.markers("recipe")
    doc.write_text(f"# Findings\n\n{other_begin}\nkept\n{other_end}\n")
    assert findings.main(["--out", str(tmp_path / "out"), "--only", "steps-demo",
                          "--stored-only", "--write", str(doc)]) == 0
    text = doc.read_text()
    begin, end = findings.markers("steps-demo")
    assert f"{other_begin}\nkept\n{other_end}\n" in text
    block = text.split(begin, 1)[1].split(end, 1)[0]
    assert "### Alignment budget beyond the demo's 800 steps" in block
    assert "Not run: demo recipe (seed 0), person alignment, 1600 steps (seed 0)." in block
