"""The fused SFT loss on the answer positions only (trainers/answer_loss.py)."""

from __future__ import annotations

import pytest
import torch
import trl.trainer.utils as trl_utils
from datasets import load_dataset
from trl.kernels import chunked_logprob
from trl.trainer.utils import add_fused_lm_head

from persona_bench.trainers.align import prompt_texts
from persona_bench.trainers.answer_loss import project_answer_positions_on_cpu


@pytest.fixture
def restore_trl(monkeypatch):
    """TRL's own chooser for the test (another test's training may have switched it already),
    and whatever was there afterwards."""
    monkeypatch.setattr(trl_utils, "_use_triton", chunked_logprob._use_triton)


def _batch(processor, rows):
    """Prompt + answer, right-padded, labels on the answer tokens only (as TRL's collator)."""
    prompts = prompt_texts(processor, rows)
    answers = [row["messages"][-1]["content"][0]["text"]
               if isinstance(row["messages"][-1]["content"], list)
               else row["messages"][-1]["content"] for row in rows]
    inputs = processor(text=[p + a for p, a in zip(prompts, answers, strict=True)],
                       images=[row["images"] for row in rows], padding=True,
                       padding_side="right", add_special_tokens=False, return_tensors="pt")
    prompt_lengths = processor(text=prompts, images=[row["images"] for row in rows],
                               padding=False, add_special_tokens=False)["input_ids"]
    labels = inputs["input_ids"].clone()
    for i, ids in enumerate(prompt_lengths):
        labels[i, : len(ids)] = -100
    labels[inputs["attention_mask"] == 0] = -100
    return {**inputs, "labels": labels}


def _loss_grads_and_rows(model, batch):
    """Loss, entropy on the answer, gradients, and the rows the LM head projected."""
    projected = []
    apply = trl_utils._ChunkedLogProbFunction.apply

    def spy(hidden, *args):
        projected.append(hidden.shape[0])
        return apply(hidden, *args)

    trl_utils._ChunkedLogProbFunction.apply = spy
    try:
        out = model(**batch, fused_lm_head=True)
    finally:
        trl_utils._ChunkedLogProbFunction.apply = apply
    out.loss.backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    model.zero_grad(set_to_none=True)
    return out.loss.detach(), out.entropy[out.label_mask].detach(), grads, projected[0]


def test_the_loss_projects_only_answer_positions_with_the_same_values(
        tiny_vlm_dir, dataset_dir, restore_trl):
    from transformers import AutoModelForImageTextToText, AutoProcessor

    model = AutoModelForImageTextToText.from_pretrained(tiny_vlm_dir).train()
    processor = AutoProcessor.from_pretrained(tiny_vlm_dir)
    add_fused_lm_head(model, outputs=("log_probs", "entropy", "is_top1"))
    pool = load_dataset(str(dataset_dir), "pretrain", split="train")
    batch = _batch(processor, [pool[i] for i in range(4)])
    answer_tokens = int((batch["labels"][:, 1:] != -100).sum())
    assert 0 < answer_tokens < batch["labels"][:, 1:].numel() // 4

    every = _loss_grads_and_rows(model, batch)
    assert project_answer_positions_on_cpu() and project_answer_positions_on_cpu()  # idempotent
    answers = _loss_grads_and_rows(model, batch)

    assert every[3] == batch["labels"][:, 1:].numel() and answers[3] == answer_tokens
    assert torch.allclose(every[0], answers[0], atol=1e-6)
    assert torch.allclose(every[1], answers[1], atol=1e-5)
    assert every[2].keys() == answers[2].keys()
    assert all(torch.allclose(every[2][n], answers[2][n], atol=1e-6) for n in every[2])


def test_a_trl_without_the_switch_is_left_alone(monkeypatch):
    monkeypatch.delattr(trl_utils, "_use_triton")
    assert project_answer_positions_on_cpu() is False
    assert not hasattr(trl_utils, "_use_triton")
