"""The diffusers renderer, on a tiny randomly initialised Stable Diffusion built offline."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from persona_bench.errors import UserError
from persona_bench.persona_gen.renderers import RenderJob, get_renderer
from persona_bench.persona_gen.renderers.diffusion import (
    DiffusersRenderer,
    appearance_prompt,
    negative_prompt,
    noise_seed,
)
from persona_bench.persona_gen.vocab import APPEARANCE

torch = pytest.importorskip("torch")
diffusers = pytest.importorskip("diffusers")

LOOK = {
    "gender": "woman", "age": "young", "skin_tone": "tan", "face_shape": "oval",
    "hair_color": "red", "hair_style": "long", "eye_color": "green", "facial_hair": "none",
    "eyewear": "round glasses", "headwear": "none", "earrings": "hoops",
    "clothing_color": "yellow", "clothing_style": "hoodie", "background": "teal",
}


def job(look: dict[str, str] = LOOK, variant: int = 0, seed: int = 5, size: int = 64) -> RenderJob:
    return RenderJob(tuple((key, look[key]) for key in APPEARANCE), variant, size, seed)


def tiny_tokenizer():
    from transformers import CLIPTokenizer
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    # a byte-level vocabulary (every byte, alone and word-final) and no merges
    chars = list(bytes_to_unicode().values())
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for token in [*chars, *(c + "</w>" for c in chars)]:
        vocab.setdefault(token, len(vocab))
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77)


@pytest.fixture(scope="module")
def tiny_pipeline(tmp_path_factory) -> str:
    from diffusers import (
        AutoencoderKL,
        DDIMScheduler,
        StableDiffusionPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(0)
    tokenizer = tiny_tokenizer()
    text_encoder = CLIPTextModel(CLIPTextConfig(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=37, num_hidden_layers=2,
        num_attention_heads=4, max_position_embeddings=77, projection_dim=32,
        bos_token_id=0, eos_token_id=1, pad_token_id=1,
    ))
    unet = UNet2DConditionModel(
        block_out_channels=(8, 16), layers_per_block=1, sample_size=16, in_channels=4,
        out_channels=4, down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), cross_attention_dim=32,
        norm_num_groups=4, attention_head_dim=4,
    )
    vae = AutoencoderKL(
        block_out_channels=(8, 16), in_channels=3, out_channels=3, latent_channels=4,
        down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2,
        norm_num_groups=4, sample_size=32,
    )
    scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                              clip_sample=False, set_alpha_to_one=False, steps_offset=1)
    pipe = StableDiffusionPipeline(
        vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet, scheduler=scheduler,
        safety_checker=None, feature_extractor=None, requires_safety_checker=False,
    )
    folder = tmp_path_factory.mktemp("tiny-sd")
    pipe.save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    # tiny convolutions: one thread is fastest, and several stall when other processes
    # keep the cores busy (0.03 s vs up to 3 s a batch on a loaded 2-core machine)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def renderer(tiny_pipeline) -> DiffusersRenderer:
    return DiffusersRenderer(model=tiny_pipeline, steps=2, batch_size=2, device="cpu")


def test_renders_pngs_of_the_job_size_deterministically(renderer, tiny_pipeline):
    jobs = [job(variant=0), job(variant=1), job(seed=6, size=48)]
    done: list[int] = []
    first = list(renderer.render(jobs, progress=done.append))
    assert done == [2, 1] and len(first) == 3
    for png, j in zip(first, jobs, strict=True):
        img = Image.open(io.BytesIO(png))
        assert img.format == "PNG" and img.mode == "RGB" and img.size == (j.size, j.size)
    assert first[0] != first[1]  # another variant, another image
    assert list(renderer.render(jobs)) == first  # same jobs and batches, same bytes
    # Alone, the job gets the same noise; the pixels match to rounding (a CPU's matrix kernels
    # may block a batch of one differently from a batch of two: bytes are not promised).
    again = DiffusersRenderer(model=tiny_pipeline, steps=2, batch_size=3, device="cpu")
    (alone,) = again.render(jobs[:1])
    pixels = [np.asarray(Image.open(io.BytesIO(png)), dtype=np.int16) for png in (alone, first[0])]
    other = np.asarray(Image.open(io.BytesIO(first[1])), dtype=np.int16)
    assert np.abs(pixels[0] - pixels[1]).max() <= 2 < np.abs(pixels[1] - other).max()


def test_get_renderer_passes_the_options(tiny_pipeline):
    engine = get_renderer("diffusers", model=tiny_pipeline, workers=4, steps=1,
                          resolution=32, device="cpu")
    (png,) = engine.render([job(size=32)])
    assert Image.open(io.BytesIO(png)).size == (32, 32)


def test_missing_model_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="--t2i-model"):
        DiffusersRenderer(model=None)
    missing = tmp_path / "no-such-pipeline"
    with pytest.raises(UserError) as info:
        DiffusersRenderer(model=str(missing), device="cpu")
    message = str(info.value)
    assert message.startswith(f"cannot load text-to-image model {str(missing)!r}: ")
    assert message.endswith("pass a diffusers pipeline id or folder with --t2i-model")
    assert "\n" not in message


def test_not_a_pipeline_folder_is_a_user_error(tmp_path):
    (tmp_path / "model_index.json").write_text("{ not json")
    with pytest.raises(UserError, match="cannot load text-to-image model"):
        DiffusersRenderer(model=str(tmp_path), device="cpu")


def test_prompt_names_every_attribute():
    prompt = appearance_prompt(LOOK, 0)
    for value in ("young woman", "tan skin", "oval face", "long straight red hair",
                  "green eyes", "round glasses", "hoop earrings", "yellow hoodie",
                  "teal background"):
        assert value in prompt
    assert appearance_prompt(LOOK, 0) != appearance_prompt(LOOK, 1)
    negative = negative_prompt(LOOK)
    assert "beard" in negative and "hat" in negative and "glasses" not in negative
    man = {**LOOK, "gender": "man", "facial_hair": "beard", "eyewear": "sunglasses"}
    assert "red beard" in appearance_prompt(man, 0)
    assert "dark sunglasses" in appearance_prompt(man, 0)
    assert "androgynous person" in appearance_prompt({**LOOK, "gender": "person"}, 0)


def test_noise_seed_is_per_persona_and_variant():
    assert noise_seed(job()) == noise_seed(job(size=32))
    assert len({noise_seed(job(variant=v, seed=s)) for v in range(4) for s in range(4)}) == 16
    assert 0 <= noise_seed(job()) < 2**63
