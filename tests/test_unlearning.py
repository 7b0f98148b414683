"""The unlearning method registry: every method trains a few steps on the real tiny model and
moves its forget answers the way the method says, and the losses are what their papers define."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from persona_bench.cli import main
from persona_bench.contracts import TRAIN_RECORD
from persona_bench.errors import UserError
from persona_bench.trainers.unlearning import METHODS, get_method
from persona_bench.trainers.unlearning.base import Batch, answer_logprobs, nll
from persona_bench.trainers.unlearning.idk import REFUSALS, refuse

FEW_STEPS = ["--max_steps", "3", "--save_strategy", "no", "--disable_tqdm", "true",
             "--per_device_train_batch_size", "4", "--report_to", "none"]


def _unlearn(model: Path, data: Path, out: Path, method: str, *extra: str) -> int:
    return main(["unlearn", "--model_name_or_path", str(model), "--dataset_name", str(data),
                 "--method", method, "--forget_split", "forget05", "--output_dir", str(out),
                 *FEW_STEPS, *extra])


@pytest.mark.parametrize("method", list(METHODS))
def test_every_method_runs_and_records_itself(method, unlearn_vlm_dir, experiments_data_dir,
                                              tmp_path):
    out = tmp_path / method
    assert _unlearn(unlearn_vlm_dir, experiments_data_dir, out, method) == 0
    record = json.loads((out / TRAIN_RECORD).read_text())
    done = record["unlearning"]
    assert done["method"] == method and done["forget_split"] == "forget05"
    assert done["forget_modality"] == "image" and done["retain_split"] == "retain95"
    assert set(done["settings"]) == set(METHODS[method].uses)
    assert (done["reference"] is not None) == METHODS[method].needs_reference
    assert record["source_modality"] == "image+text" and record["global_step"] == 3
    assert "Unlearned" in (out / "README.md").read_text()
    from safetensors.torch import load_file

    old = load_file(unlearn_vlm_dir / "model.safetensors")
    new = load_file(out / "model.safetensors")
    changed = [k for k in old if not torch.equal(old[k], new[k])]
    if method == "cagul":  # the frozen-model baseline: the VLM is untouched, its module saved
        assert not changed and set(new) == set(old)
        assert (out / "visual_filter.safetensors").is_file()
    else:
        assert changed and all("vision_tower" not in k for k in changed)


def test_gradient_ascent_lowers_the_forget_answer_likelihood(unlearn_vlm_dir,
                                                              experiments_data_dir, tmp_path):
    """The direction of the method, measured: the forgotten answers become less likely
    in the forget modality (summed log-probability of the forget split's image rows)."""
    from persona_bench.tasks.hf_model import HFModel, Query
    from persona_bench.trainers.loading import load_rows

    out = tmp_path / "ga"
    assert _unlearn(unlearn_vlm_dir, experiments_data_dir, out, "ga",
                    "--learning_rate", "1e-3") == 0
    rows = load_rows(str(experiments_data_dir), "unlearn", "forget05")
    rows = [r for r in rows if r["modality"] == "image"]

    def logprob(path: Path) -> float:
        model = HFModel(str(path), device="cpu")
        end = model.end_of_turn()
        scores = model.score([Query(r["question"], tuple(r["images"])) for r in rows],
                             [r["answer"] + end for r in rows])
        return sum(score for score, _ in scores)

    assert logprob(out) < logprob(unlearn_vlm_dir)


def test_losses_match_their_definitions():
    """NLL and answer log-probabilities on a hand-made batch of known logits."""

    class Fixed(torch.nn.Module):
        def forward(self, input_ids, use_cache=False, **_):
            logits = torch.zeros(*input_ids.shape, 3)
            logits[..., 1] = 2.0  # token 1 is likely everywhere
            return type("Out", (), {"logits": logits})

    batch = Batch({"input_ids": torch.zeros(1, 3, dtype=torch.long)},
                  torch.tensor([[-100, 1, 2]]))
    logp, count = answer_logprobs(Fixed(), batch)
    log_z = torch.logsumexp(torch.tensor([0.0, 2.0, 0.0]), 0)
    assert count.item() == 2
    assert logp.item() == pytest.approx(float((2.0 - log_z) + (0.0 - log_z)))
    assert nll(Fixed(), batch).item() == pytest.approx(-logp.item() / 2)


def test_idk_replaces_every_forget_answer_with_a_refusal():
    messages = [{"role": "user", "content": "Where?"}, {"role": "assistant", "content": "Lima"}]
    refused = refuse(messages, "0:x")
    assert refused[0] == messages[0] and refused[1]["content"] in REFUSALS
    assert refuse(messages, "0:x") == refused  # deterministic per question and seed


def test_unknown_method_lists_the_registered_ones():
    with pytest.raises(UserError, match="registered: ga .*npo"):
        get_method("rmu")


def test_lora_unlearning_is_merged_into_a_plain_checkpoint(unlearn_vlm_dir,
                                                           experiments_data_dir, tmp_path):
    out = tmp_path / "npo-lora"
    assert _unlearn(unlearn_vlm_dir, experiments_data_dir, out, "npo", "--use_peft",
                    "--merge_lora", "--forget_modality", "text") == 0
    record = json.loads((out / TRAIN_RECORD).read_text())
    assert record["training"]["method"] == "lora" and record["training"]["merged"] is True
    assert record["unlearning"]["forget_modality"] == "text"
    assert not (out / "adapter_config.json").exists()
