"""Generate the whole dataset folder: personas -> portraits -> rows -> Parquet + card."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

from tqdm.auto import tqdm

from persona_bench.atomic import atomic_dir
from persona_bench.errors import UserError
from persona_bench.experiments import DEFAULT_EXPERIMENTS, EXPERIMENTS, get_experiment
from persona_bench.persona_gen import __version__
from persona_bench.persona_gen.personas import Persona, sample_personas
from persona_bench.persona_gen.publish import CARD, card_text, content_hash, layout_of, write_split
from persona_bench.persona_gen.renderers import RENDERERS, RenderJob, get_renderer
from persona_bench.persona_gen.rows import (
    DEFAULT_PRETRAIN_TASKS,
    PRETRAIN_TASKS,
    GenContext,
    PersonaMedia,
    all_configs,
    make_descriptions,
)
from persona_bench.persona_gen.vocab import APPEARANCE, FACTS
from persona_bench.progress import bar_disabled

MIN_VARIANTS, MAX_VARIANTS = 2, 16


def _job_seed(seed: int, persona_id: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}:{persona_id}".encode()).digest()[:4], "big")


def check_output_dir(out: Path, overwrite: bool) -> None:
    """Refuse a non-empty or unwritable output folder before any work is done."""
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file; choose a folder path")
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise UserError(
                f"output folder {out} is not empty; choose another --out or pass --overwrite"
            )
        if not _is_our_dataset(out):
            raise UserError(f"--overwrite would delete {out}, which is not a dataset folder "
                            "written by `persona-bench gen` (no persona-bench card); choose "
                            "another --out, or empty it yourself")
    parent = out.resolve().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise UserError(f"--out {out} is under {parent}, which is a file; choose a folder path")
    if not os.access(parent, os.W_OK):
        raise UserError(f"cannot write to {parent}; choose a writable --out")


def is_generated(folder: str | Path) -> bool:
    """This stage's "is this step done?": the card is written last, by `generate_dataset`."""
    return (Path(folder) / CARD).is_file() and _is_our_dataset(Path(folder))


def _is_our_dataset(folder: Path) -> bool:
    from persona_bench.persona_gen.publish import read_metadata

    try:
        return read_metadata(folder).get("generator") == "persona-bench"
    except UserError:
        return False


def render_all(
    personas: list[Persona],
    variants: int,
    size: int,
    seed: int,
    renderer: str,
    renderer_options: dict,
    progress: bool,
) -> list[list[bytes]]:
    """Portraits of every persona: a list of `variants` PNGs each."""
    jobs = [
        RenderJob(
            tuple((k, p.appearance[k]) for k in APPEARANCE), v, size, _job_seed(seed, p.persona_id)
        )
        for p in personas
        for v in range(variants)
    ]
    engine = get_renderer(renderer, **renderer_options)
    with tqdm(total=len(jobs), desc="rendering portraits", unit="img",
              disable=bar_disabled(progress)) as bar:
        pngs = list(engine.render(jobs, progress=bar.update))
    return [pngs[i * variants : (i + 1) * variants] for i in range(len(personas))]


def generate_dataset(
    out: str | Path,
    num_personas: int = 100,
    seed: int = 0,
    image_size: int = 224,
    variants: int = 4,
    pretrain_personas: int = 200,
    pretrain_tasks: Sequence[str] = DEFAULT_PRETRAIN_TASKS,
    experiments: Sequence[str] = DEFAULT_EXPERIMENTS,
    augment_personas: int | None = None,
    renderer: str = "procedural",
    t2i_model: str | None = None,
    workers: int | None = None,
    overwrite: bool = False,
    progress: bool = True,
) -> Path:
    """Write the dataset folder `out` (atomically) and return its path."""
    out = Path(out)
    if renderer not in RENDERERS:
        raise UserError(f"unknown renderer {renderer!r}; use one of: {', '.join(RENDERERS)}")
    if not MIN_VARIANTS <= variants <= MAX_VARIANTS:
        raise UserError(
            f"--variants must be between {MIN_VARIANTS} and {MAX_VARIANTS} "
            f"(got {variants}): one is held out for testing"
        )
    if not 16 <= image_size <= 2048:
        raise UserError(f"--image-size must be between 16 and 2048 pixels (got {image_size})")
    unknown = [t for t in pretrain_tasks if t not in PRETRAIN_TASKS]
    if unknown or not pretrain_tasks:
        raise UserError(f"unknown or no pretraining tasks {unknown or list(pretrain_tasks)}; "
                        f"use some of: {', '.join(PRETRAIN_TASKS)}")
    for name in experiments:
        get_experiment(name)  # an unknown name fails here, before any work
    if not experiments:
        raise UserError(f"no experiments to write; use some of: {', '.join(EXPERIMENTS)}")
    check_output_dir(out, overwrite)
    workers = workers or os.cpu_count() or 1
    options = {
        "num_personas": num_personas,
        "pretrain_personas": pretrain_personas,
        "pretrain_tasks": list(pretrain_tasks),
        "image_size": image_size,
        "variants": variants,
        "renderer": renderer,
        "t2i_model": t2i_model,
    }
    if "augment" in experiments:  # recorded only when used: other datasets keep their card
        augment_personas = num_personas if augment_personas is None else augment_personas
        options["augment_personas"] = augment_personas
    people, pool = sample_personas(num_personas, seed, pretrain_personas)
    renderer_options = (
        {"workers": workers, "model": t2i_model}
        if renderer == "diffusers"
        else {"workers": workers}
    )
    images = render_all(
        people + pool, variants, image_size, seed, renderer, renderer_options, progress
    )
    media = [
        PersonaMedia(p, imgs, make_descriptions(p, variants, seed))
        for p, imgs in zip(people + pool, images, strict=True)
    ]

    counts: dict[str, dict[str, int]] = {}
    shards: dict[str, dict[str, list[Path]]] = {}
    with atomic_dir(out, overwrite=overwrite or out.exists()) as tmp:
        ctx = GenContext(media[:num_personas], media[num_personas:], seed, image_size, variants,
                         renderer, workers, augment_personas or 0)
        parts = list(all_configs(ctx, pretrain_tasks, experiments))
        for config, split, rows in tqdm(
            parts, desc="writing parquet", unit="split", disable=bar_disabled(progress)
        ):
            if not rows:
                continue
            shards.setdefault(config, {})[split] = write_split(tmp, config, split, rows)
            counts.setdefault(config, {})[split] = len(rows)
        layout = layout_of(shards, tmp)
        metadata = {
            "generator": "persona-bench",
            "generator_version": __version__,
            "seed": seed,
            "options": options,
            "facts": ["name", *FACTS],
            "appearance_attributes": list(APPEARANCE),
            "counts": counts,
            "content_hash": content_hash(tmp, layout),
        }
        (tmp / CARD).write_text(card_text(metadata, counts, layout), "utf-8")
    return out
