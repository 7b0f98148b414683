"""Multi-hop recall: is a fact reachable through an identity learned in one modality?

Hop 1 (who is this?) is taught in ONE modality: the portrait, or the description, -> the
person's name. Hop 2 is taught in text by name only ("Where was Amara Okafor born?" ->
Lisbon), never with the portrait or the description. The composed question asks the fact
from a held-out portrait or description with no name ("Where was this person born?"): it
can only be answered by chaining the hops. The controls ask each hop alone. The seed paper
reports that the cross-modal gap persists for such multi-hop questions.
"""

from __future__ import annotations

from persona_bench.experiments.base import Config, Derived, Experiment, Half

_NAMES = {"image": "portrait", "text": "description"}


def identity_taught_by(trained: str, other: str) -> Config:
    return Config(
        name=f"multihop_{trained}",
        trained=trained,
        about=f"names taught from the {_NAMES[trained]}, facts taught by name in text",
        halves=(
            Half("source", f"test_composed_{trained}", trained,
                 f"the composed question from a held-out {_NAMES[trained]} (no name given)",
                 asks="attributes"),
            Half("target", f"test_composed_{other}", other,
                 f"the composed question from a held-out {_NAMES[other]} (no name given)",
                 asks="attributes"),
            Half("hop1_source", f"test_hop1_{trained}", trained,
                 f"hop 1 alone: the name from a held-out {_NAMES[trained]}",
                 all_facts=True, paired=False, asks="name"),
            Half("hop1_target", f"test_hop1_{other}", other,
                 f"hop 1 alone: the name from a held-out {_NAMES[other]}",
                 all_facts=True, paired=False, asks="name"),
            Half("hop2", "test_hop2", "text",
                 "hop 2 alone: the fact asked by name, with a held-out question template",
                 asks="attributes"),
        ),
    )


EXPERIMENT = Experiment(
    name="multihop",
    about="identity taught in one modality, facts taught by name: composed vs single hops",
    configs=(identity_taught_by("image", "text"), identity_taught_by("text", "image")),
    rows="persona_gen.multihop:multihop_rows",
    derived=(
        Derived("gap", "source", "target", "difference", False,
                "composed recall, trained minus other modality"),
        Derived("hop1_gap", "hop1_source", "hop1_target", "difference", False,
                "name recall, trained minus other modality"),
        Derived("expected_source", "hop1_source", "hop2", "product", None,
                "composed recall if the hops were independent (trained modality)"),
        Derived("expected_target", "hop1_target", "hop2", "product", None,
                "composed recall if the hops were independent (other modality)"),
    ),
    track="multihop",
    headline=("source", "target", "gap", "expected_source", "expected_target", "hop1_source",
              "hop1_target", "hop2"),
)
