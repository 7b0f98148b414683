"""Look at a generated dataset: counts, answer balance, sample rows, a contact sheet."""

from __future__ import annotations

import io
import textwrap
from collections import Counter
from pathlib import Path

from datasets import load_dataset
from PIL import Image, ImageDraw, ImageFont

from persona_bench.atomic import write_bytes_atomic
from persona_bench.errors import UserError
from persona_bench.persona_gen.publish import check_parquet, load_options
from persona_bench.persona_gen.schema import CONFIG_SPLITS, SFT_CONFIGS


def load_split(data: str | Path, config: str, split: str):
    """`load_dataset(data, config, split=split)` with clear errors for wrong names."""
    if config not in CONFIG_SPLITS:
        raise UserError(f"unknown config {config!r}; choose one of: {', '.join(CONFIG_SPLITS)}")
    if split not in CONFIG_SPLITS[config]:
        raise UserError(f"config {config!r} has no split {split!r}; choose one of: "
                        f"{', '.join(CONFIG_SPLITS[config])}")
    path = Path(data)
    if str(data).startswith((".", "/")) and not path.is_dir():
        raise UserError(f"dataset folder {data} not found; create it with `persona-bench gen`")
    options = load_options(data)  # verified against the card first (UserError if not)
    if Path(data).is_dir():
        check_parquet(data, config)
    try:
        return load_dataset(str(data), config, split=split, **options)
    except Exception as err:  # noqa: BLE001 - datasets/pyarrow raise many types for bad files
        first = (str(err).strip().splitlines() or [type(err).__name__])[0][:200]
        raise UserError(f"cannot read {config}/{split} of {data} ({type(err).__name__}: "
                        f"{first}); a shard is truncated or corrupt: regenerate it with "
                        "`persona-bench gen`") from None


def check_images(ds, where: str) -> int:
    """Decode every image of a split; the first row that does not decode is an error."""
    if "images" not in ds.column_names:
        return 0
    from datasets import Image as ImageFeature
    from datasets import List

    raw = ds.select_columns(["images", *(["id"] if "id" in ds.column_names else
                                           ["persona_id"])])
    raw = raw.cast_column("images", List(ImageFeature(decode=False)))
    count = 0
    for number, row in enumerate(raw):
        for j, image in enumerate(row["images"]):
            try:
                with Image.open(io.BytesIO(image["bytes"] or b"")) as img:
                    img.load()
            except Exception as err:  # noqa: BLE001 - PIL raises many types for bad bytes
                label = row.get("id") or row.get("persona_id")
                raise UserError(f"{where} row {number} ({label}): image {j} does not decode "
                                f"({type(err).__name__}); regenerate the dataset with "
                                "`persona-bench gen`") from None
            count += 1
    return count


def summary(data: str | Path, configs: list[str], split: str | None, samples: int = 2) -> str:
    """Counts per config/split/fact, answer balance and a few sample rows, as text."""
    lines: list[str] = []
    for config in configs:
        for name in [split] if split else CONFIG_SPLITS[config]:
            ds = load_split(data, config, name)
            images = check_images(ds, f"{data} {config}/{name}")
            lines.append(f"== {config}/{name}: {len(ds)} rows, {images} images decode")
            if config == "personas":
                for row in ds.select(range(min(samples, len(ds)))):
                    lines.append(f"  {row['persona_id']} {row['name']}: "
                                 + ", ".join(f"{k}={v}" for k, v in row["facts"].items()
                                             if k != "name"))
                continue
            if config in SFT_CONFIGS:  # the train rows of SFT_CONFIGS[config], reshaped for TRL
                lines.append(f"  prompt/completion copy of {SFT_CONFIGS[config]}/{name}")
                continue
            cols = ds.select_columns(["fact", "answer", "modality"])
            facts = Counter(cols["fact"])
            by_fact: dict[str, Counter] = {}
            for fact, answer in zip(cols["fact"], cols["answer"], strict=True):
                by_fact.setdefault(fact, Counter())[answer] += 1
            lines.append("  modality: " + ", ".join(f"{k}={v}" for k, v in
                                                    sorted(Counter(cols["modality"]).items())))
            for fact, n in sorted(facts.items()):
                answers = by_fact[fact]
                top, top_n = answers.most_common(1)[0]
                lines.append(f"  {fact:<14} {n:>6} rows  {len(answers):>4} answers  "
                             f"max share {top_n / n:6.1%} ({top})")
            for row in ds.select_columns(["id", "question", "answer"]).select(
                    range(min(samples, len(ds)))):
                question = textwrap.shorten(row["question"], 110)
                lines.append(f"  e.g. [{row['id']}] {question} -> {row['answer']}")
    return "\n".join(lines)


def contact_sheet(data: str | Path, out: str | Path, count: int = 12, columns: int = 4,
                  tile: int = 224) -> Path:
    """A PNG grid of portraits (all variants side by side) with each description."""
    ds = load_split(data, "personas", "train")
    rows = ds.select(range(min(count, len(ds))))
    font = ImageFont.load_default()
    variants = len(rows[0]["images"])
    thumb = tile // 2
    cell_w, text_h = max(tile, thumb * variants), 150
    cell_h = tile + thumb + text_h
    lines_per_cell = 10
    grid_rows = (len(rows) + columns - 1) // columns
    sheet = Image.new("RGB", (columns * cell_w, grid_rows * cell_h), "white")
    draw = ImageDraw.Draw(sheet)
    for i, row in enumerate(rows):
        x, y = (i % columns) * cell_w, (i // columns) * cell_h
        images = row["images"]
        sheet.paste(images[-1].convert("RGB").resize((tile, tile)), (x, y))
        for v, img in enumerate(images):
            sheet.paste(img.convert("RGB").resize((thumb, thumb)), (x + v * thumb, y + tile))
        text = f"{row['persona_id']} {row['name']}: {row['descriptions'][-1]}"
        wrapped = textwrap.wrap(text, width=cell_w // 6)[:lines_per_cell]
        draw.multiline_text((x + 4, y + tile + thumb + 2), "\n".join(wrapped), fill="black",
                            font=font, spacing=2)
    buf = io.BytesIO()
    sheet.save(buf, format="PNG")
    write_bytes_atomic(out, buf.getvalue())
    return Path(out)
