"""A frozen-model unlearning module after CAGUL (Bhaila et al., arXiv 2510.07567).

The VLM's weights never change. A small external module sits where the image tokens enter
the language model and

1. **detects** forget-set identities: an MLP on the mean of the image's visual tokens gives
   the probability that the portrait shows a forget-set person (the gate);
2. **selects** the least-attended visual tokens: the share `ratio` of image tokens that the
   text of the prompt attends to least, by the cross-modal attention of the language
   model's first layer (its own q/k projections on the normed input embeddings, the mean
   of the prompt's text tokens as the query, averaged over heads; rotary positions are not
   applied: a cheap approximation of the paper's attention maps);
3. **transforms** only those tokens: ``token + gate * encoder(token)`` (the encoder's last
   layer starts at zero, so an untrained module changes nothing).

Wiring (`attach`): a forward pre-hook on the VLM stores the `input_ids` (where the image
tokens are); a forward pre-hook on the language model rewrites `inputs_embeds` before its
first layer. Generation (lmms-eval, `persona_vlm`) and likelihood scoring both go through
`HFModel`, which attaches a saved module (`visual_filter.safetensors` +
`visual_filter.json` beside the checkpoint) after loading: the prefill step carries the
image tokens and is filtered, later decoding steps have none and pass through. Text-only
questions have no image tokens, so the module cannot act on them: by construction its
text-modality forgetting is whatever the frozen model does anyway, the number the
unlearning experiment's cross-modal gap measures.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch
from torch import nn

WEIGHTS, CONFIG = "visual_filter.safetensors", "visual_filter.json"
SCHEMA = "persona-bench/visual-filter/1"


class VisualTokenFilter(nn.Module):
    """Detector + encoder over the visual tokens of a `hidden`-wide language model."""

    def __init__(self, hidden: int, ratio: float = 0.5, width: int = 64) -> None:
        super().__init__()
        self.hidden, self.ratio, self.width = hidden, ratio, width
        self.detector = nn.Sequential(nn.Linear(hidden, width), nn.GELU(), nn.Linear(width, 1))
        self.encoder = nn.Sequential(nn.Linear(hidden, width), nn.GELU(), nn.Linear(width, hidden))
        nn.init.zeros_(self.encoder[-1].weight)
        nn.init.zeros_(self.encoder[-1].bias)
        self.input_ids: torch.Tensor | None = None  # set by the VLM's pre-hook
        self.prompt_mask: torch.Tensor | None = None  # set by training (answer tokens excluded)
        self.last_logits: torch.Tensor | None = None  # detector logits of the last batch
        self.attention_mask: torch.Tensor | None = None  # set by the VLM's pre-hook
        self.image_token_id: int = -1
        self.first_layer: nn.Module | None = None  # the LM's layer 0 (not a submodule)
        self.handles: list = []

    def settings(self) -> dict:
        return {"schema": SCHEMA, "hidden": self.hidden, "ratio": self.ratio,
                "width": self.width}

    def attention_to_visual(self, embeds: torch.Tensor, visual: torch.Tensor,
                            text: torch.Tensor) -> torch.Tensor:
        """(batch, positions) attention of the mean text token to each position (layer 0)."""
        layer = self.first_layer
        attn = layer.self_attn
        h = layer.input_layernorm(embeds)
        weights = text.unsqueeze(-1).to(h.dtype)
        query = (h * weights).sum(1) / weights.sum(1).clamp(min=1)
        heads = attn.config.num_attention_heads
        kv_heads = getattr(attn.config, "num_key_value_heads", heads)
        dim = attn.head_dim
        q = attn.q_proj(query).view(len(h), heads, dim)
        k = attn.k_proj(h).view(len(h), h.shape[1], kv_heads, dim)
        k = k.repeat_interleave(heads // kv_heads, dim=2)
        scores = torch.einsum("bhd,bphd->bhp", q, k) / math.sqrt(dim)
        scores = scores.masked_fill(~(visual | text).unsqueeze(1), float("-inf"))
        return scores.softmax(-1).mean(1)

    def forward(self, embeds: torch.Tensor, input_ids: torch.Tensor,
                attention_mask: torch.Tensor | None) -> torch.Tensor:
        visual = input_ids == self.image_token_id
        has_image = visual.any(-1)
        if not has_image.any():
            return embeds
        attended = torch.ones_like(visual) if attention_mask is None else attention_mask.bool()
        prompt = attended if self.prompt_mask is None else self.prompt_mask.bool() & attended
        text = prompt & ~visual
        weights = visual.unsqueeze(-1).to(embeds.dtype)
        pooled = (embeds * weights).sum(1) / weights.sum(1).clamp(min=1)
        logits = self.detector(pooled).squeeze(-1)
        self.last_logits = logits[has_image]
        gate = torch.sigmoid(logits) * has_image
        with torch.no_grad():
            attention = self.attention_to_visual(embeds.detach(), visual, text)
            attention = attention.masked_fill(~visual, float("inf"))
            count = visual.sum(-1)
            k = (count.float() * self.ratio).ceil().long().clamp(min=1)
            order = attention.argsort(-1)  # least attended first; non-visual last
            rank = order.argsort(-1)
            chosen = visual & (rank < k.unsqueeze(-1))
        change = self.encoder(embeds) * gate[:, None, None] * chosen.unsqueeze(-1)
        return embeds + change.to(embeds.dtype)


def _language_model(model: nn.Module) -> nn.Module:
    inner = getattr(model, "model", model)
    lm = getattr(inner, "language_model", None)
    if lm is None or not hasattr(lm, "layers"):
        raise ValueError(f"{type(model).__name__} has no `model.language_model.layers`: the "
                         "visual filter supports LLaVA-style VLMs")
    return lm


def attach(model: nn.Module, module: VisualTokenFilter) -> VisualTokenFilter:
    """Wire `module` into `model`'s forward (see the module docstring); returns it."""
    lm = _language_model(model)
    object.__setattr__(module, "first_layer", lm.layers[0])  # not saved with the module
    module.image_token_id = getattr(model.config, "image_token_id", None) or \
        model.config.image_token_index
    module.to(device=next(model.parameters()).device)

    def remember_ids(_, args, kwargs):
        ids = kwargs.get("input_ids", args[0] if args else None)
        module.input_ids = ids
        module.attention_mask = kwargs.get("attention_mask")

    def filter_embeds(_, args, kwargs):
        embeds, ids = kwargs.get("inputs_embeds"), module.input_ids
        if embeds is None or ids is None or ids.shape != embeds.shape[:2]:
            return None
        kwargs["inputs_embeds"] = module(embeds, ids, module.attention_mask)
        return args, kwargs

    module.handles = [model.register_forward_pre_hook(remember_ids, with_kwargs=True),
                      lm.register_forward_pre_hook(filter_embeds, with_kwargs=True)]
    return module


def save(module: VisualTokenFilter, folder: str | Path) -> None:
    from safetensors.torch import save_file

    folder = Path(folder)
    save_file({k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()},
              folder / WEIGHTS)
    (folder / CONFIG).write_text(json.dumps(module.settings(), indent=2) + "\n")


def attach_saved(model: nn.Module, folder: str | Path) -> VisualTokenFilter | None:
    """Attach the filter saved in `folder`, if there is one (an unlearned checkpoint)."""
    folder = Path(folder)
    if not (folder / WEIGHTS).is_file():
        return None
    from safetensors.torch import load_file

    settings = json.loads((folder / CONFIG).read_text())
    module = VisualTokenFilter(settings["hidden"], settings["ratio"], settings["width"])
    module.load_state_dict(load_file(folder / WEIGHTS))
    dtype = next(model.parameters()).dtype
    return attach(model, module.to(dtype=dtype).eval())
