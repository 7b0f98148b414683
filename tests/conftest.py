"""Session fixtures: the expensive artifacts (dataset, tiny models) are built once."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# The small dataset every stage's tests share: 8 target personas, 16 pretrain personas.
TEST_DATA = dict(num_personas=8, pretrain_personas=16, image_size=64, variants=3, seed=0)


@pytest.fixture(scope="session")
def dataset_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from persona_gen.generate import generate_dataset

    return generate_dataset(tmp_path_factory.mktemp("data") / "persona", workers=1,
                            progress=False, **TEST_DATA)
