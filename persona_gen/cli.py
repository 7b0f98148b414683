"""`persona-bench gen | push | inspect`."""

from __future__ import annotations

import os
import time
from pathlib import Path

from persona_bench.argparsing import ArgumentParser
from persona_bench.checks import non_negative_int, positive_int
from persona_bench.errors import UserError
from persona_bench.experiments import DEFAULT_EXPERIMENTS, EXPERIMENTS
from persona_bench.persona_gen.renderers import RENDERERS
from persona_bench.persona_gen.rows import DEFAULT_PRETRAIN_TASKS, PRETRAIN_TASKS
from persona_bench.persona_gen.schema import CONFIG_SPLITS


def gen_main(argv: list[str]) -> int:
    parser = ArgumentParser(
        prog="persona-bench gen",
        description="Generate the persona dataset as a Hub-style folder (Parquet + card).")
    parser.add_argument("--out", required=True, help="output folder (must be new or empty)")
    parser.add_argument("--num-personas", type=positive_int("--num-personas"), default=100,
                        help="target personas")
    parser.add_argument("--pretrain-personas", type=non_negative_int("--pretrain-personas"),
                        default=200,
                        help="size of the disjoint pool for alignment pretraining (0: none)")
    parser.add_argument("--pretrain-tasks", nargs="+", default=list(DEFAULT_PRETRAIN_TASKS),
                        metavar="TASK", help="rows of the `pretrain` config, some of: "
                        f"{', '.join(PRETRAIN_TASKS)} (default: %(default)s)")
    parser.add_argument("--experiments", nargs="+", default=list(DEFAULT_EXPERIMENTS),
                        metavar="NAME", help="experiments whose configs to write, some of: "
                        f"{', '.join(EXPERIMENTS)} (default: %(default)s)")
    parser.add_argument("--augment-personas", type=non_negative_int("--augment-personas"),
                        help="disjoint pool of the augment experiment (default: --num-personas)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--renderer", default="procedural", help=" | ".join(RENDERERS))
    parser.add_argument("--t2i-model", help="diffusers pipeline id or folder (diffusers renderer)")
    parser.add_argument("--image-size", type=positive_int("--image-size"), default=224)
    parser.add_argument("--variants", type=positive_int("--variants"), default=4,
                        help="image variants / description paraphrases per persona (last held out)")
    parser.add_argument("--workers", type=positive_int("--workers"), default=os.cpu_count(),
                        help="rendering processes (default: all cores)")
    parser.add_argument("--overwrite", action="store_true", help="replace a non-empty --out")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)

    from persona_bench.persona_gen.generate import generate_dataset
    from persona_bench.persona_gen.publish import read_metadata

    start = time.perf_counter()
    out = generate_dataset(
        args.out, num_personas=args.num_personas, seed=args.seed, image_size=args.image_size,
        variants=args.variants, pretrain_personas=args.pretrain_personas,
        pretrain_tasks=args.pretrain_tasks, experiments=args.experiments,
        augment_personas=args.augment_personas,
        renderer=args.renderer, t2i_model=args.t2i_model, workers=args.workers,
        overwrite=args.overwrite, progress=not args.quiet)
    meta = read_metadata(out)
    rows = sum(n for splits in meta["counts"].values() for n in splits.values())
    print(f"wrote {out}: {args.num_personas} personas, {rows} rows, "
          f"{meta['content_hash'][:19]}... in {time.perf_counter() - start:.1f}s")
    print(f"load it with: datasets.load_dataset({str(out)!r}, 'img2text')")
    return 0


def push_main(argv: list[str]) -> int:
    parser = ArgumentParser(
        prog="persona-bench push", description="Upload a generated dataset folder to the Hub.")
    parser.add_argument("data", help="folder written by `persona-bench gen`")
    parser.add_argument("--repo-id", required=True, help="ORG/NAME on the Hub")
    parser.add_argument("--private", action="store_true")
    parser.add_argument("--revision", help="branch to push to")
    args = parser.parse_args(argv)

    from huggingface_hub import HfApi

    from persona_bench.persona_gen.publish import read_metadata

    meta = read_metadata(args.data)  # refuses folders that are not our datasets
    api = HfApi()
    try:
        api.create_repo(args.repo_id, repo_type="dataset", private=args.private, exist_ok=True)
        info = api.upload_folder(
            folder_path=args.data, repo_id=args.repo_id, repo_type="dataset",
            revision=args.revision, allow_patterns=["README.md", "*/*.parquet"],
            commit_message=f"persona-bench dataset {meta['content_hash'][:19]}")
    except Exception as err:  # noqa: BLE001 - network/auth failures become one line
        raise UserError(f"upload to {args.repo_id} failed: {type(err).__name__}: "
                        f"{str(err).splitlines()[0] if str(err) else ''}; check `hf auth login`, "
                        "the repo id and your network") from None
    print(f"pushed {args.data} to https://huggingface.co/datasets/{args.repo_id} ({info})")
    return 0


def inspect_main(argv: list[str]) -> int:
    parser = ArgumentParser(
        prog="persona-bench inspect",
        description="Print a summary of a dataset and write a contact sheet of portraits.")
    parser.add_argument("data", help="dataset folder or Hub id")
    parser.add_argument("--config", action="append", choices=None,
                        help=f"config(s) to summarise (default: all of {', '.join(CONFIG_SPLITS)})")
    parser.add_argument("--split", help="only this split")
    parser.add_argument("--samples", type=non_negative_int("--samples"), default=2,
                        help="sample rows per split")
    parser.add_argument("--sheet", help="contact sheet PNG path (default: DATA/contact_sheet.png "
                        "for a folder, ./contact_sheet.png otherwise)")
    parser.add_argument("--count", type=positive_int("--count"), default=12,
                        help="personas on the contact sheet")
    args = parser.parse_args(argv)

    from persona_bench.persona_gen.inspect_data import contact_sheet, summary
    from persona_bench.persona_gen.publish import read_metadata

    meta = read_metadata(args.data)
    configs = args.config or [c for c in CONFIG_SPLITS if c in meta["counts"]]
    for config in configs:
        if config not in CONFIG_SPLITS:
            raise UserError(f"unknown config {config!r}; choose one of: {', '.join(CONFIG_SPLITS)}")
    print(f"{args.data}: generator {meta['generator_version']}, seed {meta['seed']}, "
          f"{meta['content_hash']}")
    print(f"options: {meta['options']}")
    print(summary(args.data, configs, args.split, args.samples))
    default = Path(args.data) / "contact_sheet.png" if Path(args.data).is_dir() else Path(
        "contact_sheet.png")
    sheet = contact_sheet(args.data, args.sheet or default, count=args.count)
    print(f"contact sheet: {sheet}")
    return 0
