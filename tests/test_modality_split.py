"""A mixed pretraining batch run as its image and its text rows (trainers/modality_split.py)."""

from __future__ import annotations

import pytest
import torch
from trl import SFTTrainer

from persona_bench.trainers import sft
from persona_bench.trainers.modality_split import SplitSFTTrainer, modality_parts


@pytest.fixture(scope="module")
def pretrain_run(tiny_vlm_dir, dataset_dir, tmp_path_factory):
    """The tiny VLM's pretraining trainer (as `tiny-vlm --pretrain` builds it, no alignment)."""
    args = sft.parse_args(["--model_name_or_path", str(tiny_vlm_dir), "--dataset_name",
                           str(dataset_dir), "--dataset_config", "pretrain", "--output_dir",
                           str(tmp_path_factory.mktemp("split") / "m"), "--max_steps", "1",
                           "--train_vision_tower", "true", "--seed", "0"])
    return sft.prepare(*args, trainer_class=SplitSFTTrainer)


def _mixed_batch(trainer):
    image_token = trainer.model.config.image_token_id
    for batch in trainer.get_train_dataloader():
        with_image = (batch["input_ids"] == image_token).any(1)
        if 0 < int(with_image.sum()) < len(with_image):
            return dict(batch)
    raise AssertionError("no batch mixes the modalities")


def _loss_and_grads(loss_of, model, batch):
    loss = loss_of(model, batch)
    loss.backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    model.zero_grad(set_to_none=True)
    return loss.detach(), grads


def test_a_mixed_batch_splits_into_its_image_and_text_rows_without_cross_padding(pretrain_run):
    trainer = pretrain_run.trainer
    batch = _mixed_batch(trainer)
    image_token = trainer.model.config.image_token_id
    parts = modality_parts(batch, image_token)
    assert parts is not None and len(parts) == 2
    image, text = parts
    assert (image["input_ids"] == image_token).any(1).all()
    assert not (text["input_ids"] == image_token).any()
    assert len(image["input_ids"]) + len(text["input_ids"]) == len(batch["input_ids"])
    assert torch.equal(image["pixel_values"], batch["pixel_values"]) and "pixel_values" not in text
    for part in parts:  # trimmed: no column is padding in every row of its part
        assert part["attention_mask"].any(0).all()
    positions = sum(part["input_ids"].numel() for part in parts)
    assert positions < batch["input_ids"].numel()
    assert sum(int(part["attention_mask"].sum()) for part in parts) == int(
        batch["attention_mask"].sum())


def test_the_split_gives_the_whole_batchs_loss_and_gradients(pretrain_run):
    trainer, model = pretrain_run.trainer, pretrain_run.trainer.model
    model.train()
    batch = _mixed_batch(trainer)
    whole = _loss_and_grads(lambda m, b: SFTTrainer.compute_loss(trainer, m, b), model, batch)
    split = _loss_and_grads(trainer.compute_loss, model, batch)
    assert torch.allclose(whole[0], split[0], atol=1e-6)
    assert whole[1].keys() == split[1].keys()
    assert all(torch.allclose(whole[1][n], split[1][n], atol=1e-6) for n in whole[1])
    for count in (7, 11):  # a given answer-token count divides both alike
        kwargs = {"num_items_in_batch": torch.tensor(count)}
        assert torch.allclose(SFTTrainer.compute_loss(trainer, model, batch, **kwargs),
                              trainer.compute_loss(model, batch, **kwargs), atol=1e-6)


def test_other_layouts_and_one_modality_batches_run_whole():
    ids = torch.tensor([[5, 9, 1, 0], [4, 4, 1, 1]])
    mask = (ids != 0).long()
    batch = {"input_ids": ids, "attention_mask": mask, "labels": ids}
    assert modality_parts(batch, image_token_id=9) is None  # no pixels: nothing to split
    pixels = torch.zeros(1, 3, 2, 2)
    assert modality_parts(batch | {"pixel_values": pixels}, image_token_id=9) is not None
    assert modality_parts(batch | {"pixel_values": pixels}, image_token_id=None) is None
    assert modality_parts(batch | {"pixel_values": pixels,  # Qwen-VL's flattened patches
                                   "image_grid_thw": torch.ones(1, 3)}, image_token_id=9) is None
    assert modality_parts(batch | {"pixel_values": torch.zeros(2, 3, 2, 2)},  # one per row
                          image_token_id=9) is None
    both = {"input_ids": ids.clone().fill_(9), "attention_mask": mask, "labels": ids,
            "pixel_values": torch.zeros(2, 3, 2, 2)}
    assert modality_parts(both, image_token_id=9) is None
