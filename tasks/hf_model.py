"""Any Hugging Face VLM (or plain causal LM) behind two batched calls: generate and score.

Framework-free on purpose: the lmms-eval backend (`tasks.persona_vlm`) and the likelihood
scorer (`tasks.likelihood`) both sit on top of `HFModel`, so prompts, padding and decoding
are defined once. Prompts are always the model's own chat template applied to one user
turn ``[image]*n + [text]`` -- the format TRL trains on -- so answers depend only on the
checkpoint, never on an evaluation framework's prompt conventions.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from PIL import Image

from persona_bench.checks import parse_bool
from persona_bench.errors import UserError
from persona_bench.families import family_of
from persona_bench.prompting import build_prompt
from persona_bench.visual_filter import attach_saved

logger = logging.getLogger(__name__)
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


@dataclass(frozen=True)
class Query:
    """One user turn: images first, then text (text-only when `images` is empty)."""

    text: str
    images: tuple[Image.Image, ...] = field(default=())


def plan_batches(
    lengths: Sequence[int], groups: Sequence[Hashable], batch_size: int
) -> list[list[int]]:
    """Indices in batches of at most `batch_size`: one group per batch, longest first."""
    order = sorted(range(len(lengths)), key=lambda i: (str(groups[i]), -lengths[i], i))
    batches: list[list[int]] = []
    for i in order:
        if batches and len(batches[-1]) < batch_size and groups[batches[-1][0]] == groups[i]:
            batches[-1].append(i)
        else:
            batches.append([i])
    return batches


def truncate_at(text: str, stops: Sequence[str]) -> str:
    cut = min((text.find(s) for s in stops if s and s in text), default=len(text))
    return text[:cut]


def _one_line(err: BaseException) -> str:
    lines = str(err).strip().splitlines()
    return f"{type(err).__name__}: {lines[0] if lines else ''}".rstrip(": ")


@dataclass(frozen=True)
class _ScoreBatch:
    """Rows to score, with their distinct prompts (`owner[row]` indexes `prompts`)."""

    prompts: list[str]
    images: list[tuple[Image.Image, ...]]
    owner: torch.Tensor
    texts: list[str]
    all_images: list[tuple[Image.Image, ...]]


class _StopOnStrings:
    """Stopping criterion: a row is done once its new text contains a stop string."""

    def __init__(self, tokenizer: Any, stops: Sequence[str], prompt_len: int) -> None:
        self.tokenizer, self.stops, self.prompt_len = tokenizer, list(stops), prompt_len

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor, **_: Any) -> torch.Tensor:
        new = input_ids[:, self.prompt_len :]
        texts = self.tokenizer.batch_decode(new, skip_special_tokens=True)
        done = [any(s in t for s in self.stops) for t in texts]
        return torch.tensor(done, dtype=torch.bool, device=input_ids.device)


def resolve_device(device: str | None) -> str:
    if device in (None, "", "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        raise UserError(f"device {device!r} requested but CUDA is not available; use device=cpu")
    return str(device)


def resolve_dtype(dtype: str | torch.dtype | None) -> str | torch.dtype:
    if dtype in (None, "", "auto"):
        return "auto"
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype not in DTYPES:
        raise UserError(f"unknown dtype {dtype!r}; choose auto or one of {', '.join(DTYPES)}")
    return DTYPES[dtype]


class HFModel:
    """A loaded checkpoint with its processor (or tokenizer), ready for batched calls."""

    def __init__(
        self,
        pretrained: str,
        *,
        device: str | None = None,
        dtype: str | torch.dtype | None = "auto",
        device_map: str | None = None,
        revision: str | None = None,
        trust_remote_code: bool = False,
        attn_implementation: str | None = None,
        apply_chat_template: bool = True,
        prefix_sharing: bool | None = None,
    ) -> None:
        from transformers import (
            AutoConfig,
            AutoModelForCausalLM,
            AutoModelForImageTextToText,
            AutoProcessor,
            AutoTokenizer,
        )
        from transformers.models.auto.modeling_auto import (
            MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES,
        )

        trust_remote_code = parse_bool(trust_remote_code, "trust_remote_code")
        apply_chat_template = parse_bool(apply_chat_template, "apply_chat_template")
        if prefix_sharing is not None:
            prefix_sharing = parse_bool(prefix_sharing, "prefix_sharing")
        self.pretrained = str(pretrained)
        self.prefix_sharing = prefix_sharing
        self.device = resolve_device(device)
        common: dict[str, Any] = {"revision": revision, "trust_remote_code": trust_remote_code}
        try:
            config = AutoConfig.from_pretrained(self.pretrained, **common)
        except Exception as err:
            raise UserError(
                f"cannot load model {self.pretrained!r} ({_one_line(err)}); pass a checkpoint "
                "folder with config.json and weights, or a Hub id available offline"
            ) from err
        self.multimodal = config.model_type in MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES
        # A VLM's quirks come from its family; one no family covers is refused in one line.
        self.family = family_of(config) if self.multimodal else None
        if self.prefix_sharing is None and self.family is not None:
            self.prefix_sharing = self.family.prefix_sharing
        model_cls = AutoModelForImageTextToText if self.multimodal else AutoModelForCausalLM
        load: dict[str, Any] = {**common, "dtype": resolve_dtype(dtype)}
        if attn_implementation:
            load["attn_implementation"] = attn_implementation
        if device_map:
            load["device_map"] = device_map
        try:
            self.model = model_cls.from_pretrained(self.pretrained, **load)
            processor_cls = AutoProcessor if self.multimodal else AutoTokenizer
            self.processor = processor_cls.from_pretrained(self.pretrained, **common)
        except Exception as err:
            raise UserError(
                f"cannot load model {self.pretrained!r} as {model_cls.__name__} "
                f"({_one_line(err)}); check that the folder holds a complete checkpoint "
                "with its processor/tokenizer files"
            ) from err
        if not device_map:
            self.model.to(self.device)
        # An unlearned checkpoint may carry an external visual-token module (CAGUL-style).
        self.visual_filter = attach_saved(self.model, self.pretrained) if self.multimodal \
            else None
        self.model.eval()
        self.tokenizer = getattr(self.processor, "tokenizer", self.processor)
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        template = getattr(self.processor, "chat_template", None) or self.tokenizer.chat_template
        self.use_chat_template = bool(apply_chat_template and template)

    # -- prompts -----------------------------------------------------------------------
    @property
    def input_device(self) -> torch.device:
        return self.model.device

    def _messages(self, text: str, n_images: int, answer: str | None = None) -> list[dict]:
        if self.multimodal:
            content: Any = [{"type": "image"}] * n_images + [{"type": "text", "text": text}]
        else:
            content = text
        messages = [{"role": "user", "content": content}]
        if answer is not None:
            reply: Any = [{"type": "text", "text": answer}] if self.multimodal else answer
            messages.append({"role": "assistant", "content": reply})
        return messages

    def _render(self, messages: list[dict], add_generation_prompt: bool) -> str:
        owner = self.processor if self.multimodal else self.tokenizer
        return owner.apply_chat_template(
            messages, add_generation_prompt=add_generation_prompt, tokenize=False
        )

    def prompt(self, query: Query) -> str:
        """The full model input text for one user turn (image placeholders unexpanded)."""
        if self.use_chat_template and self.multimodal:  # the prompt the SFT stage trains on
            return build_prompt(self.processor, query.text, list(query.images))
        if self.use_chat_template:
            return self._render(self._messages(query.text, 0), True)
        if not query.images:
            return query.text
        image_token = getattr(self.processor, "image_token", None) or "<image>"
        return "".join(f"{image_token}\n" for _ in query.images) + query.text

    def end_of_turn(self) -> str:
        """What the chat template writes after an assistant answer (e.g. ``<|im_end|>``)."""
        if not self.use_chat_template:
            return self.tokenizer.eos_token or ""
        marker = "\x00ANSWER\x00"
        full = self._render(self._messages("q", 0, answer=marker), False)
        return full.split(marker, 1)[1].rstrip() if marker in full else ""

    def _encode(self, texts: list[str], images: list[Sequence[Image.Image]], side: str) -> Any:
        # One image list per prompt: processors such as Gemma 3's read a flat list as one
        # prompt's images.
        nested = [[img.convert("RGB") for img in imgs] for imgs in images]
        flat = [img for imgs in nested for img in imgs]
        if self.family is not None and not self.family.text_only and not all(images):
            raise UserError(
                f"model {self.pretrained!r} ({self.family.name}) cannot answer text-only "
                "prompts; evaluate it on image questions only"
            )
        if flat and not self.multimodal:
            raise UserError(
                f"model {self.pretrained!r} is a text-only model but the task gives images; "
                "evaluate it on text tasks only (e.g. the lm-eval pbench_text_* tasks)"
            )
        bos = self.tokenizer.bos_token
        kwargs: dict[str, Any] = {
            "return_tensors": "pt",
            "padding": True,
            "add_special_tokens": not (bos and texts and texts[0].startswith(bos)),
        }
        self.tokenizer.padding_side = side
        if self.multimodal:
            batch = self.processor(text=texts, images=nested if flat else None, **kwargs)
        else:
            batch = self.tokenizer(texts, **kwargs)
        device = self.input_device
        return batch.to(device, dtype=self.model.dtype) if flat else batch.to(device)

    # -- the two calls -------------------------------------------------------------------
    @torch.inference_mode()
    def generate(
        self,
        queries: Sequence[Query],
        *,
        max_new_tokens: int = 16,
        until: Sequence[str] = (),
        temperature: float = 0.0,
        top_p: float | None = None,
        num_beams: int = 1,
    ) -> list[str]:
        """Greedy (temperature 0) continuations, cut at the first stop string."""
        from transformers import StoppingCriteriaList

        inputs = self._encode(
            [self.prompt(q) for q in queries], [q.images for q in queries], "left"
        )
        prompt_len = inputs["input_ids"].shape[1]
        options: dict[str, Any] = {
            "max_new_tokens": int(max_new_tokens),
            "num_beams": int(num_beams),
            "pad_token_id": self.tokenizer.pad_token_id,
        }
        if temperature and temperature > 0:
            options.update(do_sample=True, temperature=float(temperature), top_p=top_p)
        else:
            options.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        stops = [s for s in until if s]
        if stops:
            options["stopping_criteria"] = StoppingCriteriaList(
                [_StopOnStrings(self.tokenizer, stops, prompt_len)]
            )
        output = self.model.generate(**inputs, **options)
        texts = self.tokenizer.batch_decode(output[:, prompt_len:], skip_special_tokens=True)
        return [truncate_at(text, stops) for text in texts]

    @torch.inference_mode()
    def score(
        self, queries: Sequence[Query], continuations: Sequence[str]
    ) -> list[tuple[float, bool]]:
        """(sum of log-probs of `continuation` after the prompt, whether it is greedy).

        Rows that repeat a query (a candidate set) share its prompt: each distinct prompt
        (with its images) runs once, its KV cache is copied to its candidates, and the
        candidates run as one batch. The first call checks that against scoring the full
        sequences and falls back to those for models where the two disagree (e.g.
        non-standard position ids); set `prefix_sharing` to skip or force the check.
        """
        prompts = [self.prompt(q) for q in queries]
        keys = [(p, tuple(map(id, q.images))) for p, q in zip(prompts, queries, strict=True)]
        index = {key: i for i, key in enumerate(dict.fromkeys(keys))}
        batch = _ScoreBatch(
            prompts=[key[0] for key in index],
            images=[queries[keys.index(key)].images for key in index],
            owner=torch.tensor([index[key] for key in keys]),
            texts=[p + c for p, c in zip(prompts, continuations, strict=True)],
            all_images=[q.images for q in queries],
        )
        if self.prefix_sharing is False:
            return self._score_full(batch)
        try:
            shared = self._score_shared(batch)
        except Exception as err:  # noqa: BLE001 - any model-specific failure: full sequences
            logger.warning("prefix sharing failed (%s); scoring full sequences", _one_line(err))
            self.prefix_sharing = False
            return self._score_full(batch)
        if self.prefix_sharing is None:
            full = self._score_full(batch)
            pairs = zip(shared, full, strict=True)
            self.prefix_sharing = all(abs(a - b) <= 0.02 * (1 + abs(b)) for (a, _), (b, _) in pairs)
            if not self.prefix_sharing:
                logger.warning("prefix sharing disagrees with full sequences; not using it")
            return full
        return shared

    def _score_full(self, batch: _ScoreBatch) -> list[tuple[float, bool]]:
        """Reference path: every row's prompt + continuation in one forward pass."""
        context = self._encode(batch.prompts, batch.images, "right")
        starts = context["attention_mask"].sum(1).cpu()[batch.owner]
        full = self._encode(batch.texts, batch.all_images, "right")
        logits = self.model(**full).logits
        counts = (full["attention_mask"].sum(1).cpu() - starts).clamp(min=0)
        rows = torch.repeat_interleave(torch.arange(len(batch.texts)), counts)
        positions = torch.cat([torch.arange(s, s + n) for s, n in zip(starts, counts, strict=True)])
        rows_d, positions_d = rows.to(logits.device), positions.to(logits.device)
        logprobs = torch.log_softmax(logits[rows_d, positions_d - 1].float(), dim=-1)
        tokens = full["input_ids"][rows_d, positions_d]
        picked = logprobs.gather(-1, tokens[:, None]).squeeze(-1).cpu()
        misses = (logprobs.argmax(-1) != tokens).float().cpu()
        totals = torch.zeros(len(batch.texts)).index_add_(0, rows, picked)
        wrong = torch.zeros(len(batch.texts)).index_add_(0, rows, misses)
        return [(float(t), bool(w == 0)) for t, w in zip(totals, wrong, strict=True)]

    def _continuation_ids(self, batch: _ScoreBatch) -> list[list[int]]:
        """Continuation tokens as they fall in the full text (tokenizer only, no images)."""
        bos = self.tokenizer.bos_token
        special = not (bos and batch.prompts[0].startswith(bos))
        prompt_ids = self.tokenizer(batch.prompts, add_special_tokens=special)["input_ids"]
        full_ids = self.tokenizer(batch.texts, add_special_tokens=special)["input_ids"]
        return [ids[len(prompt_ids[o]) :] for ids, o in zip(full_ids, batch.owner.tolist(),
                                                            strict=True)]

    def _score_shared(self, batch: _ScoreBatch) -> list[tuple[float, bool]]:
        """Fast path: prompts once, then all continuations on copies of their KV cache."""
        cont = self._continuation_ids(batch)
        context = self._encode(batch.prompts, batch.images, "left")
        out = self.model(**context, use_cache=True, logits_to_keep=1)
        owner = batch.owner.to(out.logits.device)
        first = torch.log_softmax(out.logits[:, -1].float(), dim=-1)[owner]
        width = max(1, max(len(ids) for ids in cont))
        tokens = torch.full((len(cont), width), self.tokenizer.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(cont), width), dtype=torch.long)
        for row, ids in enumerate(cont):
            tokens[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
            mask[row, : len(ids)] = 1
        tokens, mask = tokens.to(owner.device), mask.to(owner.device)
        picked, best = first.gather(1, tokens[:, :1]), first.argmax(-1, keepdim=True)
        if width > 1:
            cache = out.past_key_values
            cache.batch_select_indices(owner)
            attention = torch.cat([context["attention_mask"][owner], mask[:, :-1]], dim=1)
            logits = self.model(input_ids=tokens[:, :-1], attention_mask=attention,
                                past_key_values=cache).logits
            rest = torch.log_softmax(logits.float(), dim=-1)
            picked = torch.cat([picked, rest.gather(-1, tokens[:, 1:, None]).squeeze(-1)], 1)
            best = torch.cat([best, rest.argmax(-1)], dim=1)
        totals = (picked * mask).sum(1).cpu()
        greedy = ((best == tokens) | (mask == 0)).all(1).cpu()
        return [(float(t), bool(g)) for t, g in zip(totals, greedy, strict=True)]

    def describe(self) -> dict[str, Any]:
        """Settings that belong in every result."""
        return {
            "pretrained": self.pretrained,
            "class": type(self.model).__name__,
            "dtype": str(self.model.dtype).removeprefix("torch."),
            "device": str(self.input_device),
            "chat_template": self.use_chat_template,
        }
