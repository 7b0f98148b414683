"""Reading lmms-eval / lm-eval result folders written in each library's on-disk layout.

The helpers here (`write_run`, `write_submission`) write synthetic result folders exactly
as the libraries lay them out; the other leaderboard tests import them.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from persona_bench.errors import UserError
from persona_bench.leaderboards.readers import load_run, locate_run, parse_task
from persona_bench.leaderboards.schema import MANIFEST, MANIFEST_SCHEMA, TRAIN_RECORD
from persona_bench.matching import contains_match, exact_match
from persona_bench.persona_gen.schema import DIRECTIONS
from persona_bench.persona_gen.vocab import ALL_FACTS, FACTS, first_names

HASH = "sha256:" + "ab" * 32
ROLES = ("source", "target", "seen")


def gold_answers(n_personas: int) -> dict[str, dict[str, str]]:
    """Deterministic fictitious facts for personas p0000.. (the same for every run)."""
    rng = random.Random(1234)
    names = first_names()
    return {f"p{i:04d}": {"name": names[i], **{f: rng.choice(v) for f, v in FACTS.items()}}
            for i in range(n_personas)}


def _wrong(fact: str, answer: str, rng: random.Random) -> str:
    pool = first_names()[:30] if fact == "name" else FACTS[fact]
    return rng.choice([v for v in pool if v != answer])


def _records(direction: str, role: str, answers: dict[str, dict[str, str]], accuracy: float,
             rng: random.Random) -> list[dict]:
    modality = DIRECTIONS[direction][role == "target"]
    out = []
    for pid, facts in answers.items():
        for fact in ALL_FACTS:
            answer = facts[fact]
            prediction = answer if rng.random() < accuracy else _wrong(fact, answer, rng)
            out.append({"id": f"{pid}-{fact}-{modality}-v2-t5", "persona_id": pid, "fact": fact,
                        "modality": modality, "answer": answer, "prediction": prediction,
                        "exact": exact_match(prediction, answer),
                        "contains": contains_match(prediction, answer)})
    return out


def task_name(harness: str, direction: str, role: str) -> str:
    return f"persona_{direction}_{role}" if harness == "lmms-eval" else (
        f"pbench_text_{direction}_{role}")


def write_run(out: Path, *, model: str = "org/tiny-vlm", harness: str = "lmms-eval",
              directions: tuple[str, ...] = ("img2text",), n_personas: int = 8,
              accuracy: dict[str, float] | None = None, seed: int = 0,
              dataset_hash: str = HASH, date: str | None = None,
              likelihood: bool = False, version: str = "1.0",
              answers: dict[str, dict[str, str]] | None = None) -> Path:
    """A results folder as lmms-eval/lm-eval write it; returns the --output_path.

    `answers` (persona -> fact -> value) defaults to `gold_answers(n_personas)`.
    """
    accuracy = accuracy or {"source": 0.9, "target": 0.4, "seen": 1.0}
    date = date or ("20261122_101010" if harness == "lmms-eval" else "2026-11-22T10-10-10.000001")
    rng = random.Random(seed)
    sanitized = model.replace("/", "__")
    folder = out / sanitized
    folder.mkdir(parents=True, exist_ok=True)
    results, configs, n_samples = {}, {}, {}
    for direction in directions:
        for role, acc in accuracy.items():
            task = task_name(harness, direction, role)
            records = _records(direction, role, answers or gold_answers(n_personas), acc, rng)
            lines = []
            for doc_id, rec in enumerate(records):
                sample = {"doc_id": doc_id, "target": rec["answer"], "exact": rec,
                          "contains": rec, "doc_hash": f"h{doc_id}"}
                if harness == "lmms-eval":
                    sample |= {"filtered_resps": rec["prediction"] + "\n", "input": "q"}
                else:
                    sample |= {"doc": {k: rec[k] for k in ("id", "persona_id", "fact", "answer")},
                               "arguments": {"gen_args_0": {"arg_0": "q"}},
                               "resps": [[rec["prediction"]]],
                               "filtered_resps": [rec["prediction"]], "filter": "none",
                               "metrics": ["exact", "contains"], "prompt_hash": "p",
                               "target_hash": "t"}
                lines.append(json.dumps(sample) + "\n")
            name = (f"{date}_samples_{task}.jsonl" if harness == "lmms-eval"
                    else f"samples_{task}_{date}.jsonl")
            (folder / name).write_text("".join(lines))
            results[task] = {"alias": task, **{
                f"{m},none": sum(r[m] for r in records) / len(records) for m in ("exact",
                                                                               "contains")}}
            configs[task] = {"task": task, "dataset_path": "parquet",
                             "generation_kwargs": {"max_new_tokens": 24, "do_sample": False},
                             "metadata": {"version": version, "dataset_hash": dataset_hash,
                                          "dataset_id": "persona-bench/persona-bench"}}
            n_samples[task] = {"original": len(records), "effective": len(records)}
            if likelihood and role != "seen":  # as tasks/likelihood.py writes them
                with (folder / f"likelihood_{direction}_{role}.jsonl").open("w") as handle:
                    for rec in records:
                        rank = 1 if rec["exact"] else 3
                        handle.write(json.dumps({**rec, "rank": rank, "correct": rank == 1,
                                                 "k": 4}) + "\n")
                (folder / f"likelihood_{direction}_results.json").write_text(
                    json.dumps({"direction": direction, "results": {role: {"accuracy": 0}}}))
    meta = {
        "results": results, "group_subtasks": {}, "configs": configs,
        "versions": {t: version for t in results}, "n-shot": {t: 0 for t in results},
        "n-samples": n_samples,
        "config": {"model": "llava_hf", "model_args": f"pretrained={model},revision=r{seed}",
                   "batch_size": "1", "limit": None, "gen_kwargs": "", "random_seed": 0,
                   "numpy_seed": 1234, "torch_seed": 1234, "fewshot_seed": 1234},
        "git_hash": None, "date": date, "model_name": model,
        "model_name_sanitized": sanitized,
    }
    if harness == "lmms-eval":
        meta["lmms_eval_version"] = "0.7.3"
        (folder / f"{date}_results.json").write_text(json.dumps(meta, indent=2))
    else:
        meta |= {"lm_eval_version": "0.4.13", "pretty_env_info": "cpu"}
        (folder / f"results_{date}.json").write_text(json.dumps(meta, indent=2))
    return out


def write_submission(root: Path, *, name: str = "tiny", direction: str = "img2text",
                     seed: int = 0, base: bool = True, likelihood: bool = True,
                     dataset_hash: str = HASH, method: str = "full", **run_kwargs) -> Path:
    """A pipeline run folder: run_manifest.json, model/persona_train.json, eval/, eval_base/."""
    root.mkdir(parents=True, exist_ok=True)
    write_run(root / "eval", model=f"runs/{name}/model", directions=(direction,), seed=seed,
              dataset_hash=dataset_hash, likelihood=likelihood, **run_kwargs)
    if base:
        write_run(root / "eval_base", model="org/tiny-vlm", directions=(direction,),
                  seed=seed + 1000, dataset_hash=dataset_hash,
                  accuracy={"source": 0.05, "target": 0.05})
    record = {
        "base_model": "org/tiny-vlm", "base_model_revision": "r-base",
        "dataset": {"id": "persona-bench/persona-bench", "content_hash": dataset_hash},
        "dataset_config": direction, "dataset_split": "train",
        "source_modality": DIRECTIONS[direction][0],
        "target_modality": DIRECTIONS[direction][1],
        "training": {"method": method, "parts": {"vision_tower": False, "projector": False,
                                                 "language_model": True}, "merged": True},
        "hyperparameters": {"learning_rate": 1e-3, "max_steps": 300}, "seed": seed,
        "num_parameters": 5_000_000, "num_trainable_parameters": 4_000_000,
        "command": f"persona-bench train --config {direction} --seed {seed}",
    }
    (root / "model").mkdir(exist_ok=True)
    (root / "model" / TRAIN_RECORD).write_text(json.dumps(record))
    manifest = {
        "schema": MANIFEST_SCHEMA, "direction": direction,
        "model": {"id": f"runs/{name}/model", "revision": f"sha256:{seed:064x}"},
        "train_record": f"model/{TRAIN_RECORD}", "harness": "lmms-eval",
        "results_dir": "eval", "base_results_dir": "eval_base" if base else None,
        "dataset": {"id": "persona-bench/persona-bench", "content_hash": dataset_hash},
        "commands": [record["command"], "python -m lmms_eval --log_samples ..."],
        "created": "2026-11-22T10:10:10+00:00",
    }
    (root / MANIFEST).write_text(json.dumps(manifest))
    return root


def make_board(tmp_path: Path, names: tuple[str, ...] = ("alpha", "beta", "gamma")):
    """A board with one row per name, alternating directions and training methods."""
    from persona_bench.leaderboards.store import Board
    from persona_bench.leaderboards.submission import load_submission

    board = Board(tmp_path / "board")
    for i, name in enumerate(names):
        run = write_submission(tmp_path / f"run-{i}", name=name, seed=i,
                               direction=("img2text", "text2img")[i % 2],
                               method=("full", "lora")[i // 2 % 2],
                               accuracy={"source": 0.9, "target": 0.2 + 0.2 * i, "seen": 1.0})
        board.add(load_submission(run), name)
    return board


def samples_file(out: Path, task: str = "persona_img2text_source") -> Path:
    return next(out.rglob(f"*samples_{task}*.jsonl"))


def test_parse_task_names_of_both_packs():
    assert parse_task("persona_img2text_source") == ("img2text", "source")
    assert parse_task("pbench_text_text2img_target") == ("text2img", "target")
    assert parse_task("persona_img2text") is None
    assert parse_task("mmmu_val") is None


@pytest.mark.parametrize("harness", ["lmms-eval", "lm-eval"])
def test_reads_both_layouts(tmp_path, harness):
    out = write_run(tmp_path, harness=harness, likelihood=True)
    run = load_run(locate_run(out))
    assert run.provenance.harness == harness
    assert run.provenance.harness_version == ("0.7.3" if harness == "lmms-eval" else "0.4.13")
    assert run.provenance.model_id == "org/tiny-vlm"
    assert run.provenance.model_revision == "r0"
    assert run.provenance.dataset_hash == HASH
    assert {log.role for log in run.tasks.values()} == set(ROLES)
    assert all(len(log.records) == 8 * len(ALL_FACTS) for log in run.tasks.values())
    assert {log.role for log in run.likelihood.values()} == {"source", "target"}
    prov = next(iter(run.provenance.tasks.values()))
    assert prov.version == "1.0" and prov.seeds["random_seed"] == 0
    assert prov.generation["task"] == {"max_new_tokens": 24, "do_sample": False}
    # the model-name sub-folder may be given directly too
    assert locate_run(next(out.iterdir())).samples.keys() == run.files.samples.keys()


def test_newest_run_of_a_task_wins(tmp_path):
    write_run(tmp_path, date="20261122_101010", accuracy={"source": 0.0})
    write_run(tmp_path, date="20261123_101010", accuracy={"source": 1.0})
    run = load_run(locate_run(tmp_path))
    assert all(r.exact for r in run.tasks["persona_img2text_source"].records)


@pytest.mark.parametrize(("wrote", "asked"), [("lm-eval", "lmms-eval"), ("lmms-eval", "lm-eval")])
def test_harness_mix_up_is_a_clear_error(tmp_path, wrote, asked):
    out = write_run(tmp_path, harness=wrote)
    with pytest.raises(UserError, match=f"holds {wrote} output.*--harness {wrote}"):
        locate_run(out, asked)


def test_results_renamed_to_the_other_layout_is_caught(tmp_path):
    out = write_run(tmp_path, harness="lm-eval")
    folder = next(out.iterdir())
    for path in folder.iterdir():  # disguise lm-eval output as lmms-eval file names
        task = path.name.removeprefix("samples_").rsplit("_", 1)[0]
        new = ("20261122_101010_results.json" if path.name.startswith("results_")
               else f"20261122_101010_samples_{task}.jsonl")
        path.rename(folder / new)
    with pytest.raises(UserError, match="written by lm-eval"):
        load_run(locate_run(out, "lmms-eval"))


def test_missing_folder_and_missing_samples(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        locate_run(tmp_path / "nope")
    with pytest.raises(UserError, match="no results JSON"):
        locate_run(tmp_path)
    out = write_run(tmp_path / "x")
    for path in out.rglob("*.jsonl"):
        path.unlink()
    with pytest.raises(UserError, match="--log_samples"):
        locate_run(out)


def test_truncated_files(tmp_path):
    out = write_run(tmp_path)
    path = samples_file(out)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError, match="truncated"):
        load_run(locate_run(out))
    lines = data.splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:-3]))  # whole lines lost: caught by the sample count
    with pytest.raises(UserError, match="truncated"):
        load_run(locate_run(out))
    results = next(out.rglob("*_results.json"))
    results.write_text(results.read_text()[:100])
    with pytest.raises(UserError, match="not valid JSON"):
        locate_run(out)


def edit_samples(out: Path, task: str, edit, first_only: bool = False) -> None:
    """Apply `edit(sample)` to the logged samples of `task` (all, or only the first)."""
    path = samples_file(out, task)
    samples = [json.loads(line) for line in path.read_text().splitlines()]
    for sample in samples[:1] if first_only else samples:
        edit(sample)
    path.write_text("".join(json.dumps(s) + "\n" for s in samples))


def _flip_prediction(sample: dict) -> None:
    for key in ("exact", "contains"):
        sample[key]["prediction"] = "Zzz"


def _flip_score(sample: dict) -> None:
    for key in ("exact", "contains"):
        sample[key]["exact"] = not sample[key]["exact"]


@pytest.mark.parametrize("edit", [_flip_prediction, _flip_score])
def test_tampered_samples_are_refused(tmp_path, edit):
    out = write_run(tmp_path)
    edit_samples(out, "persona_img2text_source", edit, first_only=True)
    with pytest.raises(UserError, match="tampered"):
        load_run(locate_run(out))


def test_tampered_summary_is_refused(tmp_path):
    out = write_run(tmp_path)
    results = next(out.rglob("*_results.json"))
    meta = json.loads(results.read_text())
    meta["results"]["persona_img2text_target"]["exact,none"] = 0.99
    results.write_text(json.dumps(meta))
    with pytest.raises(UserError, match="samples give"):
        load_run(locate_run(out))


def test_missing_dataset_hash_and_oversized_files(tmp_path, monkeypatch):
    out = write_run(tmp_path)
    results = next(out.rglob("*_results.json"))
    meta = json.loads(results.read_text())
    for config in meta["configs"].values():
        del config["metadata"]["dataset_hash"]
    results.write_text(json.dumps(meta))
    with pytest.raises(UserError, match="dataset_hash"):
        load_run(locate_run(out))
    monkeypatch.setattr("persona_bench.leaderboards.readers.MAX_SAMPLES_BYTES", 100)
    with pytest.raises(UserError, match="limit"):
        load_run(locate_run(write_run(tmp_path / "y")))


def test_symlinked_files_are_refused(tmp_path):
    out = write_run(tmp_path)
    path = samples_file(out)
    moved = path.rename(tmp_path / "elsewhere.jsonl")
    path.symlink_to(moved)
    with pytest.raises(UserError, match="not a regular file"):
        load_run(locate_run(out))


@pytest.mark.parametrize(("change", "message"), [
    ({"correct": True, "rank": 3}, "tampered"),  # flipped verdict
    ({"rank": 1, "correct": True}, "rank 1 but the top prediction"),  # promoted rank
    ({"rank": 9}, "rank in 1..k\\+1"),
])
def test_tampered_likelihood_logs(tmp_path, change, message):
    out = write_run(tmp_path, likelihood=True, accuracy={"source": 0.0, "target": 0.0})
    path = next(out.rglob("likelihood_img2text_target.jsonl"))
    lines = path.read_text().splitlines()
    path.write_text("\n".join([json.dumps({**json.loads(lines[0]), **change}), *lines[1:]]) + "\n")
    with pytest.raises(UserError, match=message):
        load_run(locate_run(out))


def test_binary_or_foreign_files_are_clear_errors(tmp_path):
    out = write_run(tmp_path)
    samples_file(out).write_bytes(b"\x80\x81 binary\n")
    with pytest.raises(UserError, match="not UTF-8"):
        load_run(locate_run(out))
    results = next(out.rglob("*_results.json"))
    results.write_text("[1, 2]")
    with pytest.raises(UserError, match="not a harness results file"):
        locate_run(out)
