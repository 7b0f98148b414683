"""Text-to-image renderer: any diffusers pipeline, prompted with the persona's appearance.

`DiffusersRenderer(model=...)` loads `diffusers.DiffusionPipeline.from_pretrained(model)`
(a Hub id or a local folder; offline runs need it in the local cache or on disk). Each job
becomes one prompt built from its appearance attributes plus variant-specific pose and
lighting words (`appearance_prompt`), with a negative prompt that rules out what the
persona does not wear (`negative_prompt`). The initial noise comes from a CPU
`torch.Generator` seeded from (job.seed, variant), so a run is reproducible on any device.
Images are generated at the pipeline's native resolution (or `resolution`), centre-cropped
to a square, resized to `job.size` with LANCZOS and PNG-encoded like the procedural ones.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterator, Sequence

from PIL import Image

from persona_bench.errors import UserError
from persona_bench.persona_gen.renderers import RenderJob
from persona_bench.persona_gen.renderers.procedural import PNG_COMPRESS_LEVEL

HELP = "pass a diffusers pipeline id or folder with --t2i-model"

# Pose and lighting per variant (cycled): the same person, photographed differently.
VARIANT_WORDS: tuple[str, ...] = (
    "facing the camera, soft even studio lighting",
    "head turned slightly to the left, warm window light from the left",
    "head turned slightly to the right, cool daylight from the right",
    "head slightly tilted, bright high-key lighting",
    "close-up of head and shoulders, soft dramatic side light",
    "slightly wider framing, natural overcast light",
    "looking slightly up, golden hour light",
    "three-quarter view, soft rim light",
)
NEGATIVE_BASE = (
    "cartoon, drawing, painting, text, watermark, logo, blurry, out of focus, deformed face, "
    "extra limbs, multiple people, cropped head"
)
_DTYPES = {
    "float16": "float16", "fp16": "float16", "half": "float16",
    "bfloat16": "bfloat16", "bf16": "bfloat16",
    "float32": "float32", "fp32": "float32", "float": "float32",
}


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def appearance_prompt(attrs: dict[str, str], variant: int) -> str:
    """A photo prompt that names every appearance attribute, plus the variant's view."""
    person = {"woman": "woman", "man": "man", "person": "androgynous person"}[attrs["gender"]]
    who = f"{attrs['age']} {person}"
    hair_colour = attrs["hair_color"]
    hair = {
        "short": f"short {hair_colour} hair",
        "long": f"long straight {hair_colour} hair",
        "curly": f"curly {hair_colour} hair",
        "bun": f"{hair_colour} hair tied up in a bun",
        "spiky": f"spiky {hair_colour} hair",
    }[attrs["hair_style"]]
    parts = [
        f"studio portrait photo of {_article(who)} {who}",
        f"{attrs['skin_tone']} skin",
        f"{attrs['face_shape']} face",
        hair,
        f"{attrs['eye_color']} eyes",
    ]
    if attrs["facial_hair"] != "none":
        parts.append(f"{hair_colour} {attrs['facial_hair']}")
    if attrs["eyewear"] == "sunglasses":
        parts.append("wearing dark sunglasses")
    elif attrs["eyewear"] != "none":
        parts.append(f"wearing {attrs['eyewear']}")
    if attrs["headwear"] != "none":
        parts.append(f"wearing {_article(attrs['headwear'])} {attrs['headwear']}")
    if attrs["earrings"] != "none":
        parts.append(f"{'stud' if attrs['earrings'] == 'studs' else 'hoop'} earrings")
    style = attrs["clothing_style"]
    parts.append(f"wearing {_article(attrs['clothing_color'])} {attrs['clothing_color']} {style}")
    parts.append(f"plain {attrs['background']} background")
    parts.append(VARIANT_WORDS[variant % len(VARIANT_WORDS)])
    return ", ".join(parts)


def negative_prompt(attrs: dict[str, str]) -> str:
    """What the image must not show: defects, and the accessories the persona lacks."""
    absent = {
        "facial_hair": "beard, moustache",
        "eyewear": "glasses, sunglasses",
        "headwear": "hat, cap, beanie, headband",
        "earrings": "earrings",
    }
    extra = [words for key, words in absent.items() if attrs.get(key) == "none"]
    return ", ".join([NEGATIVE_BASE, *extra])


def noise_seed(job: RenderJob) -> int:
    """The generator seed of one job: a fixed function of (job.seed, job.variant)."""
    digest = hashlib.sha256(f"persona-bench:noise:{job.seed}:{job.variant}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1  # < 2**63, as torch wants


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()).rstrip(" .") or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


class DiffusersRenderer:
    """Portraits from a diffusers text-to-image pipeline, `batch_size` prompts at a time.

    `workers` is accepted for interface parity and ignored (one pipeline, one device).
    """

    def __init__(
        self,
        model: str | None = None,
        workers: int | None = 1,
        device: str | None = None,
        dtype: str | None = None,
        batch_size: int = 8,
        steps: int = 25,
        guidance_scale: float = 7.0,
        resolution: int | None = None,
        **_: object,
    ) -> None:
        if not model:
            raise UserError(f"the diffusers renderer needs a text-to-image model: {HELP}")
        if batch_size < 1 or steps < 1:
            raise UserError("batch_size and steps must be at least 1")
        import torch
        from diffusers import DiffusionPipeline
        from diffusers.utils import logging as diffusers_logging

        self.torch = torch
        self.model = model
        if device is None:
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = device
        if dtype is None:
            if device.startswith("cuda"):
                dtype = "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
            else:
                dtype = "float32"
        if dtype not in _DTYPES:
            raise UserError(f"unknown dtype {dtype!r}; use one of: float16, bfloat16, float32")
        self.dtype = getattr(torch, _DTYPES[dtype])
        self.batch_size = batch_size
        self.steps = steps
        self.guidance_scale = guidance_scale
        self.resolution = resolution
        verbosity = diffusers_logging.get_verbosity()
        diffusers_logging.set_verbosity_error()  # no config/deprecation chatter on load
        try:
            pipe = DiffusionPipeline.from_pretrained(model, dtype=self.dtype)
            pipe = pipe.to(device)
        except Exception as exc:  # any reason: missing, offline, not a pipeline, no memory
            raise UserError(
                f"cannot load text-to-image model {model!r}: {_one_line(exc)}; {HELP}"
            ) from exc
        finally:
            diffusers_logging.set_verbosity(verbosity)
        pipe.set_progress_bar_config(disable=True)
        self.pipe = pipe

    def _images(self, batch: Sequence[RenderJob]) -> list[Image.Image]:
        torch = self.torch
        size = {"height": self.resolution, "width": self.resolution} if self.resolution else {}
        generators = [torch.Generator("cpu").manual_seed(noise_seed(job)) for job in batch]
        with torch.inference_mode():
            out = self.pipe(
                prompt=[appearance_prompt(job.attrs, job.variant) for job in batch],
                negative_prompt=[negative_prompt(job.attrs) for job in batch],
                num_inference_steps=self.steps,
                guidance_scale=self.guidance_scale,
                generator=generators,
                output_type="pil",
                **size,
            )
        return list(out.images)

    def render(
        self, jobs: Sequence[RenderJob], progress: Callable[[int], None] | None = None
    ) -> Iterator[bytes]:
        for start in range(0, len(jobs), self.batch_size):
            batch = jobs[start : start + self.batch_size]
            for job, image in zip(batch, self._images(batch), strict=True):
                image = image.convert("RGB")
                w, h = image.size
                if w != h:  # centre square crop
                    side = min(w, h)
                    left, top = (w - side) // 2, (h - side) // 2
                    image = image.crop((left, top, left + side, top + side))
                if image.size != (job.size, job.size):
                    image = image.resize((job.size, job.size), Image.LANCZOS)
                buf = io.BytesIO()
                image.save(buf, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
                yield buf.getvalue()
            if progress:
                progress(len(batch))
