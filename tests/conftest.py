"""Session fixtures: the expensive artifacts (dataset, tiny models) are built once."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from persona_bench.families import BUILDABLE, DEFAULT  # noqa: E402 - after the offline switches

# `make test` runs the suite on two workers (pytest-xdist). Every worker builds the session
# fixtures its tests use, so the test files of one expensive fixture go to one worker, which
# builds it once; every other file is a unit of its own (its module fixtures stay with it).
EXPENSIVE_FIXTURES = ("trained_vlm_dir", "unlearn_vlm_dir", "family_vlm_dir")
ROOT = Path(__file__).resolve().parents[1]


@functools.cache
def file_group(path: str) -> str:
    """The first expensive fixture a test file names, else the file itself."""
    file = ROOT / path
    text = file.read_text() if file.is_file() else ""
    return next((f for f in EXPENSIVE_FIXTURES if f in text), path)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    # (xdist's `--dist loadgroup` cannot do this under pytest 9: it renames node ids by an
    # attribute pytest 9 no longer reads.)
    from xdist.scheduler import LoadFileScheduling

    class ByExpensiveFixture(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return file_group(nodeid.split("::", 1)[0])

    return ByExpensiveFixture(config, log)


def pytest_configure(config: pytest.Config) -> None:
    """One torch thread per worker: two workers on two cores, not four threads fighting."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        import torch

        os.environ.setdefault("OMP_NUM_THREADS", "1")  # and its subprocesses
        torch.set_num_threads(1)


# The small dataset every stage's tests share: 8 target personas, 16 pretrain personas.
TEST_DATA = dict(num_personas=8, pretrain_personas=16, image_size=64, variants=3, seed=0)


@pytest.fixture(scope="session")
def dataset_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from persona_bench.persona_gen.generate import generate_dataset

    return generate_dataset(tmp_path_factory.mktemp("data") / "persona", workers=1,
                            progress=False, **TEST_DATA)


# --- trainers: the tiny reference VLM, and a copy fine-tuned on the test dataset -------------

# Default hyper-parameters (lr 1e-3 for the xs model), 20 epochs instead of 30: enough to
# memorise the 8-persona text2img train split from a random init (100% on `seen`).
TRAIN_TEST = ["--num_train_epochs", "20", "--save_strategy", "no", "--disable_tqdm", "true",
              "--logging_steps", "100"]


@pytest.fixture(scope="session")
def tiny_vlm_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised xs tiny VLM checkpoint (`persona-bench tiny-vlm`)."""
    from persona_bench.cli import main

    out = tmp_path_factory.mktemp("models") / "tiny"
    assert main(["tiny-vlm", "--out", str(out), "--seed", "0"]) == 0
    return out


@pytest.fixture(scope="session")
def trained_vlm_dir(tiny_vlm_dir: Path, dataset_dir: Path,
                    tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`tiny_vlm_dir` fully fine-tuned on `text2img` train (text is the source modality)."""
    from persona_bench.cli import main

    out = tmp_path_factory.mktemp("models") / "text2img-full"
    assert main(["train", "--model_name_or_path", str(tiny_vlm_dir),
                 "--dataset_name", str(dataset_dir), "--dataset_config", "text2img",
                 "--output_dir", str(out), *TRAIN_TEST]) == 0
    return out


# --- the family matrix: one tiny checkpoint per non-default family, built once ---------------

# LLaVA, the default, is what the rest of the suite runs on.
MATRIX = [name for name in BUILDABLE if name != DEFAULT]
# Two target personas: full test splits (a leaderboard row needs them) stay a few dozen rows.
MATRIX_DATA = dict(num_personas=2, pretrain_personas=2, image_size=64, variants=2, seed=0)


@pytest.fixture(scope="session")
def matrix_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from persona_bench.persona_gen.generate import generate_dataset

    return generate_dataset(tmp_path_factory.mktemp("matrix") / "data", workers=1,
                            progress=False, **MATRIX_DATA)


@pytest.fixture(scope="session", params=MATRIX)
def family_vlm_dir(request: pytest.FixtureRequest,
                   tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`persona-bench tiny-vlm --family NAME` for each family of the matrix."""
    from persona_bench.cli import main

    out = tmp_path_factory.mktemp("families") / request.param
    assert main(["tiny-vlm", "--family", request.param, "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="session")
def unsupported_vlm_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A VLM checkpoint folder (config only) of an architecture no family covers."""
    from transformers import AutoConfig

    out = tmp_path_factory.mktemp("models") / "aya"
    AutoConfig.for_model("aya_vision").save_pretrained(out)
    return out


# --- experiments beyond transfer: a small dataset written with every registered experiment ----

EXPERIMENT_DATA = dict(num_personas=4, pretrain_personas=0, image_size=32, variants=3, seed=0)


@pytest.fixture(scope="session")
def experiments_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from persona_bench.experiments import EXPERIMENTS
    from persona_bench.persona_gen.generate import generate_dataset

    return generate_dataset(tmp_path_factory.mktemp("experiments") / "data", workers=1,
                            progress=False, experiments=list(EXPERIMENTS), **EXPERIMENT_DATA)


# --- unlearning: a tiny VLM taught the `unlearn` config in both modalities, built once --------

UNLEARN_TRAIN = ["--num_train_epochs", "10", "--save_strategy", "no", "--disable_tqdm", "true",
                 "--logging_steps", "100", "--report_to", "none"]


@pytest.fixture(scope="session")
def unlearn_vlm_dir(tiny_vlm_dir: Path, experiments_data_dir: Path,
                    tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`tiny_vlm_dir` taught (10 epochs) every trained persona of `experiments_data_dir`
    (3 personas, both modalities): the model the unlearning tests forget from."""
    from persona_bench.cli import main

    out = tmp_path_factory.mktemp("models") / "unlearn-both"
    assert main(["train", "--model_name_or_path", str(tiny_vlm_dir),
                 "--dataset_name", str(experiments_data_dir), "--dataset_config", "unlearn",
                 "--output_dir", str(out), *UNLEARN_TRAIN]) == 0
    return out
