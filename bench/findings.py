"""Reproduce docs/findings.md: does the from-config family show cross-modal transfer?

    python bench/findings.py --out findings_out                 # recipe + alignment, 1 seed
    python bench/findings.py --out findings_out --seeds 0 1 2   # 3 seeds (3x the time)
    python bench/findings.py --out findings_out --only recipe   # one experiment
    python bench/findings.py --out findings_out --write docs/findings.md

Each case is one `persona-bench demo` run (dataset -> tiny VLM + alignment pretraining ->
fine-tune on one modality -> lmms-eval + likelihood -> score) in OUT/<case>-s<seed>; a case
whose run folder is complete is not rerun, so an interrupted sweep resumes. Every number
is recomputed from the stored per-sample logs by the leaderboard's scorer: held-out test
questions, 95% paired bootstrap intervals over personas, chance per fact from the dataset,
and the pretrained model before the one-modality fine-tune as the untrained baseline.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.nn import functional as F

from persona_bench.atomic import write_text_atomic
from persona_bench.experiment import mean_sd
from persona_bench.leaderboards.bootstrap import Interval
from persona_bench.leaderboards.readers import locate_run, read_task_log
from persona_bench.leaderboards.scoring import DirectionScore, score_results
from persona_bench.persona_gen.vocab import ALL_FACTS
from persona_bench.pipeline import DEMO, DIRECTIONS, demo, demo_parser
from persona_bench.tasks.evaluate import finished_results


@dataclass(frozen=True)
class Case:
    """One demo run of an experiment: a label and the demo flags that differ from the default."""

    label: str
    args: tuple[str, ...] = ()
    directions: tuple[str, ...] = DIRECTIONS
    # The label of a case whose dataset and pretrained model this one starts from (same seed):
    # its flags may only change the fine-tune, so that is all that differs between the two.
    base: str = ""


# Earlier recipes spell out every flag that has changed since, so they stay what they were.
# The demo's alignment until the sixth session: each side's own question, read at the
# answer position (`trainers/align.py`). Every case measured on it spells it out.
# Every case before the seventh session ran 400 alignment steps (the demo's then).
OWN = ("--align-question", "own", "--pretrain-steps", "400")
# The demo's since: read at the person's last token, before the question (400 steps until
# the seventh session, 800 since).
PERSON = ("--align-question", "person")
PERSON_400 = (*PERSON, "--pretrain-steps", "400")
PERSON_800 = (*PERSON, "--pretrain-steps", "800")  # the demo's since the seventh session
# The demo's recipe before issue 14, for the "before / after" comparison.
OLD_RECIPE = (*OWN, "--no-word-tokens", "--pretrain-tasks", "caption", "facts",
              "--pretrain-steps", "300", "--patch-size", "8", "--align-weight", "0",
              "--epochs", "30", "--train-args=--train_projector true")
# The first issue-14 recipe: byte-level BPE, every LM layer aligned, a 30-epoch fine-tune.
FIRST_RECIPE = (*OWN, "--no-word-tokens", "--align-layers", "0", "--epochs", "30")
# The alternative of the second issue-14 session: one shared question per alignment step,
# centred states; the fine-tune trains the upper half of the LM only, at a higher rate.
SHARED = ("--no-word-tokens", "--align-layers", "0", "--align-question", "shared",
          "--align-centre", "--pretrain-steps", "400")
UPPER = (*SHARED, "--train-args=--train_projector false --freeze_lm_layers 2 "
         "--learning_rate 3e-3")
DEMO_RECIPE = Case("demo recipe")
OWN_RECIPE = Case("own-question alignment", OWN)  # the demo recipe of sessions 3-5


def own(label: str, *args: str, directions: tuple[str, ...] = ("img2text",),
        base: str = "") -> Case:
    """A case measured on the own-question alignment: `args` on top of it."""
    return Case(label, (*OWN, *args), directions, base)


def demo_case(label: str, *args: str, directions: tuple[str, ...] = ("img2text",),
              base: str = "") -> Case:
    """A case measured on the demo recipe of the seventh session on: `args` on top of it."""
    return Case(label, (*PERSON_800, *args), directions, base)


# Experiments by name: the table they fill, and their cases (registration, not branches).
# A case shared by two experiments (same label) is run once.
EXPERIMENTS: dict[str, tuple[str, tuple[Case, ...]]] = {
    "recipe": ("The demo recipe (`persona-bench demo`), both directions", (DEMO_RECIPE,)),
    "person": ("Where the person is aligned: its last token before the question (the demo) "
               "or the answer position (sessions 3-5)", (
        DEMO_RECIPE, OWN_RECIPE,
        Case("aligned at the person's last token, every layer",
             (*PERSON_400, "--align-layers", "0"), ("img2text",)),
        Case("person alignment, 400 steps (the demo of the sixth session)", PERSON_400),
        Case("person alignment, 600 steps",
             (*PERSON, "--pretrain-steps", "600"), ("img2text",)),
    )),
    "tokenizer": ("Word-level answer tokens vs the plain byte-level BPE (own-question "
                  "alignment), img2text", (
        OWN_RECIPE, own("plain byte-level BPE", "--no-word-tokens"))),
    "alignment": ("Transfer vs alignment (where, on/off, weight, steps, pool, two phases; "
                  "own-question alignment), img2text", (
        OWN_RECIPE,
        own("alignment on every LM layer", "--align-layers", "0"),
        own("no alignment loss", "--align-weight", "0"),
        *(own(f"{n} alignment steps", "--pretrain-steps", str(n)) for n in (100, 200, 600)),
        own("800 alignment steps", "--pretrain-steps", "800", directions=DIRECTIONS),
        own("pool of 24 personas", "--pretrain-personas", "24"),
        own("pool of appearance questions only", "--pretrain-tasks", "appearance"),
        own("alignment weight 0.2", "--align-weight", "0.2"),
        own("two phases: 300 SFT-only steps, then 300 aligned",
            "--pretrain-steps", "600", "--align-after", "300"),
    )),
    "before": ("The demo recipe before issue 14, both directions", (
        Case("recipe before issue 14", OLD_RECIPE),)),
    "first": ("The first issue-14 recipe (byte-level BPE, every layer aligned, 30 epochs), "
              "img2text", (
        Case("first issue-14 recipe", FIRST_RECIPE, ("img2text",)),)),
    "upper": ("Second session: shared-question centred alignment (byte-level BPE, every "
              "layer), and training only the upper LM half", (
        Case("shared centred alignment, upper half", UPPER),
        Case("shared centred alignment, whole LM", SHARED, ("img2text",)),
    )),
    "epochs": ("Transfer vs fine-tune epochs (own-question alignment; the same pretrained "
               "model per seed), img2text", (
        OWN_RECIPE,
        *(own(f"{n:g} fine-tune epochs", "--epochs", f"{n:g}", base=OWN_RECIPE.label)
          for n in (DEMO["epochs"] / 2, DEMO["epochs"] * 2)),
    )),
    "size": ("Transfer vs model size (own-question alignment, 400 steps), img2text", (
        OWN_RECIPE, own("s (~30M)", "--size", "s"))),
    # The same questions on the demo recipe (800 steps), 3 seeds each.
    "size-demo": ("Transfer vs model size on the demo recipe (800 steps), img2text", (
        DEMO_RECIPE, demo_case("s (~30M), demo recipe", "--size", "s"),
        demo_case("m (~110M), demo recipe", "--size", "m"))),
    "epochs-demo": ("Transfer vs fine-tune epochs on the demo recipe (800 steps; the same "
                    "pretrained model per seed), both directions", (
        DEMO_RECIPE,
        *(demo_case(f"{n:g} fine-tune epochs, demo recipe", "--epochs", f"{n:g}",
                    directions=DIRECTIONS, base=DEMO_RECIPE.label)
          for n in (DEMO["epochs"] / 2, DEMO["epochs"] * 2)))),
    "tokenizer-demo": ("Word-level answer tokens vs the plain byte-level BPE on the demo "
                       "recipe (800 steps), img2text", (
        DEMO_RECIPE, demo_case("plain byte-level BPE, demo recipe", "--no-word-tokens"))),
    "steps-demo": ("Alignment budget beyond the demo's 800 steps (person alignment), "
                   "img2text", (
        DEMO_RECIPE, Case("person alignment, 1600 steps", (*PERSON, "--pretrain-steps", "1600"),
                          ("img2text",)))),
}
# Experiments whose section also breaks target recall down per fact.
PER_FACT = ("recipe",)
DEFAULT_EXPERIMENTS = ("recipe", "tokenizer", "alignment")
METRICS = ("source", "target", "gap", "likelihood_source", "likelihood_target", "seen",
           "base_target")


def args_size(case: Case) -> str:
    return demo_parser().parse_args(list(case.args)).size


def case_dir(out: Path, case: Case, seed: int) -> Path:
    slug = "".join(c if c.isalnum() else "-" for c in case.label.lower()).strip("-")
    return out / f"{slug}-s{seed}"


def run_case(out: Path, case: Case, seed: int) -> dict:
    """Run (or resume) one case for its directions; returns its scores and wall times."""
    folder = case_dir(out, case, seed)
    result_file = folder / "findings.json"
    if result_file.is_file():
        result = json.loads(result_file.read_text())
        if result["args"] != list(case.args):
            raise SystemExit(f"{folder} was run with {result['args']}, not {list(case.args)}: "
                             "pass another --out (or remove that folder)")
        stale = "identification" not in result or any(
            k not in row for row in result["rows"] for k in ROW_MEASURES)
        if "identification" not in result:  # runs from before these measurements existed
            result["identification"] = identification(
                folder / f"tiny-vlm-{args_size(case)}", folder / "data")
        for row in result["rows"]:
            for key, measure in ROW_MEASURES.items():
                if key not in row:
                    row[key] = measure(folder, row["direction"])
        if stale:
            write_text_atomic(result_file, json.dumps(result, indent=2) + "\n")
        return result
    if case.base:
        start_from_base(out, case, seed)
    direction = "both" if set(case.directions) == set(DIRECTIONS) else case.directions[0]
    started = time.perf_counter()
    steps, _ = demo(demo_parser().parse_args(
        [*case.args, "--direction", direction, "--seed", str(seed), "--out", str(folder)]))
    size = args_size(case)
    result = {"label": case.label, "args": list(case.args), "seed": seed,
              "identification": identification(folder / f"tiny-vlm-{size}", folder / "data"),
              "rows": [{**score_row(folder, d),
                        **{key: measure(folder, d) for key, measure in ROW_MEASURES.items()}}
                       for d in case.directions],
              "seconds": round(time.perf_counter() - started, 1),
              "steps": [[name, round(sec, 1), status] for name, sec, status in steps.times]}
    write_text_atomic(result_file, json.dumps(result, indent=2) + "\n")
    return result


def start_from_base(out: Path, case: Case, seed: int) -> None:
    """Copy the dataset and pretrained model of `case.base` (run first when missing) into
    the case's folder; the demo then skips those steps, as on a resumed run."""
    (base,) = {c for _, cases in EXPERIMENTS.values() for c in cases if c.label == case.base}
    run_case(out, base, seed)
    source, folder = case_dir(out, base, seed), case_dir(out, case, seed)
    for name in ("data", f"tiny-vlm-{args_size(base)}"):
        if not (folder / name).exists():
            partial = folder / f".{name}.partial"
            shutil.rmtree(partial, ignore_errors=True)
            shutil.copytree(source / name, partial)
            partial.rename(folder / name)


@torch.inference_mode()
def identification(model_dir: Path, data: Path) -> dict[str, float]:
    """Do the two routes meet? Cross-modal identification from the pretrained model's states.

    For each target persona: the language model's state at the last prompt position of the
    7 fact questions (template 0 for everyone, so question text cannot match them), from the
    held-out portrait and from the held-out description, averaged over the questions and
    centred per modality. Top-1 accuracy of finding a portrait's own description among all
    personas by cosine (and back), averaged over the LM layers; chance is 1 / personas.
    """
    from datasets import load_dataset
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from persona_bench.persona_gen.rows import text_question
    from persona_bench.persona_gen.vocab import QUESTIONS
    from persona_bench.prompting import build_prompt, encode_prompts

    model = AutoModelForImageTextToText.from_pretrained(model_dir).eval()
    processor = AutoProcessor.from_pretrained(model_dir)
    people = load_dataset(str(data), "personas", split="train")

    def state(question: str, images: list) -> torch.Tensor:
        prompt = build_prompt(processor, [{"role": "user", "content": question}], images)
        hidden = model(**encode_prompts(processor, [prompt], [images]),
                       output_hidden_states=True).hidden_states
        return torch.stack([h[0, -1] for h in hidden[1:]])  # layers x width

    routes = {"image": [], "text": []}
    for person in people:
        asked = [qs[0] for qs in QUESTIONS.values()]
        routes["image"].append(torch.stack([state(q, [person["images"][-1]])
                                            for q in asked]).mean(0))
        routes["text"].append(torch.stack([
            state(text_question(person["descriptions"][-1], q), []) for q in asked]).mean(0))
    a, b = (torch.stack(v).transpose(0, 1) for v in routes.values())  # layers x P x W
    a, b = (F.normalize(x - x.mean(1, keepdim=True), dim=-1) for x in (a, b))
    sim = a @ b.transpose(1, 2)
    own = torch.arange(sim.shape[1])
    return {"img2text": (sim.argmax(2) == own).float().mean().item(),
            "text2img": (sim.argmax(1) == own).float().mean().item(),
            "chance": 1 / sim.shape[1]}


def half_records(folder: Path, direction: str) -> dict[str, list]:
    """The checked per-sample records of the source and target halves of one direction."""
    run = locate_run(folder / "run" / direction / "eval", "lmms-eval")
    logs = [read_task_log(path, task) for task, path in run.samples.items()]
    return {log.role: log.records for log in logs if log.role in ("source", "target")}


def answer_types(folder: Path, direction: str) -> dict[str, float]:
    """Does the model read the question? Per test half, the share of greedy answers that are
    a value of the asked fact at all (any person's: a name for `name`, a city for
    `birth_city`...), from the per-sample logs. Exact match can never exceed it."""
    from persona_bench.matching import normalize
    from persona_bench.persona_gen.vocab import FACTS, first_names, last_names

    values = {fact: {normalize(v) for v in vs} for fact, vs in FACTS.items()}
    firsts, lasts = ({normalize(n) for n in names()} for names in (first_names, last_names))

    def right_type(fact: str, prediction: str) -> bool:
        words = normalize(prediction).split()
        if fact == "name":
            return len(words) == 2 and words[0] in firsts and words[1] in lasts
        return " ".join(words) in values[fact]

    return {role: sum(right_type(r.fact, r.prediction) for r in records) / len(records)
            for role, records in half_records(folder, direction).items()}


def same_answers(folder: Path, direction: str) -> dict[str, float]:
    """Does the answer follow the question or only the person? Per test half, the mean over
    personas of the share of a persona's answers (one per fact) that equal its most common
    answer: 1 when a persona gets the same answer whatever is asked, 1 / facts when every
    answer differs."""
    from persona_bench.matching import normalize

    shares = {}
    for role, records in half_records(folder, direction).items():
        by_persona: dict[str, list[str]] = {}
        for r in records:
            by_persona.setdefault(r.persona_id, []).append(normalize(r.prediction))
        shares[role] = sum(Counter(answers).most_common(1)[0][1] / len(answers)
                           for answers in by_persona.values()) / len(by_persona)
    return shares


def _plain(iv: Interval) -> list[float | None]:
    return [iv.value, iv.low, iv.high]


def _direction_score(folder: Path, direction: str) -> DirectionScore:
    run = folder / "run"
    results = finished_results(run / direction / "eval")
    base = finished_results(run / direction / "base_eval")
    return score_results(results, direction, base, dataset=folder / "data").directions[direction]


def score_row(folder: Path, direction: str) -> dict:
    score = _direction_score(folder, direction)
    group = score.groups["all"]
    return {"direction": direction, "chance": group.chance,
            "likelihood_chance": group.likelihood_chance, "n_personas": score.n_personas,
            **{m: _plain(group.metrics[m]) for m in METRICS if m in group.metrics}}


FACT_METRICS = ("source", "target", "likelihood_target")


def fact_scores(folder: Path, direction: str) -> dict[str, dict[str, float]]:
    """Per fact: its chance levels and the point estimates of FACT_METRICS."""
    groups = _direction_score(folder, direction).groups
    return {fact: {"chance": groups[fact].chance,
                   "likelihood_chance": groups[fact].likelihood_chance,
                   **{m: groups[fact].metrics[m].value for m in FACT_METRICS}}
            for fact in ALL_FACTS if fact in groups}


# Measures kept per run and direction beside the scores (added to stored runs that lack one).
ROW_MEASURES = {"answer_type": answer_types, "same_answer": same_answers, "facts": fact_scores}


def _cell(value: list[float | None] | None) -> str:
    if not value or value[0] is None:
        return "—"
    return f"{value[0]:.3f} [{value[1]:.3f}, {value[2]:.3f}]"


def _ident(ident: dict[str, float]) -> str:
    return f"{ident['img2text']:.2f} / {ident['text2img']:.2f} ({ident['chance']:.2f})"


SUMMARY = ("source", "target", "gap", "likelihood_target")


def _passes(row: dict) -> dict[str, bool]:
    """Goals 1 and 2 of issue 14 for one row, from the lower ends of its intervals."""
    return {"target > chance": row["target"][1] > row["chance"],
            "likelihood target > chance": row["likelihood_target"][1] > row["likelihood_chance"],
            "gap > 0": row["gap"][1] > 0}


def verdicts(row: dict) -> str:
    return "; ".join(f"{goal}: {'yes' if ok else 'no'}" for goal, ok in _passes(row).items())


def table(results: list[dict]) -> str:
    head = ("| case | seed | direction | source ↑ | target ↑ | gap ↓ | lik. source ↑ | "
            "lik. target ↑ | seen ↑ | untrained target | chance (exact / lik.) | "
            "routes meet (id. i→t / t→i, chance) | right type (source / target) | "
            "same answer (source / target) | verdict |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for result in results:
        for row in result["rows"]:
            cells = [result["label"], str(result["seed"]), row["direction"],
                     *(_cell(row.get(m)) for m in ("source", "target", "gap", "likelihood_source",
                                                    "likelihood_target", "seen", "base_target")),
                     f"{row['chance']:.3f} / {row['likelihood_chance']:.2f}",
                     _ident(result["identification"]),
                     "{source:.2f} / {target:.2f}".format(**row["answer_type"]),
                     "{source:.2f} / {target:.2f}".format(**row["same_answer"]), verdicts(row)]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def rows_by_case(results: list[dict]) -> dict[tuple[str, str], list[dict]]:
    """The rows of every seed, per (case label, direction)."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for result in results:
        for row in result["rows"]:
            groups.setdefault((result["label"], row["direction"]), []).append(row)
    return groups


def over_seeds(results: list[dict]) -> str:
    """Per case and direction run with 2+ seeds: mean ± sd over seeds, and in how many seeds
    each goal holds (a goal counts for a seed when its 95% interval clears the bar)."""
    groups = {key: rows for key, rows in rows_by_case(results).items() if len(rows) > 1}
    if not groups:
        return ""
    head = ("| case | direction | seeds | " + " | ".join(f"{m} (mean ± sd)" for m in SUMMARY)
            + " | " + " | ".join(_passes(next(iter(groups.values()))[0])) + " |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for (label, direction), rows in groups.items():
        cells = []
        for metric in SUMMARY:
            stats = mean_sd([row[metric][0] for row in rows])
            cells.append(f"{stats['mean']:.3f} ± {stats['sd']:.3f}")
        passes = [_passes(row) for row in rows]
        cells += [f"{sum(p[goal] for p in passes)}/{len(rows)}" for goal in passes[0]]
        lines.append(f"| {label} | {direction} | {len(rows)} | " + " | ".join(cells) + " |")
    return "Over seeds:\n\n" + "\n".join(lines)


def asymmetry(results: list[dict]) -> str:
    """Target recall img2text vs text2img for every run that has both directions, and per
    case with 2+ such seeds the mean ± sd of the difference and how often img2text is ahead."""
    lines, diffs = [], {}
    for result in results:
        by = {row["direction"]: row for row in result["rows"]}
        if set(by) != set(DIRECTIONS):
            continue
        a, b = by["img2text"], by["text2img"]
        for metric in ("target", "likelihood_target"):
            diff = a[metric][0] - b[metric][0]
            diffs.setdefault((result["label"], metric), []).append(diff)
            apart = a[metric][1] > b[metric][2] or b[metric][1] > a[metric][2]
            lines.append(f"- {result['label']} (seed {result['seed']}), {metric}: img2text "
                         f"{a[metric][0]:.3f} vs text2img {b[metric][0]:.3f} (difference "
                         f"{diff:+.3f}; intervals {'do not overlap' if apart else 'overlap'})")
    for (label, metric), values in diffs.items():
        if len(values) > 1:
            stats = mean_sd(values)
            lines.append(f"- {label}, {metric} over {len(values)} seeds: img2text - text2img "
                         f"{stats['mean']:+.3f} ± {stats['sd']:.3f}; img2text ahead in "
                         f"{sum(v > 0 for v in values)}, behind in {sum(v < 0 for v in values)}")
    return "\n".join(lines)


def per_fact(results: list[dict]) -> str:
    """Per case, direction and fact: chance and the mean over seeds of source, target and
    likelihood target recall, and in how many seeds the target point estimate beats chance."""
    groups = rows_by_case(results)
    head = ("| case | direction | fact | chance (exact / lik.) | source ↑ | target ↑ | "
            "lik. target ↑ | seeds: target > chance | seeds: lik. target > chance |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for (label, direction), rows in groups.items():
        for fact in ALL_FACTS:
            runs = [row["facts"][fact] for row in rows]
            means = [sum(r[m] for r in runs) / len(runs) for m in FACT_METRICS]
            above = [sum(r[m] > r[c] for r in runs) for m, c in
                     (("target", "chance"), ("likelihood_target", "likelihood_chance"))]
            lines.append(f"| {label} | {direction} | {fact} | {runs[0]['chance']:.3f} / "
                         f"{runs[0]['likelihood_chance']:.2f} | "
                         + " | ".join(f"{v:.3f}" for v in means) + " | "
                         + " | ".join(f"{a}/{len(runs)}" for a in above) + " |")
    personas = results[0]["rows"][0]["n_personas"]
    return (f"Per fact (point estimates, mean over the seeds; {personas} personas, one test "
            "question per persona and fact in each half, so a single run's per-fact recall moves "
            f"in steps of 1/{personas}):\n\n" + "\n".join(lines))


def markers(experiment: str) -> tuple[str, str]:
    """The comments around one experiment's tables in docs/findings.md: `--write` replaces
    only the experiments it ran, so a sweep of one never touches another's tables."""
    return (f"<!-- findings.py {experiment} tables: begin -->",
            f"<!-- findings.py {experiment} tables: end -->")


def write_tables(path: Path, text: str, begin: str, end: str) -> None:
    """Replace the tables between the begin/end markers of `path`; a file without them
    keeps its text and gets the marked tables appended."""
    old = path.read_text() if path.is_file() else ""
    if begin in old and end in old:
        head, rest = old.split(begin, 1)
        text = f"{head}{begin}\n{text}{end}{rest.split(end, 1)[1]}"
    else:
        sep = "\n" if old else ""
        text = f"{old}{sep}{begin}\n{text}{end}\n"
    write_text_atomic(path, text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="findings_out", help="work folder (resumable)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--only", nargs="+", choices=EXPERIMENTS, default=DEFAULT_EXPERIMENTS,
                        help="experiments to run (default: %(default)s)")
    parser.add_argument("--cases", nargs="+", metavar="LABEL",
                        help="only the cases whose label contains one of these (the others "
                        "are left out of the tables; to run sweeps side by side)")
    parser.add_argument("--write", help="also write the Markdown tables to this file")
    parser.add_argument("--stored-only", action="store_true",
                        help="tables from the finished runs in --out only: run nothing, and "
                        "list the cases and seeds not run under each table")
    args = parser.parse_args(argv)
    out = Path(args.out)
    for name in args.only:
        title, cases = EXPERIMENTS[name]
        chosen = [c for c in cases if not args.cases or any(k in c.label for k in args.cases)]
        runs = [(case, seed) for case in chosen for seed in args.seeds]
        missing = [(c, s) for c, s in runs
                   if args.stored_only and not (case_dir(out, c, s) / "findings.json").is_file()]
        results = [run_case(out, c, s) for c, s in runs if (c, s) not in missing]
        not_run = "Not run: " + ", ".join(f"{c.label} (seed {s})" for c, s in missing) + "."
        parts = (table(results), over_seeds(results), asymmetry(results),
                 per_fact(results) if name in PER_FACT and results else "",
                 not_run if missing else "")
        section = f"### {title}\n\n" + "\n\n".join(p for p in parts if p) + "\n"
        write_text_atomic(out / f"{name}.json", json.dumps(results, indent=2) + "\n")
        print(section)
        if args.write:
            write_tables(Path(args.write), section, *markers(name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
