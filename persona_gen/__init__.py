"""persona_gen: the synthetic persona dataset (first stage of the pipeline)."""

__version__ = "0.1.0"
