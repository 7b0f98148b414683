"""The embedded tiny reference VLM: builds offline, reloads with the Auto classes, pretrains."""

from __future__ import annotations

import json

import pytest
import torch
from PIL import Image
from transformers import AutoModelForImageTextToText, AutoProcessor, LlavaForConditionalGeneration

from persona_bench.cli import main as cli
from persona_bench.errors import UserError
from persona_bench.prompting import build_prompt, encode_prompts
from persona_bench.trainers import tiny_vlm


def test_checkpoint_reloads_with_auto_classes_and_generates(tiny_vlm_dir):
    model = AutoModelForImageTextToText.from_pretrained(tiny_vlm_dir)
    processor = AutoProcessor.from_pretrained(tiny_vlm_dir)
    assert 4e6 < model.num_parameters() < 6e6
    assert processor.chat_template and processor.tokenizer.chat_template
    image = Image.new("RGB", (64, 64), (200, 40, 40))
    prompts = [build_prompt(processor, "Who is this person?", [image]),
               build_prompt(processor, "Consider the following person. Who is this?")]
    for prompt, images in zip(prompts, ([[image]], [[]]), strict=True):
        inputs = encode_prompts(processor, [prompt], images)
        out = model.generate(**inputs, max_new_tokens=4, do_sample=False)
        assert out.shape[1] > inputs["input_ids"].shape[1]


def test_chat_template_and_tokenizer(tiny_vlm_dir):
    processor = AutoProcessor.from_pretrained(tiny_vlm_dir)
    tok = processor.tokenizer
    prompt = build_prompt(processor, "What is this person's hobby?", [Image.new("RGB", (8, 8))])
    assert prompt == ("<|im_start|>user\n<image>\nWhat is this person's hobby?<|im_end|>\n"
                      "<|im_start|>assistant\n")
    for special in (tiny_vlm.PAD, tiny_vlm.BOS_TURN, tiny_vlm.EOS_TURN, tiny_vlm.IMAGE):
        assert len(tok(special, add_special_tokens=False).input_ids) == 1
    text = "Zoë Okafor works at Zephyr Aerospace; 42 km from Reykjavik!"
    # byte-level: any text round-trips (each line gains the leading space of the pre-tokenizer)
    assert tok.decode(tok(text).input_ids) == f" {text}"
    # An answer opening the assistant turn has the tokens of the same word inside a sentence.
    ids = tok("<|im_start|>assistant\nblue eyes", add_special_tokens=False).input_ids
    assert ids[-2:] == tok(" and blue eyes", add_special_tokens=False).input_ids[-2:]
    assert len(tok("blue", add_special_tokens=False).input_ids) == 1
    assert tok.eos_token == tiny_vlm.EOS_TURN


def test_plain_byte_level_tokenizer_is_kept_for_the_findings():
    plain = tiny_vlm.train_tokenizer(tiny_vlm.corpus(), 2048, word_tokens=False)
    text = "What colour are this person's eyes?"
    assert plain.decode(plain(text).input_ids) == text  # no leading space
    assert len(plain("blue", add_special_tokens=False).input_ids) > 1  # bare words split up


@pytest.mark.parametrize(
    ("size", "low", "high"), [("s", 25e6, 40e6), ("m", 90e6, 140e6), ("l", 0.4e9, 0.6e9)]
)
def test_size_presets(size, low, high):
    preset = tiny_vlm.SIZES[size]
    tokenizer = tiny_vlm.train_tokenizer(tiny_vlm.corpus(), preset.vocab_size)
    config = tiny_vlm.build_config(preset, len(tokenizer), tokenizer)
    with torch.device("meta"):
        model = LlavaForConditionalGeneration(config)
    assert low < model.num_parameters() < high


def test_clip_qwen2_variant_and_seed_determinism():
    model, processor = tiny_vlm.build("xs", vision="clip", text="qwen2", seed=3)
    again, _ = tiny_vlm.build("xs", vision="clip", text="qwen2", seed=3)
    assert model.config.text_config.model_type == "qwen2"
    assert model.config.vision_config.model_type == "clip_vision_model"
    for (name, a), (_, b) in zip(model.state_dict().items(), again.state_dict().items(),
                                 strict=True):
        assert torch.equal(a, b), name
    image = Image.new("RGB", (64, 64))
    inputs = encode_prompts(processor, [build_prompt(processor, "Who?", [image])], [[image]])
    # CLIP drops its CLS token: 8x8 patches -> 64 image tokens.
    assert (inputs["input_ids"] == model.config.image_token_id).sum() == 64
    assert model(**inputs).logits.shape[-1] == len(processor.tokenizer)


def test_patch_size_sets_the_number_of_image_tokens():
    model, processor = tiny_vlm.build("xs", patch_size=16)
    image = Image.new("RGB", (64, 64))
    inputs = encode_prompts(processor, [build_prompt(processor, "Who?", [image])], [[image]])
    assert (inputs["input_ids"] == model.config.image_token_id).sum() == 16  # (64 / 16) ** 2
    assert model(**inputs).logits.shape[-1] == len(processor.tokenizer)
    with pytest.raises(UserError, match="must divide"):
        tiny_vlm.build("xs", patch_size=7)


def test_cli_refuses_existing_out_and_pretrain_without_data(tiny_vlm_dir, tmp_path, capsys):
    assert cli(["tiny-vlm", "--out", str(tiny_vlm_dir)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert cli(["tiny-vlm", "--out", str(tmp_path / "x"), "--pretrain"]) == 2
    assert "--data" in capsys.readouterr().err


def test_pretrain_goes_through_sft_on_the_disjoint_pool(dataset_dir, tmp_path):
    out = tmp_path / "pre"
    assert cli(["tiny-vlm", "--out", str(out), "--pretrain", "--data", str(dataset_dir),
                "--pretrain_steps", "3", "--pretrain_args",
                "--per_device_train_batch_size 2 --logging_steps 1"]) == 0
    record = json.loads((out / "persona_train.json").read_text())
    assert record["dataset_config"] == "pretrain"
    assert record["source_modality"] == "image+text"
    assert record["global_step"] == 3
    assert record["training"] == {"method": "full", "lora_target_modules": None,
                                  "lora_modules_to_save": None, "merged": None,
                                  "parts": dict.fromkeys(
                                      ("vision_tower", "projector", "language_model"), True)}
    assert record["base_record"]["stage"] == "init"
    assert not (tmp_path / ".pre.init").exists()
    AutoModelForImageTextToText.from_pretrained(out)


def test_negative_pretrain_steps_is_refused_before_any_work(tmp_path, capsys):
    from persona_bench.cli import main

    assert main(["tiny-vlm", "--out", str(tmp_path / "m"), "--pretrain_steps", "-1"]) == 2
    err = capsys.readouterr().err
    assert "--pretrain-steps must be at least 1, got -1" in err and err.count("\n") == 1
    assert not (tmp_path / "m").exists()
