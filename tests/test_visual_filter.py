"""The CAGUL-style visual-token module: identity until trained, acts on image tokens only,
on the least-attended share of them, and travels with the checkpoint into evaluation."""

from __future__ import annotations

import shutil

import torch

from persona_bench.visual_filter import (
    CONFIG,
    WEIGHTS,
    VisualTokenFilter,
    attach,
    attach_saved,
    save,
)


def _model(path):
    from transformers import AutoModelForImageTextToText

    return AutoModelForImageTextToText.from_pretrained(path).eval()


def _inputs(model_dir, data_dir, modality: str):
    from datasets import load_dataset
    from transformers import AutoProcessor

    from persona_bench.persona_gen.publish import load_options
    from persona_bench.prompting import build_prompt, encode_prompts

    rows = load_dataset(str(data_dir), "img2text", split="test_source" if modality == "image"
                        else "test_target", **load_options(data_dir))
    row = rows[0]
    processor = AutoProcessor.from_pretrained(model_dir)
    prompt = build_prompt(processor, row["messages"][:-1], row["images"])
    return encode_prompts(processor, [prompt], [row["images"]])


def test_untrained_module_changes_nothing(tiny_vlm_dir, dataset_dir):
    model = _model(tiny_vlm_dir)
    inputs = _inputs(tiny_vlm_dir, dataset_dir, "image")
    with torch.no_grad():
        plain = model(**inputs).logits
        attach(model, VisualTokenFilter(model.config.text_config.hidden_size))
        assert torch.allclose(model(**inputs).logits, plain)


def test_module_changes_only_the_least_attended_image_tokens(tiny_vlm_dir, dataset_dir):
    model = _model(tiny_vlm_dir)
    module = attach(model, VisualTokenFilter(model.config.text_config.hidden_size, ratio=0.25))
    torch.nn.init.normal_(module.encoder[-1].weight)  # a "trained" encoder
    seen = {}

    def spy(_, args, kwargs):
        seen["embeds"] = kwargs["inputs_embeds"]

    model.model.language_model.register_forward_pre_hook(spy, with_kwargs=True)
    image = _inputs(tiny_vlm_dir, dataset_dir, "image")
    with torch.no_grad():
        model(**image)
        filtered = seen["embeds"][0]
        module.handles[1].remove()  # the filter off: the same inputs, unfiltered
        model(**image)
        plain = seen["embeds"][0]
    changed = (filtered != plain).any(-1)
    visual = image["input_ids"][0] == module.image_token_id
    assert changed.any() and not (changed & ~visual).any()  # image tokens only
    assert changed.sum() == torch.ceil(visual.sum() * 0.25)

    text = _inputs(tiny_vlm_dir, dataset_dir, "text")
    assert not (text["input_ids"] == module.image_token_id).any()
    assert module(torch.zeros(1, 3, 4), text["input_ids"][:, :3], None).abs().sum() == 0


def test_saved_module_is_attached_by_evaluation(tiny_vlm_dir, dataset_dir, tmp_path):
    from persona_bench.tasks.hf_model import HFModel

    folder = tmp_path / "unlearned"
    shutil.copytree(tiny_vlm_dir, folder)
    assert attach_saved(_model(folder), folder) is None  # a plain checkpoint: nothing
    model = _model(folder)
    module = VisualTokenFilter(model.config.text_config.hidden_size)
    torch.nn.init.normal_(module.encoder[-1].weight)
    save(module, folder)
    assert (folder / WEIGHTS).is_file() and (folder / CONFIG).is_file()
    loaded = HFModel(str(folder), device="cpu")
    assert loaded.visual_filter is not None
    assert torch.equal(loaded.visual_filter.encoder[-1].weight, module.encoder[-1].weight)
    assert not any(k.startswith("first_layer") for k in loaded.visual_filter.state_dict())
