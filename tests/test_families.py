"""The family matrix: every family with a tiny build trains (full and LoRA), generates on
image and text-only prompts, scores likelihood recall and gets a leaderboard row.

One `persona-bench run` per family (train on img2text -> lmms-eval with persona_vlm ->
likelihood -> score from the logs -> `leaderboard add`) on a two-persona dataset, plus
one LoRA run; the README's table of supported families is backed by these tests.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from PIL import Image
from transformers import AutoModelForImageTextToText, AutoProcessor

from persona_bench.cli import main as cli
from persona_bench.families import BUILDABLE, FAMILIES, family_of, supported
from persona_bench.families.base import chatml_template
from persona_bench.trainers import parts, tiny_vlm

QUICK = ["--max_steps", "2", "--save_strategy", "no", "--disable_tqdm", "true",
         "--per_device_train_batch_size", "4"]


@pytest.fixture(scope="session")
def family_run(family_vlm_dir: Path, matrix_data_dir: Path,
               tmp_path_factory: pytest.TempPathFactory) -> Path:
    """train -> eval -> likelihood -> score -> leaderboard row, for one family."""
    out = tmp_path_factory.mktemp("family-run") / family_vlm_dir.name
    assert cli(["run", "--model", str(family_vlm_dir), "--data", str(matrix_data_dir),
                "--direction", "img2text", "--out", str(out), "--no-base-eval",
                "--batch-size", "16", "--name", family_vlm_dir.name, "--", *QUICK]) == 0
    return out


def _changed_parts(base_dir: Path, tuned_dir: Path) -> set[str]:
    base = AutoModelForImageTextToText.from_pretrained(base_dir)
    tuned = AutoModelForImageTextToText.from_pretrained(tuned_dir).state_dict()
    return {parts.part_of(base, n) for n, w in base.state_dict().items()
            if not torch.equal(w, tuned[n])}


def test_checkpoint_reloads_with_its_family_tokens_and_template(family_vlm_dir: Path) -> None:
    family = FAMILIES[family_vlm_dir.name]
    model = AutoModelForImageTextToText.from_pretrained(family_vlm_dir)
    processor = AutoProcessor.from_pretrained(family_vlm_dir)
    assert family_of(model) is family and 3e6 < model.num_parameters() < 8e6
    assert processor.chat_template == chatml_template(family.image_text)
    for token in family.tokens.specials:
        assert len(processor.tokenizer(token, add_special_tokens=False).input_ids) == 1
    counts = parts.parameter_counts(model)
    assert all(c["total"] for c in counts.values())
    record = json.loads((family_vlm_dir / "persona_train.json").read_text())
    assert record["architecture"] == family.name


def test_full_sft_trains_language_model_and_projector(family_vlm_dir: Path,
                                                      family_run: Path) -> None:
    model_dir = family_run / "img2text" / "model"
    record = json.loads((model_dir / "persona_train.json").read_text())
    assert record["training"]["method"] == "full" and record["source_modality"] == "image"
    assert _changed_parts(family_vlm_dir, model_dir) == {"language_model", "projector"}


def test_lora_sft_adapts_the_language_model_only(family_vlm_dir: Path, matrix_data_dir: Path,
                                                  tmp_path: Path) -> None:
    out = tmp_path / "lora"
    assert cli(["train", "--model_name_or_path", str(family_vlm_dir), "--dataset_name",
                str(matrix_data_dir), "--dataset_config", "img2text", "--output_dir", str(out),
                "--use_peft", "--merge_lora", "--train_projector", "false",
                "--learning_rate", "1e-2", *QUICK]) == 0
    record = json.loads((out / "persona_train.json").read_text())
    assert record["training"]["method"] == "lora" and record["training"]["merged"]
    assert _changed_parts(family_vlm_dir, out) == {"language_model"}


def test_generation_on_image_and_text_only_prompts(family_run: Path) -> None:
    samples = {}
    for path in (family_run / "img2text" / "eval").glob("*/*_samples_*.jsonl"):
        half = path.stem.rsplit("_", 1)[-1]
        samples[half] = [json.loads(line) for line in path.read_text().splitlines()]
    assert set(samples) == {"source", "target", "seen"}
    for half, modality in (("source", "image"), ("target", "text"), ("seen", "image")):
        records = [sample["exact"] for sample in samples[half]]
        assert records and all(r["modality"] == modality for r in records)
        assert all(isinstance(r["prediction"], str) for r in records)


def test_likelihood_recall_logs(family_run: Path) -> None:
    results = next((family_run / "img2text" / "eval").glob("*/likelihood_img2text_results.json"))
    summary = json.loads(results.read_text())
    for half in ("source", "target"):
        result = summary["results"][half]
        assert result["n"] > 0 and 0 <= result["accuracy"] <= 1 and 0 < result["chance"] < 1
        records = [json.loads(line) for line in
                   (results.parent / result["samples"]).read_text().splitlines()]
        assert all(1 <= r["rank"] <= r["k"] + 1 for r in records)


def test_leaderboard_row_from_the_logs(family_run: Path) -> None:
    board = family_run / "board"
    rows = [json.loads(line) for line in (board / "rows.jsonl").read_text().splitlines()]
    assert len(rows) == 1 and rows[0]["direction"] == "img2text"
    assert cli(["leaderboard", "verify", "--board", str(board)]) == 0


# --- not parametrised over families -----------------------------------------------------------

def test_registry_maps_model_types_and_refuses_unknown_architectures(
        matrix_data_dir: Path, unsupported_vlm_dir: Path, tmp_path: Path, capsys) -> None:
    assert set(BUILDABLE) >= {"llava", "qwen2_5_vl", "qwen3_vl", "idefics3", "gemma3",
                              "llava_onevision"}
    assert family_of("qwen2_vl") is FAMILIES["qwen2_5_vl"]
    assert family_of("smolvlm") is FAMILIES["idefics3"]
    assert cli(["train", "--model_name_or_path", str(unsupported_vlm_dir),
                "--dataset_name", str(matrix_data_dir),
                "--dataset_config", "img2text", "--output_dir", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "'aya_vision'" in err and supported() in err


def test_llava_template_unchanged_and_options_only_for_llava(tmp_path: Path, capsys) -> None:
    assert chatml_template("<image>\n") == tiny_vlm.CHAT_TEMPLATE
    assert cli(["tiny-vlm", "--family", "gemma3", "--vision", "clip",
                "--out", str(tmp_path / "g")]) == 2
    assert "--family llava only" in capsys.readouterr().err
    assert not (tmp_path / "g").exists()


def test_image_prompt_reaches_the_model(family_vlm_dir: Path) -> None:
    """The family's placeholder expands to image tokens; text-only prompts have none."""
    from persona_bench.prompting import build_prompt, encode_prompts

    processor = AutoProcessor.from_pretrained(family_vlm_dir)
    image = Image.new("RGB", (64, 64), (10, 200, 30))
    with_image = encode_prompts(processor, [build_prompt(processor, "Who?", [image])], [[image]])
    text_only = encode_prompts(processor, [build_prompt(processor, "Who?")], [[]])
    # Mllama keeps one token per image (its decoder cross-attends to the image features).
    expanded = 0 if "cross_attention_mask" in with_image else 8
    assert with_image["input_ids"].shape[1] > text_only["input_ids"].shape[1] + expanded
    assert "pixel_values" in with_image and "pixel_values" not in text_only
