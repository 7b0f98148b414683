"""Cross-modal unlearning: forget a persona through one modality, measure it in both.

The seed paper reports that the source/target gap persists under machine unlearning: a
fact removed through one modality can survive in the other. The dataset config `unlearn`
teaches every trained persona in BOTH modalities (`train`), and holds nested forget sets of
1%, 5% and 10% of those personas (`forget01/05/10`, at least one persona each) with their
complements (`retain99/95/90`), plus `holdout` personas that no split trains on.

A model trained on `train` is unlearned on the rows of `forgetNN` in one modality
(`persona-bench unlearn --forget_modality image|text|both`, methods in
`trainers/unlearning/`), and evaluated on the config `unlearnNN`: forget, retain and
holdout personas, each asked from a held-out portrait and from a held-out description.
The "base" run of its scoring is the model before unlearning, so `forgetting_<m>` is the
recall it lost; the cross-modal unlearning gap is the forgetting in the unlearned modality
minus the forgetting in the other (`unlearn_gap_image` when the image was unlearned,
`unlearn_gap_text` the mirror): a positive gap means the fact survives in the other modality.
"""

from __future__ import annotations

from persona_bench.contracts import BOTH_MODALITIES, MODALITIES
from persona_bench.experiments.base import Config, Derived, Experiment, Half

DATA = "unlearn"  # the dataset config every unlearnNN config reads
FRACTIONS = {"01": 0.01, "05": 0.05, "10": 0.10}  # forget set -> share of trained personas
RETAIN = {"01": "99", "05": "95", "10": "90"}
HOLDOUT_SHARE = 0.10  # holdout personas: 10% of the dataset's personas, at least one
GROUPS = ("forget", "retain", "holdout")
_ASKED = {"image": "a held-out portrait", "text": "a held-out description"}
_WHO = {"forget": "the forget set's personas (lower is better after unlearning)",
        "retain": "the retain set's personas (utility: higher is better)",
        "holdout": "personas never trained (the level of a fact never learned)"}


def forget_split(fraction: str) -> str:
    return f"forget{fraction}"


def retain_split(fraction: str) -> str:
    return f"retain{RETAIN[fraction]}"


def test_split(group: str, fraction: str, modality: str) -> str:
    """`test_forget05_image`, `test_retain95_text`, `test_holdout_image` (holdout: shared)."""
    if group == "holdout":
        return f"test_holdout_{modality}"
    which = forget_split(fraction) if group == "forget" else retain_split(fraction)
    return f"test_{which}_{modality}"


def config_name(fraction: str) -> str:
    return f"unlearn{fraction}"


def fraction_of(config: str) -> str:
    return config.removeprefix("unlearn")


def unlearn_config(fraction: str) -> Config:
    halves = tuple(
        Half(f"{group}_{m}", test_split(group, fraction, m), m,
             f"{_WHO[group]}, asked from {_ASKED[m]}", paired=False, distractors="train",
             higher_is_better={"forget": False, "retain": True, "holdout": None}[group])
        for group in GROUPS for m in MODALITIES)
    return Config(
        name=config_name(fraction), trained=BOTH_MODALITIES, data=DATA, halves=halves,
        more_splits=(forget_split(fraction), retain_split(fraction), "holdout"),
        about=f"taught in both modalities, then forget {forget_split(fraction)} unlearned in "
              "one; recall of forget, retain and holdout personas in both",
    )


def _derived() -> tuple[Derived, ...]:
    forgetting = tuple(
        Derived(f"forgetting_{m}", f"base_forget_{m}", f"forget_{m}", "difference", True,
                f"forget recall lost by unlearning, asked from {_ASKED[m]}")
        for m in MODALITIES)
    retain_drop = tuple(
        Derived(f"retain_drop_{m}", f"base_retain_{m}", f"retain_{m}", "difference", False,
                f"retain recall lost by unlearning (collateral damage), {_ASKED[m]}")
        for m in MODALITIES)
    gaps = tuple(
        Derived(f"unlearn_gap_{m}", f"forgetting_{m}", f"forgetting_{o}", "difference", None,
                f"forgetting when asked in {m} minus in {o}: the cross-modal gap when {m} "
                "was unlearned (positive: the fact survives in the other modality)")
        for m in MODALITIES for o in MODALITIES if o != m)
    likely = tuple(
        Derived(f"likelihood_forgetting_{m}", f"base_likelihood_forget_{m}",
                f"likelihood_forget_{m}", "difference", True,
                f"likelihood forget recall lost by unlearning, asked from {_ASKED[m]}")
        for m in MODALITIES)
    likely_gaps = tuple(
        Derived(f"likelihood_unlearn_gap_{m}", f"likelihood_forgetting_{m}",
                f"likelihood_forgetting_{o}", "difference", None,
                f"likelihood forgetting when asked in {m} minus in {o}")
        for m in MODALITIES for o in MODALITIES if o != m)
    return forgetting + retain_drop + gaps + likely + likely_gaps


EXPERIMENT = Experiment(
    name="unlearn",
    about="taught in both modalities, unlearned through one: forgetting in each",
    configs=tuple(unlearn_config(f) for f in FRACTIONS),
    rows="persona_gen.unlearn:unlearn_rows",
    derived=_derived(),
    track="unlearning",
    headline=("forget_image", "forget_text", "retain_image", "retain_text", "holdout_image",
              "holdout_text", "forgetting_image", "forgetting_text",
              "likelihood_forgetting_image", "likelihood_forgetting_text"),
    runner="unlearn_experiment:run_unlearn_experiment",
)
