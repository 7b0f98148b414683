"""Cross-modal transfer, the seed paper's experiment: train on one modality, ask in both.

`img2text` teaches each persona's facts from portraits and asks held-out portraits
(`source`) and held-out descriptions (`target`); `text2img` is the mirror. `seen` re-asks
one training question per persona and fact (pure memorisation; not in the task group).
The headline number is the gap, source minus target recall.
"""

from __future__ import annotations

from persona_bench.experiments.base import Config, Derived, Experiment, Half

QA_SPLITS = ("train", "test_source", "test_target", "seen")
_NAMES = {"image": "portraits", "text": "descriptions"}
_WHAT = {"image": "image queries", "text": "text queries"}


def direction(name: str, trained: str, other: str) -> Config:
    return Config(
        name=name,
        trained=trained,
        about=f"trained on {_NAMES[trained]}, tested on {_NAMES[trained]} and {_NAMES[other]}",
        sft=True,
        halves=(
            Half("source", "test_source", trained,
                 f"{_WHAT[trained]} (the trained modality) on held-out variants and templates"),
            Half("target", "test_target", other,
                 f"{_WHAT[other]} (the untrained modality) about the same persona and fact"),
            Half("seen", "seen", trained,
                 "one training row per persona and fact (pure memorisation; not in the group)",
                 in_group=False),
        ),
    )


EXPERIMENT = Experiment(
    name="transfer",
    about="train on one modality, test recall in both (the source/target gap)",
    configs=(direction("img2text", "image", "text"), direction("text2img", "text", "image")),
    rows="persona_gen.rows:transfer_rows",
    derived=(
        Derived("gap", "source", "target", "difference", False,
                "source minus target recall: what does not transfer"),
        Derived("transfer_ratio", "target", "source", "ratio", True,
                "target / source recall"),
        Derived("source_gain", "source", "base_source", "difference", True,
                "source recall over the untrained base model"),
        Derived("target_gain", "target", "base_target", "difference", True,
                "target recall over the untrained base model"),
        Derived("adjusted_ratio", "target_gain", "source_gain", "ratio", True,
                "target gain / source gain: transfer net of prior knowledge"),
    ),
    track="transfer",
    headline=("source", "target", "gap", "likelihood_source", "likelihood_target"),
    default=True,
)
