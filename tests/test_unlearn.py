"""`persona-bench unlearn`: bad input gets one line and exit 2; a diverging run stops with its
step and names the last good checkpoint; the curve is measured in both modalities."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
import torch
from transformers import TrainerCallback

from persona_bench.cli import main
from persona_bench.errors import UserError
from persona_bench.trainers import unlearn

STEPS = ["--max_steps", "2", "--save_strategy", "no", "--disable_tqdm", "true",
         "--per_device_train_batch_size", "4", "--report_to", "none"]


def _argv(model: Path, data: Path, out: Path, *extra: str) -> list[str]:
    return ["unlearn", "--model_name_or_path", str(model), "--dataset_name", str(data),
            "--output_dir", str(out), *extra]


@pytest.mark.parametrize(("extra", "expected"), [
    (["--method", "rmu"], "unknown unlearning method 'rmu'; registered: ga"),
    (["--forget_split", "forget03"], "the unlearn config has forget01, forget05, forget10"),
    (["--forget_modality", "audio"], "use one of image, text, both"),
    (["--method", "cagul", "--forget_modality", "text"], "cagul acts on image inputs only"),
])
def test_bad_arguments_are_one_line(extra, expected, unlearn_vlm_dir, experiments_data_dir,
                                    tmp_path, capsys):
    assert main(_argv(unlearn_vlm_dir, experiments_data_dir, tmp_path / "o", *extra,
                      *STEPS)) == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o" / "persona_train.json").exists()


def test_a_dataset_without_the_unlearn_config(unlearn_vlm_dir, dataset_dir, tmp_path, capsys):
    assert main(_argv(unlearn_vlm_dir, dataset_dir, tmp_path / "o", *STEPS)) == 2
    err = capsys.readouterr().err
    assert "has no config 'unlearn'" in err and "--experiments transfer unlearn" in err


def test_a_model_not_taught_both_modalities_warns_with_the_fix(tiny_vlm_dir,
                                                               experiments_data_dir, tmp_path):
    with pytest.warns(UserWarning, match="persona-bench train --dataset_config unlearn"):
        assert main(_argv(tiny_vlm_dir, experiments_data_dir, tmp_path / "o",
                          "--method", "ga", *STEPS)) == 0


def test_a_reference_of_another_shape_is_refused(unlearn_vlm_dir, experiments_data_dir,
                                                 tmp_path, capsys):
    other = tmp_path / "coarse"
    assert main(["tiny-vlm", "--out", str(other), "--patch-size", "16"]) == 0
    assert main(_argv(unlearn_vlm_dir, experiments_data_dir, tmp_path / "o", "--method", "npo",
                      "--ref_model", str(other), *STEPS)) == 2
    assert "does not match the model being unlearned" in capsys.readouterr().err


class Diverge(TrainerCallback):
    """Make the weights non-finite after step 3, as a diverging run does."""

    def on_step_end(self, args, state, control, model=None, **kwargs):
        if state.global_step == 3:
            with torch.no_grad():
                next(p for p in model.parameters() if p.requires_grad).fill_(float("nan"))


def test_non_finite_loss_stops_with_the_step_and_keeps_the_last_good_checkpoint(
        unlearn_vlm_dir, experiments_data_dir, tmp_path):
    out = tmp_path / "diverged"
    args, script, training, model = unlearn.parse_args(_argv(
        unlearn_vlm_dir, experiments_data_dir, out, "--method", "ga", "--max_steps", "6",
        "--save_steps", "2", "--save_total_limit", "3", "--disable_tqdm", "true",
        "--per_device_train_batch_size", "4", "--report_to", "none")[1:])
    run = unlearn.prepare(args, script, training, model, "test")
    run.trainer.add_callback(Diverge())
    with pytest.raises(UserError, match=r"loss is nan at step 4 .*last good checkpoint is "
                                        r".*checkpoint-2"):
        unlearn.train_and_save(args, run)
    assert (out / "checkpoint-2").is_dir() and not (out / "persona_train.json").exists()


def test_curve_measures_forget_and_retain_in_both_modalities(unlearn_vlm_dir,
                                                              experiments_data_dir, tmp_path):
    out = tmp_path / "curve"
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # a both-modality model: no warning
        assert main(_argv(unlearn_vlm_dir, experiments_data_dir, out, "--method", "npo",
                          "--curve_points", "2", *STEPS)) == 0
    curve = json.loads((out / unlearn.CURVE).read_text())
    assert [p["step"] for p in curve] == [0, 1, 2]
    assert set(curve[0]) == {"step", "forget_image", "forget_text", "retain_image",
                             "retain_text"}
    assert all(0 <= v <= 1 for p in curve for k, v in p.items() if k != "step")
    record = json.loads((out / "persona_train.json").read_text())
    assert record["curve"] == curve


def test_help_answers_without_a_model(capsys):
    assert main(["unlearn", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--forget_modality" in out and "--method" in out
