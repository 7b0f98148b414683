"""CAGUL-style frozen-model baseline (Bhaila et al., arXiv 2510.07567): the VLM's weights
stay fixed; only the external `VisualTokenFilter` (persona_bench/visual_filter.py) learns.

loss = NLL(forget image questions -> a refusal, through the filter)
       + retain_weight * NLL(retain questions -> their answers, through the filter)
       + BCE(detector: forget portraits 1, retain portraits 0)
The filter acts on visual tokens only, so the forget set is presented as image questions
(`--forget_modality image`); its text-modality forgetting is the frozen model's. The saved
checkpoint is the unchanged VLM plus `visual_filter.safetensors`, which evaluation attaches.
"""

from __future__ import annotations

import torch
from datasets import Dataset
from torch.nn import functional as F

from persona_bench.trainers.unlearning.base import Batch, UnlearnTrainer, nll
from persona_bench.trainers.unlearning.idk import IDK
from persona_bench.visual_filter import VisualTokenFilter, attach, save


class CAGUL(UnlearnTrainer):
    name = "cagul"
    about = ("frozen VLM; an external module detects forget identities from visual tokens "
             "and transforms the least-attended ones (image inputs only)")
    uses = ("retain_weight",)
    modalities = ("image",)

    def __init__(self, *args, model, **kwargs) -> None:
        model.requires_grad_(False)
        hidden = model.config.get_text_config().hidden_size
        self.filter = attach(model, VisualTokenFilter(hidden))
        super().__init__(*args, model=model, **kwargs)

    @classmethod
    def forget_rows(cls, rows: Dataset, seed: int) -> Dataset:
        return IDK.forget_rows(rows, seed)

    def create_optimizer(self, model=None):
        if self.optimizer is None:
            self.optimizer = torch.optim.AdamW(self.filter.parameters(),
                                               lr=self.args.learning_rate,
                                               weight_decay=self.args.weight_decay)
        return self.optimizer

    def _through_filter(self, model, batch: Batch) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The answer NLL with the filter told which tokens are the prompt; its logits."""
        self.filter.prompt_mask = batch.labels == -100
        self.filter.last_logits = None
        try:
            loss = nll(model, batch)
        finally:
            self.filter.prompt_mask = None
        return loss, self.filter.last_logits

    def unlearn_loss(self, model, forget: Batch, retain: Batch):
        refusal, forget_logits = self._through_filter(model, forget)
        kept, retain_logits = self._through_filter(model, retain)
        detect = torch.zeros((), device=refusal.device)
        for logits, label in ((forget_logits, 1.0), (retain_logits, 0.0)):
            if logits is not None and len(logits):
                detect = detect + F.binary_cross_entropy_with_logits(
                    logits, torch.full_like(logits, label))
        self.note("refusal_nll", refusal)
        self.note("retain_nll", kept)
        self.note("detector_bce", detect)
        return refusal + self.settings.retain_weight * kept + detect

    def save_model(self, output_dir=None, _internal_call=False):
        super().save_model(output_dir, _internal_call)
        if self.args.should_save:
            save(self.filter, output_dir or self.args.output_dir)
