"""The persona_vlm lmms-eval backend (and the HFModel under it), without the lmms-eval CLI."""

from __future__ import annotations

from pathlib import Path

import datasets
import pytest
from lmms_eval.api.instance import Instance
from PIL import Image

from persona_bench.errors import UserError
from persona_bench.tasks.hf_model import HFModel, Query, plan_batches, truncate_at
from persona_bench.tasks.lmms_plugin import MODEL_NAME
from persona_bench.tasks.persona_vlm import PersonaVLM, generation_options, parse_batch_size

GEN = {"until": ["\n"], "max_new_tokens": 8, "temperature": 0, "do_sample": False}


@pytest.fixture(scope="module")
def rows(dataset_dir: Path) -> list[dict]:
    """Three image questions and three text questions (the img2text test halves)."""
    image = datasets.load_dataset(str(dataset_dir), "img2text", split="test_source")
    text = datasets.load_dataset(str(dataset_dir), "img2text", split="test_target")
    return [*image.select(range(3)), *text.select(range(3))]


@pytest.fixture(scope="module")
def backend(trained_vlm_dir: Path, rows: list[dict]) -> PersonaVLM:
    lm = PersonaVLM(pretrained=str(trained_vlm_dir), device="cpu", dtype="float32", batch_size=4)
    lm.task_dict = {"t": {"test": rows}}
    return lm


def _requests(rows: list[dict], kind: str) -> list[Instance]:
    def visual(doc: dict) -> list:
        return list(doc["images"])

    out = []
    for i, row in enumerate(rows):  # (context, gen_kwargs | continuation, visual, doc, task, split)
        second = dict(GEN) if kind == "generate_until" else f" {row['answer']}"
        args = (row["question"], second, visual, i, "t", "test")
        out.append(Instance(kind, args, 0, {"task": "t", "doc_id": i, "repeats": 1}))
    return out


def test_registered_through_the_entry_point() -> None:
    from lmms_eval.models import get_model

    assert get_model(MODEL_NAME) is PersonaVLM


def test_generate_mixes_image_and_text_and_ignores_batch_size(
    backend: PersonaVLM, rows: list[dict]
) -> None:
    batched = backend.generate_until(_requests(rows, "generate_until"))
    backend.batch_size_per_gpu = 1
    try:
        single = backend.generate_until(_requests(rows, "generate_until"))
    finally:
        backend.batch_size_per_gpu = 4
    assert batched == single and len(batched) == len(rows)
    assert all(isinstance(text, str) and "\n" not in text for text in batched)
    direct = backend.hf.generate([Query(r["question"], tuple(r["images"])) for r in rows[:1]],
                                 max_new_tokens=8, until=["\n"])
    assert batched[0] == direct[0]


def test_loglikelihood_matches_hf_model_and_batch_size(backend: PersonaVLM, rows: list[dict]
                                                     ) -> None:
    scores = backend.loglikelihood(_requests(rows, "loglikelihood"))
    assert len(scores) == len(rows)
    assert all(lp < 0 and isinstance(greedy, bool) for lp, greedy in scores)
    one = backend.hf.score([Query(rows[4]["question"])], [f" {rows[4]['answer']}"])[0]
    assert scores[4][0] == pytest.approx(one[0], abs=1e-4)


def test_text_only_causal_lm(tiny_vlm_dir: Path, tmp_path: Path) -> None:
    """A plain causal LM loads through AutoModelForCausalLM with its tokenizer's template."""
    from transformers import AutoProcessor, LlamaConfig, LlamaForCausalLM

    tokenizer = AutoProcessor.from_pretrained(tiny_vlm_dir).tokenizer
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64,
                         num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2)
    LlamaForCausalLM(config).save_pretrained(tmp_path / "lm")
    tokenizer.save_pretrained(tmp_path / "lm")
    hf = HFModel(str(tmp_path / "lm"), device="cpu")
    assert not hf.multimodal and hf.use_chat_template
    assert len(hf.generate([Query("Who is this?")], max_new_tokens=3)) == 1
    assert len(hf.score([Query("Who?")], ["x"])) == 1
    with pytest.raises(UserError, match="text-only model"):
        hf.generate([Query("Who?", (Image.new("RGB", (8, 8)),))])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"pretrained": "/nonexistent/model"}, "cannot load model"),
        ({"pretrained": "x", "batch_size": "auto"}, "positive integer batch size"),
        ({"pretrained": "x", "tempreature": 1}, "unknown model_args"),
    ],
)
def test_bad_model_args_are_one_line_errors(kwargs: dict, match: str) -> None:
    with pytest.raises(UserError, match=match) as err:
        PersonaVLM(**kwargs)
    assert "\n" not in str(err.value)


def test_helpers() -> None:
    assert plan_batches([1, 5, 3, 2], ["a", "a", "b", "a"], 2) == [[1, 3], [0], [2]]
    assert truncate_at("Lisbon\nPorto", ["\n"]) == "Lisbon"
    assert truncate_at("Lisbon", []) == "Lisbon"
    assert parse_batch_size("8") == 8
    options = generation_options({"until": "\n", "max_new_tokens": 5, "temperature": 0})
    assert options == {"until": ["\n"], "max_new_tokens": 5, "num_beams": 1}


def _recorder(seen: dict) -> type:
    """An HFModel stand-in that records the keyword arguments the backend passes it."""

    class Recorder:
        def __init__(self, pretrained: str, **kwargs: object) -> None:
            seen.update(kwargs)

        def describe(self) -> str:
            return "recorder"

    return Recorder


@pytest.mark.parametrize("word, expected", [("no", False), ("off", False), ("false", False),
                                            ("0", False), ("FALSE", False), ("yes", True),
                                            ("True", True), ("1", True)])
def test_boolean_model_args_parse_strictly(word: str, expected: bool,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """`--model_args trust_remote_code=no` arrives as the string "no": it must mean False."""
    import persona_bench.tasks.persona_vlm

    seen: dict = {}
    Recorder = _recorder(seen)

    monkeypatch.setattr(persona_bench.tasks.persona_vlm, "HFModel", Recorder)
    PersonaVLM(pretrained="x", trust_remote_code=word, apply_chat_template=word)
    assert seen["trust_remote_code"] is expected and seen["apply_chat_template"] is expected


def test_unknown_boolean_model_arg_is_an_error() -> None:
    with pytest.raises(UserError, match="trust_remote_code='maybe' is not a boolean") as err:
        PersonaVLM(pretrained="x", trust_remote_code="maybe")
    assert "\n" not in str(err.value)


class FakeAccelerator:
    """What `accelerate.Accelerator()` reports on rank 1 of 2 (GPU or CPU processes)."""

    def __init__(self, device: str) -> None:
        self.device, self.process_index, self.num_processes = device, 1, 2
        self.local_process_index = 1


@pytest.mark.parametrize(("own", "asked", "expected"), [
    ("cuda:1", None, "cuda:1"), ("cuda:1", "cuda", "cuda:1"), ("cuda:1", "cuda:0", "cuda:1"),
    ("cpu", None, "cpu"), ("cpu", "cpu", "cpu"),
])
def test_each_data_parallel_rank_takes_its_own_device(
    own: str, asked: str | None, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    import persona_bench.tasks.persona_vlm

    seen: dict = {}
    Recorder = _recorder(seen)

    monkeypatch.setattr("accelerate.Accelerator", lambda: FakeAccelerator(torch.device(own)))
    monkeypatch.setattr(persona_bench.tasks.persona_vlm, "HFModel", Recorder)
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("LOCAL_RANK", "1")
    lm = PersonaVLM(pretrained="x", device=asked)
    assert (seen["device"], lm.rank, lm.world_size) == (expected, 1, 2)
    assert isinstance(lm.accelerator, FakeAccelerator)


@pytest.mark.parametrize(("own", "asked", "match"), [
    ("cpu", None, "device_map=auto splits one model"),
    ("cpu", "cuda", "device=cuda but the 2 data-parallel processes run on cpu"),
    ("cuda:1", "cpu", "device=cpu but the 2 data-parallel processes run on cuda"),
])
def test_data_parallel_refuses_model_parallel_and_other_devices(
    own: str, asked: str | None, match: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    monkeypatch.setattr("accelerate.Accelerator", lambda: FakeAccelerator(torch.device(own)))
    monkeypatch.setenv("WORLD_SIZE", "2")
    device_map = "auto" if "device_map" in match else None
    with pytest.raises(UserError, match=match) as err:
        PersonaVLM(pretrained="x", device=asked, device_map=device_map)
    assert "\n" not in str(err.value)
