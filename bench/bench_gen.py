"""Portrait generation speed: the procedural renderer against the PNG-encode floor.

    python bench/bench_gen.py --personas 200 --variants 4 --size 224

Renders personas x variants portraits (appearances sampled from the vocabulary) on one
process and on all cores, then re-encodes the very same images as PNG with the same
settings: no renderer can beat that floor, since it has to encode them too. Each
measurement is repeated (`--repeats`, interleaved) and the fastest run is kept, which
filters out noise from other processes. `x floor` is time / floor time at the same
worker count (the goal: <= 2).
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import os
import platform
import random
import sys
import time

import PIL
from PIL import Image

from persona_bench.persona_gen.renderers import RenderJob, procedural
from persona_bench.persona_gen.renderers.procedural import PNG_COMPRESS_LEVEL, ProceduralRenderer
from persona_bench.persona_gen.vocab import APPEARANCE

_IMAGES: list[Image.Image] = []  # decoded portraits, inherited by forked floor workers


def make_jobs(personas: int, variants: int, size: int, seed: int) -> list[RenderJob]:
    rng = random.Random(seed)
    jobs = []
    for _ in range(personas):
        appearance = tuple((key, rng.choice(values)) for key, values in APPEARANCE.items())
        persona_seed = rng.randrange(2**31)
        jobs += [RenderJob(appearance, v, size, persona_seed) for v in range(variants)]
    return jobs


def _encode(i: int) -> int:
    buf = io.BytesIO()
    _IMAGES[i].save(buf, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    return buf.tell()


def time_render(jobs: list[RenderJob], workers: int) -> tuple[float, list[bytes]]:
    procedural._identity.cache_clear()  # a fresh process builds every identity once
    start = time.perf_counter()
    pngs = list(ProceduralRenderer(workers=workers).render(jobs))
    return time.perf_counter() - start, pngs


def time_floor(n: int, workers: int) -> float:
    start = time.perf_counter()
    if workers == 1:
        for i in range(n):
            _encode(i)
    else:
        chunksize = max(1, min(64, n // (workers * 8)))
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            for _ in pool.imap(_encode, range(n), chunksize):
                pass
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--personas", type=int, default=200)
    parser.add_argument("--variants", type=int, default=4)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="processes for the all-cores rows (default: all cores)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    jobs = make_jobs(args.personas, args.variants, args.size, args.seed)
    n = len(jobs)
    worker_counts = sorted({1, args.workers})
    best: dict[tuple[str, int], float] = {}
    pngs: list[bytes] = []
    for r in range(args.repeats):
        for workers in worker_counts:
            seconds, out = time_render(jobs, workers)
            best[("render", workers)] = min(seconds, best.get(("render", workers), seconds))
            if pngs and out != pngs:
                raise SystemExit(f"renders differ between runs (workers={workers})")
            pngs = out
        if r == 0:
            _IMAGES[:] = [Image.open(io.BytesIO(png)).convert("RGB") for png in pngs]
            for im in _IMAGES:
                im.load()
        for workers in worker_counts:
            seconds = time_floor(n, workers)
            best[("floor", workers)] = min(seconds, best.get(("floor", workers), seconds))

    mean_kib = sum(map(len, pngs)) / n / 1024
    print(f"{args.personas} personas x {args.variants} variants = {n} portraits of "
          f"{args.size}x{args.size} px; PNG compress_level={PNG_COMPRESS_LEVEL}, "
          f"{mean_kib:.1f} KiB each; best of {args.repeats}")
    print(f"Python {platform.python_version()}, Pillow {PIL.__version__}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    print()
    print(f"| {'what':<28} | workers | seconds | images/s | personas/s | x floor |")
    print(f"|{'-' * 30}|---------|---------|----------|------------|---------|")
    rows = (("render", "procedural render + encode"), ("floor", "PNG encode only (floor)"))
    for what, label in rows:
        for workers in worker_counts:
            seconds = best[(what, workers)]
            ratio = seconds / best[("floor", workers)]
            print(f"| {label:<28} | {workers:>7} | {seconds:7.2f} | {n / seconds:8.0f} | "
                  f"{args.personas / seconds:10.1f} | {ratio:7.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
