"""trainers/sft.py: memorisation, the answer-only label mask, freeze switches, resume, bad input."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForImageTextToText, AutoProcessor

from persona_bench.cli import main as cli
from persona_bench.errors import UserError
from persona_bench.prompting import build_prompt
from persona_bench.trainers import parts, sft
from persona_bench.trainers.loading import as_prompt_completion, load_rows
from persona_bench.trainers.parts import parameter_counts
from persona_bench.trainers.recall import recall

ROOT = Path(__file__).resolve().parents[1]


def argv(model: Path | str, data: Path, out: Path, config: str = "img2text",
         *extra: str) -> list[str]:
    return ["--model_name_or_path", str(model), "--dataset_name", str(data),
            "--dataset_config", config, "--output_dir", str(out), *extra]


def prepared(model: Path, data: Path, out: Path, *extra: str, config: str = "img2text"):
    return sft.prepare(*sft.parse_args(argv(model, data, out, config, *extra)))


def fails(capsys, args: list[str], *needles: str) -> str:
    """Run `persona-bench train ARGS`: exit 2 with one clean line naming the problem."""
    assert cli(["train", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err, err
    err = err.splitlines()[-1]  # after any progress bars
    assert err.startswith("persona-bench train: error: "), err
    for needle in needles:
        assert needle in err, err
    return err


# --- memorisation and the saved checkpoint ----------------------------------------------------

def test_full_finetune_memorises_source_modality(trained_vlm_dir, dataset_dir):
    model = AutoModelForImageTextToText.from_pretrained(trained_vlm_dir)
    processor = AutoProcessor.from_pretrained(trained_vlm_dir)
    result = recall(model, processor, load_rows(str(dataset_dir), "text2img", "seen"))
    assert result.accuracy >= 0.9, result.summary()


def test_record_and_model_card(trained_vlm_dir, tiny_vlm_dir, dataset_dir):
    from persona_bench.persona_gen.publish import read_metadata

    record = json.loads((trained_vlm_dir / "persona_train.json").read_text())
    assert record["base_model"] == str(tiny_vlm_dir)
    assert record["base_record"]["builder"] == "persona-bench tiny-vlm"
    assert record["dataset"]["content_hash"] == read_metadata(dataset_dir)["content_hash"]
    assert (record["source_modality"], record["target_modality"]) == ("text", "image")
    assert record["training"]["method"] == "full"
    assert record["training"]["parts"] == {"vision_tower": False, "projector": True,
                                           "language_model": True}
    assert record["hyperparameters"]["num_train_epochs"] == 20
    assert record["hyperparameters"]["learning_rate"] == 1e-3  # from the model size
    assert record["seed"] == 42 and record["num_parameters"] > record["num_trainable_parameters"]
    assert record["command"].startswith("persona-bench train --model_name_or_path")
    card = (trained_vlm_dir / "README.md").read_text()
    assert record["dataset"]["content_hash"] in card and str(tiny_vlm_dir) in card
    assert not list(trained_vlm_dir.glob("checkpoint-*"))


@pytest.mark.parametrize("merge", [True, False])
def test_lora_checkpoint(tiny_vlm_dir, dataset_dir, tmp_path, merge):
    """LoRA trains the language model (and projector), merged or as an adapter; both reload.

    (LoRA memorisation itself is measured on the demo-size dataset; see trainers/README.md.)
    """
    out = tmp_path / "lora"
    assert cli(["train", *argv(tiny_vlm_dir, dataset_dir, out, "img2text", "--use_peft",
                               *(["--merge_lora"] if merge else []), "--max_steps", "3",
                               "--learning_rate", "1e-2", "--disable_tqdm", "true")]) == 0
    assert (out / "adapter_config.json").exists() != merge
    base = AutoModelForImageTextToText.from_pretrained(tiny_vlm_dir).state_dict()
    tuned = AutoModelForImageTextToText.from_pretrained(out)
    if merge:
        weights = tuned.state_dict()
        changed = {n for n in base if not torch.equal(base[n], weights[n])}
        assert {parts.part_of(tuned, n) for n in changed} == {"language_model", "projector"}
        assert any("q_proj" in n for n in changed) and not any("embed" in n for n in changed)
    else:
        assert any("lora_A" in n for n, _ in tuned.named_parameters())
    record = json.loads((out / "persona_train.json").read_text())
    assert record["training"]["method"] == "lora" and record["training"]["merged"] is merge
    assert record["training"]["lora_modules_to_save"] == ["model.multi_modal_projector"]
    assert record["source_modality"] == "image"


# --- what is trained --------------------------------------------------------------------------

def test_label_mask_covers_only_the_answer(tiny_vlm_dir, dataset_dir, tmp_path):
    run = prepared(tiny_vlm_dir, dataset_dir, tmp_path / "o")
    processor = run.trainer.processing_class
    image_row = load_rows(str(dataset_dir), "img2text", "train")[0]
    text_row = load_rows(str(dataset_dir), "text2img", "train")[0]
    rows = [image_row, text_row]
    examples = [as_prompt_completion(load_rows(str(dataset_dir), c, "train"))[0]
                for c in ("img2text", "text2img")]
    batch = run.trainer.data_collator(examples)
    for i, row in enumerate(rows):
        keep = batch["attention_mask"][i].bool()
        ids, labels = batch["input_ids"][i][keep], batch["labels"][i][keep]
        completion = row["answer"] + "<|im_end|>\n"
        assert labels[labels != -100].tolist() == processor.tokenizer(
            completion, add_special_tokens=False)["input_ids"]
        answer = processor.tokenizer.decode(labels[labels != -100])
        assert " ".join(answer.split()) == completion.strip()  # word tokens add the spaces
        prompt_ids = ids[labels == -100]
        expected = processor(text=[build_prompt(processor, row["messages"][:-1], row["images"])],
                             images=[row["images"]] if row["images"] else None,
                             add_special_tokens=False)["input_ids"][0]
        assert prompt_ids.tolist() == list(expected)  # the same prompt as at generation time


@pytest.mark.parametrize(("flags", "trained"), [
    ([], {"vision_tower": False, "projector": True, "language_model": True}),
    (["--train_vision_tower", "--no_train_language_model", "--no_train_projector"],
     {"vision_tower": True, "projector": False, "language_model": False}),
    (["--no_train_projector"], {"vision_tower": False, "projector": False, "language_model": True}),
])
def test_freeze_switches_full(tiny_vlm_dir, dataset_dir, tmp_path, flags, trained):
    run = prepared(tiny_vlm_dir, dataset_dir, tmp_path / "o", *flags)
    counts = parameter_counts(run.trainer.model)
    assert {part: c["trainable"] > 0 for part, c in counts.items()} == trained
    for part, on in trained.items():
        if on:
            assert counts[part]["trainable"] == counts[part]["total"]


def test_freeze_lm_layers_trains_the_upper_layers_only(tiny_vlm_dir, dataset_dir, tmp_path):
    run = prepared(tiny_vlm_dir, dataset_dir, tmp_path / "o", "--freeze_lm_layers", "1")
    model = run.trainer.model
    _, layers = parts.decoder_layers(model)
    assert not any(p.requires_grad for p in model.get_input_embeddings().parameters())
    assert not any(p.requires_grad for p in layers[0].parameters())
    assert all(p.requires_grad for layer in layers[1:] for p in layer.parameters())
    assert all(p.requires_grad for p in model.get_output_embeddings().parameters())
    assert any(p.requires_grad for n, p in model.named_parameters()
               if "multi_modal_projector" in n)  # the other switches are unchanged


@pytest.mark.parametrize(("extra", "message"), [
    (["--freeze_lm_layers", "99"], "--freeze_lm_layers must be in [0, "),
    (["--freeze_lm_layers", "1", "--use_peft"], "--freeze_lm_layers applies to full"),
])
def test_freeze_lm_layers_bad_input_is_one_line(extra, message, tiny_vlm_dir, dataset_dir,
                                                tmp_path, capsys):
    fails(capsys, argv(tiny_vlm_dir, dataset_dir, tmp_path / "o", "img2text", *extra), message)


def test_freeze_switches_lora(tiny_vlm_dir, dataset_dir, tmp_path):
    run = prepared(tiny_vlm_dir, dataset_dir, tmp_path / "o", "--use_peft", "--lora_r", "4")
    trainable = [n for n, p in run.trainer.model.named_parameters() if p.requires_grad]
    lm = [n for n in trainable if "language_model" in n]
    assert lm and all("lora_" in n for n in lm)
    assert any("multi_modal_projector" in n for n in trainable)  # modules_to_save
    assert not any("vision_tower" in n for n in trainable)
    targets = {n.split(".lora_A")[0].rsplit(".", 1)[-1] for n in lm if "lora_A" in n}
    assert targets == {"q_proj", "k_proj", "v_proj", "o_proj",
                                                    "gate_proj", "up_proj", "down_proj"}


@pytest.mark.parametrize("model_type", ["llava_onevision", "qwen2_5_vl", "qwen3_vl", "idefics3",
                                        "gemma3", "paligemma", "mllama", "glm4v"])
def test_parts_of_hub_architectures(model_type):
    """Freeze switches and default LoRA targets find the parts of common Hub VLMs."""
    from transformers import AutoConfig

    with torch.device("meta"):
        model = AutoModelForImageTextToText.from_config(AutoConfig.for_model(model_type))
    assert all(c["total"] for c in parameter_counts(model).values())
    targets = parts.matching_modules(model, parts.default_lora_targets(model))
    assert targets and {parts.part_of(model, t) for t in targets} == {"language_model"}
    assert {t.rsplit(".", 1)[-1] for t in targets} >= {"q_proj", "v_proj", "down_proj"}
    assert parts.part_roots(model, "projector") and parts.part_roots(model, "vision_tower")


def test_defaults_and_yaml_config(tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text("model_name_or_path: m\nuse_peft: true\nlora_r: 4\n"
                      "train_vision_tower: true\nnum_train_epochs: 3\noutput_dir: o\n")
    script, args, model = sft.parse_args(["--config", str(config), "--lora_r", "8"])
    assert (model.model_name_or_path, model.use_peft, model.lora_r) == ("m", True, 8)
    assert script.train_vision_tower and args.num_train_epochs == 3
    if not torch.cuda.is_available():
        assert args.use_cpu and not args.bf16
    assert not args.activation_checkpointing and args.learning_rate is None
    assert sft.default_learning_rate(5_000_000, False) == 1e-3
    assert 3e-5 < sft.default_learning_rate(7_000_000_000, False) < 4e-5
    assert sft.default_learning_rate(7_000_000_000, True) > sft.default_learning_rate(
        7_000_000_000, False)


# --- resume and the output directory ----------------------------------------------------------

class _Interrupt(Exception):
    pass


@pytest.mark.parametrize("method", [[], ["--use_peft"]], ids=["full", "lora"])
def test_interrupted_run_resumes_to_the_same_weights(tiny_vlm_dir, dataset_dir, tmp_path,
                                                     capsys, method):
    from transformers import TrainerCallback

    class StopAt(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == 3:
                raise _Interrupt

    common = ["--max_steps", "4", "--save_steps", "2", "--per_device_train_batch_size", "2",
              "--disable_tqdm", "true", *method]
    straight, broken = tmp_path / "straight", tmp_path / "broken"
    assert cli(["train", *argv(tiny_vlm_dir, dataset_dir, straight, "img2text", *common)]) == 0
    run = prepared(tiny_vlm_dir, dataset_dir, broken, *common)
    run.trainer.add_callback(StopAt())
    with pytest.raises(_Interrupt):
        sft.train(run)
    assert (broken / "checkpoint-2").is_dir()
    fails(capsys, argv(tiny_vlm_dir, dataset_dir, broken, "img2text", *common),
          "interrupted run", "--resume_from_checkpoint")
    assert cli(["train", *argv(tiny_vlm_dir, dataset_dir, broken, "img2text", *common,
                               "--resume_from_checkpoint", "true")]) == 0
    a = AutoModelForImageTextToText.from_pretrained(straight).state_dict()
    b = AutoModelForImageTextToText.from_pretrained(broken).state_dict()
    for name in a:
        torch.testing.assert_close(a[name], b[name])
    assert json.loads((broken / "persona_train.json").read_text())["global_step"] == 4
    # A finished run is never overwritten without --overwrite_output_dir.
    fails(capsys, argv(tiny_vlm_dir, dataset_dir, broken, "img2text", *common),
          "finished run", "--overwrite_output_dir")


# --- bad input: one clean line each -----------------------------------------------------------

def test_bad_models(tiny_vlm_dir, dataset_dir, tmp_path, capsys):
    from transformers import LlamaConfig, LlamaForCausalLM

    out = str(tmp_path / "o")
    fails(capsys, argv(tmp_path / "no-such-model", dataset_dir, out), "model folder", "not found")
    fails(capsys, argv("no-such-org/no-such-model", dataset_dir, out), "cannot load model")
    text_only = tmp_path / "llama"
    LlamaForCausalLM(LlamaConfig(vocab_size=64, hidden_size=16, intermediate_size=32,
                                 num_hidden_layers=1, num_attention_heads=2)).save_pretrained(
        text_only)
    fails(capsys, argv(text_only, dataset_dir, out), "not a vision-language model")
    fails(capsys, argv(tiny_vlm_dir, dataset_dir, out, "img2text", "--use_peft",
                       "--lora_target_modules", "no_such_proj"), "match no module")


def test_bad_datasets(tiny_vlm_dir, dataset_dir, tmp_path, capsys):
    out = str(tmp_path / "o")
    fails(capsys, argv(tiny_vlm_dir, dataset_dir, out, "audio2text"),
          "no config 'audio2text'", "img2text")
    fails(capsys, argv(tiny_vlm_dir, tmp_path / "no-such-data", out), "cannot open dataset")
    fails(capsys, argv(tiny_vlm_dir, dataset_dir, out, "img2text", "--dataset_train_split",
                       "validation"), "no split 'validation'")
    empty = tmp_path / "empty"
    (empty / "img2text").mkdir(parents=True)
    rows = load_rows(str(dataset_dir), "img2text", "seen").select([])
    rows.to_parquet(empty / "img2text" / "train-00000-of-00001.parquet")
    (empty / "README.md").write_text(
        "---\nconfigs:\n- config_name: img2text\n  data_files:\n  - split: train\n"
        "    path: img2text/train-*.parquet\npersona_bench:\n  content_hash: sha256:0\n---\n")
    fails(capsys, argv(tiny_vlm_dir, empty, out), "content_hash must be")


def test_bad_output_dir_and_oom_hint(tiny_vlm_dir, dataset_dir, tmp_path, capsys, monkeypatch):
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    fails(capsys, argv(tiny_vlm_dir, dataset_dir, busy), "not empty")
    fails(capsys, argv(tiny_vlm_dir, dataset_dir, tmp_path / "new", "img2text",
                       "--resume_from_checkpoint", "true"), "no checkpoint")
    fails(capsys, argv(tiny_vlm_dir, dataset_dir, tmp_path / "o", "img2text",
                       "--no_train_projector", "--no_train_language_model"), "nothing to train")

    def out_of_memory(*args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(sft.SFTTrainer, "train", out_of_memory)
    fails(capsys, argv(tiny_vlm_dir, dataset_dir, tmp_path / "oom"), "out of memory",
          "--per_device_train_batch_size")


def test_script_entry_point_has_clean_errors(tmp_path):
    """`python trainers/sft.py` (what `accelerate launch` runs) behaves like the CLI."""
    proc = subprocess.run(
        [sys.executable, "trainers/sft.py", "--model_name_or_path", str(tmp_path / "nope"),
         "--dataset_name", str(tmp_path), "--dataset_config", "img2text",
         "--output_dir", str(tmp_path / "o")],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("persona-bench train: error:")


def test_unknown_argument_is_rejected(capsys):
    with pytest.raises(UserError, match="--no_such_flag"):
        sft.parse_args(["--model_name_or_path", "m", "--no_such_flag", "1"])
    with pytest.raises(UserError):
        sft.main(["--output_dir", "unused"])


def _finished_run(folder: Path) -> dict[str, bytes]:
    folder.mkdir(parents=True)
    (folder / "persona_train.json").write_text('{"finished": true}')
    (folder / "model.safetensors").write_bytes(b"weights that took a day")
    return {p.name: p.read_bytes() for p in folder.iterdir()}


@pytest.mark.parametrize("extra, needle", [
    (["--num_train_epochs", "-1"], "--num_train_epochs must be positive"),
    (["--max_steps", "0"], "--max_steps must be positive"),
    (["--learning_rate", "-0.1"], "--learning_rate must be positive"),
    (["--use_peft", "--lora_target_modules", "no_such_proj"], "match no module"),
])
def test_overwrite_with_a_bad_option_keeps_the_finished_model(tiny_vlm_dir, dataset_dir,
                                                              tmp_path, capsys, extra, needle):
    out = tmp_path / "m1"
    before = _finished_run(out)
    fails(capsys, argv(tiny_vlm_dir, dataset_dir, out, "img2text", "--overwrite_output_dir",
                       "true", *extra), needle)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m1"]  # no staging folder left


def test_overwrite_replaces_the_old_run_only_on_success(tiny_vlm_dir, dataset_dir, tmp_path):
    out = tmp_path / "m1"
    _finished_run(out)
    assert cli(["train", *argv(tiny_vlm_dir, dataset_dir, out, "img2text",
                               "--overwrite_output_dir", "true", "--max_steps", "1",
                               "--save_strategy", "no", "--disable_tqdm", "true")]) == 0
    assert (out / "config.json").is_file() and (out / "model.safetensors").read_bytes() != (
        b"weights that took a day")
    record = json.loads((out / "persona_train.json").read_text())
    assert record["output_dir"] == str(out) and record["global_step"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m1"]


def test_trl_sft_cli_on_the_sft_config_trains_the_answer_only(tiny_vlm_dir, dataset_dir,
                                                              tmp_path):
    """`trl sft --dataset_config img2text_sft`: TRL's own CLI gets our prompt/completion rows
    (so TRL's default completion-only loss is the benchmark's answer-only loss) and runs."""
    ours = as_prompt_completion(load_rows(str(dataset_dir), "img2text", "train"))
    from datasets import load_dataset

    theirs = load_dataset(str(dataset_dir), "img2text_sft", split="train")
    assert len(theirs) == len(ours)
    for mine, row in zip(ours.select(range(4)), theirs.select(range(4)), strict=True):
        assert (row["prompt"], row["completion"]) == (mine["prompt"], mine["completion"])
        assert [im.tobytes() for im in row["images"]] == [im.tobytes() for im in mine["images"]]
    command = [str(Path(sys.executable).parent / "trl"), "sft",
               "--model_name_or_path", str(tiny_vlm_dir), "--dataset_name", str(dataset_dir),
               "--dataset_config", "img2text_sft", "--output_dir", str(tmp_path / "trl"),
               "--max_steps", "2", "--per_device_train_batch_size", "4", "--use_cpu",
               "--bf16", "false", "--gradient_checkpointing", "false", "--report_to", "none",
               "--save_strategy", "no", "--disable_tqdm", "true"]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert (tmp_path / "trl" / "model.safetensors").is_file()


@pytest.mark.parametrize(("extra", "message"), [
    (["--augment", "nope"], "unknown --augment 'nope'; choose one of augment_ood, augment_id"),
    (["--augment", "augment_id", "--augment_ratio", "1.5"], r"--augment_ratio must be in \(0, 1\]"),
    (["--augment", "augment_id"], "has no config 'augment_id' .* regenerate the dataset with "
                                  "`persona-bench gen --experiments transfer augment"),
])
def test_augment_bad_input_is_one_line(extra, message, tiny_vlm_dir, dataset_dir, tmp_path,
                                       capsys):
    from persona_bench.cli import main

    out = tmp_path / "m"
    assert main(["train", "--model_name_or_path", str(tiny_vlm_dir), "--dataset_name",
                 str(dataset_dir), "--dataset_config", "img2text", "--output_dir", str(out),
                 *extra]) == 2
    err = capsys.readouterr().err
    assert re.search(message, err) and "Traceback" not in err
    assert not (out / "persona_train.json").exists()


def test_augment_too_few_rows_names_the_fix(tiny_vlm_dir, experiments_data_dir, tmp_path,
                                            capsys):
    from persona_bench.cli import main

    assert main(["train", "--model_name_or_path", str(tiny_vlm_dir), "--dataset_name",
                 str(experiments_data_dir), "--dataset_config", "img2text", "--output_dir",
                 str(tmp_path / "m"), "--augment", "augment_ood", "--augment_ratio", "1"]) == 2
    assert "lower the ratio or regenerate the dataset with more --augment-personas" in (
        capsys.readouterr().err)
