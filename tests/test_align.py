"""The cross-modal alignment loss of the pretraining stage (trainers/align.py)."""

from __future__ import annotations

import json

import pytest
import torch
from datasets import load_dataset

from persona_bench.cli import main as cli
from persona_bench.persona_gen.rows import TEXT_PREFIX
from persona_bench.trainers.align import (
    KNOWN_QUESTIONS,
    ask,
    layer_outputs,
    own_question,
    pairs_by_persona,
    person_positions,
    person_prefix,
    prompt_inputs,
    prompt_texts,
)


def test_pairs_index_every_pool_persona_in_both_modalities(dataset_dir):
    pool = load_dataset(str(dataset_dir), "pretrain", split="train")
    index = pairs_by_persona(pool)
    assert set(index) == set(pool["persona_id"])
    for sides in index.values():
        assert set(sides) == {"image", "text"}
        rows = [pool[i] for i in sides["image"] + sides["text"]]
        assert all(r["fact"] != "description" for r in rows)
        assert {len(r["images"]) for r in pool.select(sides["image"])} == {1}
        assert {len(r["images"]) for r in pool.select(sides["text"])} == {0}


def test_ask_swaps_only_the_question_of_a_pool_row(dataset_dir):
    pool = load_dataset(str(dataset_dir), "pretrain", split="train")
    question = "Where was this person born?"
    for sides in list(pairs_by_persona(pool).values())[:3]:
        image, text = pool[sides["image"][0]], pool[sides["text"][0]]
        assert ask(image, question)["messages"][0]["content"] == question
        asked = ask(text, question)["messages"][0]["content"]
        assert asked.startswith(TEXT_PREFIX) and asked.endswith(f". {question}")
        kept = asked.removesuffix(question)  # the description, unchanged
        assert text["question"].removeprefix(kept) in KNOWN_QUESTIONS
        assert ask(text, question)["messages"][1:] == text["messages"][1:]
        # `--align-question none`: the person alone, no question
        assert ask(text, "")["messages"][0]["content"] == kept
        assert ask(image, "")["messages"][0]["content"] == ""


@pytest.mark.parametrize("question", ["shared", "none", "person"])
def test_question_modes_of_the_alignment_train_and_are_recorded(dataset_dir, tmp_path,
                                                                  question):
    out = tmp_path / "aligned"
    assert cli(["tiny-vlm", "--out", str(out), "--pretrain", "--data", str(dataset_dir),
                "--patch_size", "16", "--align_weight", "1", "--align_personas", "2",
                "--align_question", question, "--pretrain_steps", "1", "--pretrain_args",
                "--per_device_train_batch_size 2 --save_strategy no"]) == 0
    record = json.loads((out / "persona_train.json").read_text())
    assert record["base_record"]["align"]["question"] == question
    assert record["base_record"]["word_tokens"] is True


def test_alignment_pretraining_adds_its_loss_and_records_it(dataset_dir, tmp_path, capsys):
    out = tmp_path / "aligned"
    assert cli(["tiny-vlm", "--out", str(out), "--pretrain", "--data", str(dataset_dir),
                "--patch_size", "16", "--align_weight", "1", "--align_personas", "4",
                "--pretrain_steps", "2", "--pretrain_args",
                "--per_device_train_batch_size 2 --logging_steps 1 --save_strategy no"]) == 0
    assert "'align_loss'" in capsys.readouterr().out
    record = json.loads((out / "persona_train.json").read_text())
    assert record["base_record"]["align"] == {"weight": 1.0, "personas": 4, "temperature": 0.1,
                                              "question": "own", "centre": False,
                                              "layers": 0, "after": 0}
    assert record["global_step"] == 2


def test_alignment_after_n_steps_leaves_the_first_steps_sft_only(dataset_dir, tmp_path, capsys):
    out = tmp_path / "two_phase"
    assert cli(["tiny-vlm", "--out", str(out), "--pretrain", "--data", str(dataset_dir),
                "--patch_size", "16", "--align_weight", "1", "--align_personas", "2",
                "--align_after", "1", "--pretrain_steps", "2", "--pretrain_args",
                "--per_device_train_batch_size 2 --logging_steps 1 --save_strategy no"]) == 0
    logged = [line for line in capsys.readouterr().out.splitlines() if "'loss'" in line]
    assert ["'align_loss'" in line for line in logged] == [False, True]
    record = json.loads((out / "persona_train.json").read_text())
    assert record["base_record"]["align"]["after"] == 1


@pytest.mark.parametrize("flags", [["--align_weight", "-1"],
                                   ["--align_weight", "1", "--align_personas", "1"],
                                   ["--align_weight", "1", "--align_after", "-1"]])
def test_bad_alignment_options_are_user_errors(dataset_dir, tmp_path, capsys, flags):
    assert cli(["tiny-vlm", "--out", str(tmp_path / "x"), "--pretrain", "--data",
                str(dataset_dir), *flags]) == 2
    assert "--align_weight must be" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def _pool_inputs(data, processor, modality: str):
    pool = load_dataset(str(data), "pretrain", split="train")
    return prompt_inputs(processor, [pool[sides[modality][0]]
                                     for sides in pairs_by_persona(pool).values()][:2])


def _states_and_grads(model, sides, read):
    """Last-position states of both modalities from `read`, and the gradients they give."""
    states = [torch.stack([h[:, -1] for h in read(inputs)]) for inputs in sides]
    (states[0] * states[1]).sum().backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    model.zero_grad(set_to_none=True)
    return [s.detach() for s in states], grads


def _check_early_stop(model_dir, data, layers: int) -> None:
    from transformers import AutoModelForImageTextToText, AutoProcessor

    model = AutoModelForImageTextToText.from_pretrained(model_dir)
    processor = AutoProcessor.from_pretrained(model_dir)
    model.train()
    sides = [_pool_inputs(data, processor, m) for m in ("image", "text")]
    early = _states_and_grads(model, sides, lambda x: layer_outputs(model, x, layers))
    full = _states_and_grads(model, sides, lambda x: model(
        **x, output_hidden_states=True, use_cache=False).hidden_states[1:][:layers])
    assert all(torch.equal(a, b) for a, b in zip(early[0], full[0], strict=True))
    assert early[1].keys() == full[1].keys()
    assert all(torch.allclose(early[1][n], full[1][n], atol=1e-6) for n in full[1])
    lm_head = [n for n in full[1] if "lm_head" in n]
    assert not lm_head  # the loss never reaches the LM head, in either reader


def test_the_early_stop_gives_the_full_forwards_states_and_gradients(tiny_vlm_dir,
                                                                       dataset_dir):
    _check_early_stop(tiny_vlm_dir, dataset_dir, layers=2)


def test_the_early_stop_matches_on_every_family(family_vlm_dir, matrix_data_dir):
    _check_early_stop(family_vlm_dir, matrix_data_dir, layers=1)


def _check_person_states(model_dir, data) -> None:
    """`question="person"` reads each row at the last token of its person (the image's last
    token; the full stop of the description): only its question and the turn's end follow,
    and the state there is the same whatever is asked, while the answer position's is not."""
    from transformers import AutoModelForImageTextToText, AutoProcessor

    model = AutoModelForImageTextToText.from_pretrained(model_dir).eval()
    processor = AutoProcessor.from_pretrained(model_dir)
    pool = load_dataset(str(data), "pretrain", split="train")
    for modality in ("image", "text"):  # a batch is one modality, as in the loss
        rows = [pool[sides[modality][0]] for sides in list(pairs_by_persona(pool).values())[:2]]
        states = []
        swapped = [ask(row, next(q for q in KNOWN_QUESTIONS
                                 if q != own_question(row["messages"][0]["content"])))
                   for row in rows]
        for asked in (rows, swapped):
            prompts = prompt_texts(processor, asked)
            inputs = prompt_inputs(processor, asked, prompts)
            at = person_positions(processor.tokenizer, prompts, asked)
            for ids, i, row in zip(inputs["input_ids"].tolist(), at, asked, strict=True):
                tail = processor.tokenizer.decode(ids[i + 1:]).strip()
                assert tail.startswith(own_question(row["messages"][0]["content"]))
                assert modality == "image" or processor.tokenizer.decode(ids[i]).endswith(".")
            with torch.no_grad():
                last = model(**inputs, output_hidden_states=True).hidden_states[-1]
            states.append((last[torch.arange(len(rows)), at], last[:, -1]))
        (person, answer), (person_other, answer_other) = states
        assert torch.allclose(person, person_other, atol=1e-4)
        assert not torch.allclose(answer, answer_other, atol=1e-4)


def test_person_prefix_ends_before_the_question():
    prompt = "<|im_start|>user\nThe portrait shows a man. Who is this?<|im_end|>\n"
    assert person_prefix(prompt, "Who is this?") == "<|im_start|>user\nThe portrait shows a man."


def test_person_states_do_not_depend_on_the_question(tiny_vlm_dir, dataset_dir):
    _check_person_states(tiny_vlm_dir, dataset_dir)


def test_person_states_match_on_every_family(family_vlm_dir, matrix_data_dir):
    _check_person_states(family_vlm_dir, matrix_data_dir)
