"""Cross-modal alignment loss for the pretraining stage: one persona, two routes, one state.

A fact learned through one modality can only be recalled through the other if both routes
lead to the same internal representation of the person. SFT on captions and on the pool's
both-modality questions does not make them meet in a tiny model trained from scratch (the
last-prompt-position states of a persona's portrait and of its description are no closer
than those of two different people). `AlignSFTTrainer` adds, to every SFT step, a
symmetric InfoNCE loss (as in CLIP) over a batch of pool personas: the language model's
state at the last prompt position of an image question must be closer to the state of a
text question about the *same* persona than to those of the other personas in the batch,
at every language-model layer. It only ever sees the disjoint pool.

`question="own"`: each side keeps its row's own question; the two sides ask different
questions, so only the person can match them, but the loss then also pushes the question
out of the state the answer is read from. `question="shared"`: one fact question per step
is asked of every persona on both sides (the row's question swapped for it): question text
still cannot match a pair, and the state may keep which fact is asked. This is the
condition transfer needs: the same question about the same person, through either route,
reaches the same state. `question="none"`: the question is cut off and the state after the
person alone (portrait or description) is aligned, so the loss never touches the state an
answer is read from. Measured (docs/findings.md, probe g1): it did not make the pretrained
model read questions, and carried less of the person than `own`. But that state (the
assistant turn right after the person) never occurs in a test prompt, where a question always
comes between. `question="person"`: the state at the last token of the person inside the
row's own prompt (the last image token; the full stop ending the description), before the
question. In a causal LM it is the same whatever is asked, and every question token and the
answer position can read it: the person is aligned where it is written, and the states the
answer is read from stay free to read the question.

`after`: the first `after` optimizer steps are SFT only, the loss is added from then on
(two phases, so that question reading could come first). Measured (docs/findings.md,
fourth session): after 300 SFT-only steps the states no longer tell the personas apart
and the loss stays at chance.

`centre`: subtract, per modality and layer, the batch mean before the cosine. What all
personas of a batch share (the question asked, the modality) then costs the loss nothing,
so it need not be pushed out of the state; only what tells the persons apart is aligned.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import torch
from datasets import Dataset
from torch.nn import functional as F

from persona_bench.persona_gen.vocab import APPEARANCE_QUESTIONS, QUESTIONS
from persona_bench.prompting import build_prompt, encode_prompts
from persona_bench.trainers.modality_split import SplitSFTTrainer

# Every question a pool row can end with, longest first (a suffix match finds the whole one).
KNOWN_QUESTIONS = sorted({q for qs in QUESTIONS.values() for q in qs}
                         | set(APPEARANCE_QUESTIONS.values()), key=len, reverse=True)


@dataclass(frozen=True)
class AlignConfig:
    """Weight of the alignment loss, personas per alignment batch, softmax temperature."""

    weight: float = 1.0
    personas: int = 8
    temperature: float = 0.1
    question: str = "own"  # one of trainers/cli.py ALIGN_QUESTIONS
    centre: bool = False
    layers: int = 0  # align the outputs of the first `layers` LM layers only (0: all)
    after: int = 0  # SFT-only optimizer steps before the alignment loss is switched on


def ask(row: dict, question: str) -> dict:
    """`row` with its user question (the end of its prompt) replaced by `question`."""
    content = row["messages"][0]["content"]
    own = own_question(content)
    messages = [{**row["messages"][0], "content": content[: -len(own)] + question},
                *row["messages"][1:]]
    return {**row, "messages": messages}


def pairs_by_persona(rows: Dataset) -> dict[str, dict[str, list[int]]]:
    """persona -> modality -> indices of its question rows (captions excluded)."""
    index: dict[str, dict[str, list[int]]] = {}
    for i, (pid, modality, fact) in enumerate(zip(rows["persona_id"], rows["modality"],
                                                  rows["fact"], strict=True)):
        if fact != "description":
            index.setdefault(pid, {}).setdefault(modality, []).append(i)
    return {pid: sides for pid, sides in index.items() if len(sides) == 2}


def own_question(content: str) -> str:
    """The known question a pool prompt ends with."""
    own = next((q for q in KNOWN_QUESTIONS if content.endswith(q)), None)
    if own is None:
        raise ValueError(f"no known question ends the pool prompt {content!r}")
    return own


def person_prefix(prompt: str, question: str) -> str:
    """The rendered prompt up to the last token of the person: cut before its question and
    the whitespace in front of it (a causal LM's states there do not depend on what follows)."""
    return prompt[: prompt.rindex(question)].rstrip()


def prompt_texts(processor, rows: list[dict]) -> list[str]:
    """The rendered prompts of the pool rows (their messages without the answer)."""
    return [build_prompt(processor, row["messages"][:-1], row["images"]) for row in rows]


def prompt_inputs(processor, rows: list[dict], prompts: list[str] | None = None):
    """Model inputs of the pool rows' prompts (`prompt_texts` unless given), left-padded."""
    return encode_prompts(processor, prompts or prompt_texts(processor, rows),
                          [row["images"] for row in rows])


def person_positions(tokenizer, prompts: list[str], rows: list[dict]) -> list[int]:
    """Per row, the (negative) position of the person's last token in its left-padded prompt:
    the tokens after it are the question and the turn's end, which hold no image, so counting
    them is safe from what a processor does to the front of a prompt (image tokens, a BOS)."""
    positions = []
    for prompt, row in zip(prompts, rows, strict=True):
        tail = prompt[len(person_prefix(prompt, own_question(row["messages"][0]["content"]))):]
        positions.append(-1 - len(tokenizer(tail, add_special_tokens=False).input_ids))
    return positions


class _Enough(Exception):
    """Raised by the hook of the last layer `layer_outputs` needs: the rest is not run."""


def layer_outputs(model, inputs, layers: int) -> list[torch.Tensor]:
    """The outputs of the first `layers` decoder layers of the language model (0: every
    layer, as `hidden_states[1:]`). With fewer layers than the model has, the forward stops
    after the last one needed: the upper layers and the LM head, which the loss never
    reaches, are not computed (same values and gradients, a cheaper alignment step)."""
    decoder_layers = getattr(model.get_decoder(), "layers", None)
    if not layers or decoder_layers is None or layers >= len(decoder_layers):
        hidden = model(**inputs, output_hidden_states=True, use_cache=False).hidden_states
        return list(hidden[1:][: layers or None])
    outputs: list[torch.Tensor] = []

    def keep(module, args, output) -> None:
        outputs.append(output[0] if isinstance(output, tuple) else output)
        if len(outputs) == layers:
            raise _Enough

    handles = [layer.register_forward_hook(keep) for layer in decoder_layers[:layers]]
    try:
        model(**inputs, use_cache=False)
    except _Enough:
        pass
    finally:  # removed before backward, so a checkpointed recompute never meets them
        for handle in handles:
            handle.remove()
    return outputs


class AlignSFTTrainer(SplitSFTTrainer):
    """`SplitSFTTrainer` whose training loss adds `AlignConfig.weight` x the alignment loss."""

    def __init__(self, *args, align_rows: Dataset, align: AlignConfig, seed: int = 0,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.align_rows = align_rows.select_columns(["messages", "images"])
        self.align_index = pairs_by_persona(align_rows)
        self.align = align
        self.align_rng = random.Random(f"align:{seed}")
        self.align_losses: list[float] = []
        if len(self.align_index) < 2:
            raise ValueError("the alignment loss needs at least 2 personas with image and "
                             "text rows in the pretraining split")

    def _last_states(self, model, rows: list[dict]) -> torch.Tensor:
        """(layers, batch, width) states at the last prompt position (prompts left-padded),
        or at the last token of the person for `question="person"`."""
        prompts = prompt_texts(self.processing_class, rows)
        inputs = prompt_inputs(self.processing_class, rows, prompts).to(model.device)
        if "pixel_values" in inputs:
            inputs["pixel_values"] = inputs["pixel_values"].to(model.dtype)
        at = (person_positions(self.processing_class.tokenizer, prompts, rows)
              if self.align.question == "person" else [-1] * len(rows))
        batch = torch.arange(len(rows), device=model.device)
        position = torch.tensor(at, device=model.device)
        return torch.stack([h[batch, position]
                            for h in layer_outputs(model, inputs, self.align.layers)])

    def alignment_loss(self, model) -> torch.Tensor:
        personas = self.align_rng.sample(sorted(self.align_index),
                                         min(self.align.personas, len(self.align_index)))
        sides = [[self.align_rows[self.align_rng.choice(self.align_index[p][m])]
                  for p in personas] for m in ("image", "text")]
        if self.align.question == "shared":
            asked = self.align_rng.choice(QUESTIONS[self.align_rng.choice(sorted(QUESTIONS))])
            sides = [[ask(row, asked) for row in rows] for rows in sides]
        elif self.align.question == "none":
            sides = [[ask(row, "") for row in rows] for rows in sides]
        a, b = (self._last_states(model, rows) for rows in sides)
        if self.align.centre:
            a, b = (x - x.mean(1, keepdim=True) for x in (a, b))
        a, b = F.normalize(a, dim=-1), F.normalize(b, dim=-1)
        logits = a @ b.transpose(1, 2) / self.align.temperature  # layers x batch x batch
        target = torch.arange(len(personas), device=logits.device).expand(len(logits), -1)
        flat = target.reshape(-1)
        return (F.cross_entropy(logits.flatten(0, 1), flat)
                + F.cross_entropy(logits.transpose(1, 2).flatten(0, 1), flat)) / 2

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        result = super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        if (not model.training or self.align.weight == 0
                or self.state.global_step < self.align.after):
            return result
        extra = self.align.weight * self.alignment_loss(model)
        self.align_losses.append(extra.item())
        if return_outputs:
            return result[0] + extra, result[1]
        return result + extra

    def log(self, logs: dict[str, float], *args, **kwargs) -> None:
        if "loss" in logs and self.align_losses:  # mean weighted alignment loss since last log
            logs["align_loss"] = round(sum(self.align_losses) / len(self.align_losses), 4)
            self.align_losses = []
        super().log(logs, *args, **kwargs)
