"""Augmentation: does mixing image-text pairs into one-modality training narrow the gap?

The seed paper reports that in-distribution synthetic image-text pairs improve cross-modal
transfer while out-of-distribution pairs help less. Each transfer direction is trained
four ways, the same share of extra rows mixed in (`persona-bench train --augment CONFIG
--augment_ratio R`), and scored on the transfer halves:

- `none`: the direction alone (the transfer experiment's arm);
- `augment_ood`: captioning and pairing rows on rendered shape scenes (no persons), matched
  to `augment_id` row for row in task, modality and words;
- `augment_id`: captioning in both directions and portrait/description pairing questions
  on a disjoint persona pool from the same generator (no fact is ever asked);
- `augment_replay` (ours, beyond the paper): the pool's facts asked from the portrait AND
  from the description, so that the model sees, on other people, that a fact learned in
  one modality is asked in the other. Pairs alone teach that the modalities describe the
  same person; replay also teaches the *use* of that alignment for recall, which is the
  step the gap measures. No target persona appears in any augmentation config.
"""

from __future__ import annotations

from persona_bench.experiments import transfer
from persona_bench.experiments.base import Arm, Experiment

MIXES = ("augment_ood", "augment_id", "augment_replay")

EXPERIMENT = Experiment(
    name="augment",
    about="the transfer gap with none / out-of-distribution / in-distribution / replay "
          "rows mixed into one-modality training",
    configs=(),
    rows="persona_gen.augment:augment_configs",
    derived=(),
    track="mitigation",
    data_configs=MIXES,
    arm_list=tuple(Arm(f"{c.name}+{mix or 'none'}", c.name, mix)
                   for c in transfer.EXPERIMENT.configs for mix in (None, *MIXES)),
    headline=("source", "target", "gap", "likelihood_source", "likelihood_target"),
)
