"""Cost of one alignment-loss step (trainers/align.py) with the early stop vs the full forward.

    python bench/bench_align.py                 # xs, the demo's --align-layers 2, 8 personas
    python bench/bench_align.py --layers 1 --size s

`layer_outputs` stops the language model after the last layer the loss reads; the full
forward also runs the upper layers and the LM head. Both are timed side by side in one
run (forward + backward of the two sides' states, alternating, after a warm-up) and the
table gives their ratio; the states are checked equal first.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch
from datasets import load_dataset

from persona_bench.persona_gen.generate import generate_dataset
from persona_bench.trainers import tiny_vlm
from persona_bench.trainers.align import layer_outputs, pairs_by_persona, prompt_inputs


def pool_inputs(data: Path, processor, personas: int) -> list[dict]:
    """Model inputs of one alignment step: `personas` image prompts and as many text ones."""
    pool = load_dataset(str(data), "pretrain", split="train")
    index = pairs_by_persona(pool)
    return [prompt_inputs(processor, [pool[index[p][m][0]] for p in sorted(index)[:personas]])
            for m in ("image", "text")]


def full_forward(model, inputs, layers: int) -> list[torch.Tensor]:
    hidden = model(**inputs, output_hidden_states=True, use_cache=False).hidden_states
    return list(hidden[1:][:layers])


def step_seconds(model, sides, read, layers: int) -> float:
    start = time.perf_counter()
    states = [torch.stack([h[:, -1] for h in read(model, inputs, layers)]) for inputs in sides]
    (states[0] * states[1]).sum().backward()
    model.zero_grad(set_to_none=True)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="xs")
    parser.add_argument("--layers", type=int, default=2, help="--align-layers")
    parser.add_argument("--personas", type=int, default=8)
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    model, processor = tiny_vlm.build(args.size, patch_size=16)
    model.train()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        generate_dataset(data, num_personas=4, seed=0, image_size=64, variants=2,
                         pretrain_personas=args.personas, pretrain_tasks=["appearance", "facts"])
        sides = pool_inputs(data, processor, args.personas)
    early = [layer_outputs(model, inputs, args.layers) for inputs in sides]
    full = [full_forward(model, inputs, args.layers) for inputs in sides]
    same = all(torch.equal(a, b) for e, f in zip(early, full, strict=True)
               for a, b in zip(e, f, strict=True))
    times = {"early stop": [], "full forward": []}
    for step in range(args.steps + 2):  # alternate, so drift hits both; 2 warm-up steps
        for name, read in (("early stop", layer_outputs), ("full forward", full_forward)):
            seconds = step_seconds(model, sides, read, args.layers)
            if step >= 2:
                times[name].append(seconds)
    median = {name: sorted(ts)[len(ts) // 2] for name, ts in times.items()}
    print(f"alignment step, {args.size}, first {args.layers} of "
          f"{len(model.get_decoder().layers)} LM layers, {args.personas} personas x 2 "
          f"modalities, {args.steps} steps each, {torch.get_num_threads()} threads; "
          f"states equal: {same}\n")
    print("| state reader | median s / step | vs full forward |\n|---|---|---|")
    for name, seconds in median.items():
        print(f"| {name} | {seconds:.4f} | {seconds / median['full forward']:.2f} |")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
