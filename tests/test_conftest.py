"""tests/conftest.py: the two-worker schedule keeps each expensive fixture on one worker."""

from conftest import file_group


def test_files_naming_an_expensive_fixture_share_its_group():
    assert file_group("tests/test_evaluate.py") == "trained_vlm_dir"
    assert file_group("tests/test_sft.py") == "trained_vlm_dir"
    assert file_group("tests/test_unlearn_experiment.py") == "unlearn_vlm_dir"
    assert file_group("tests/test_families.py") == "family_vlm_dir"


def test_every_other_file_is_its_own_unit():
    assert file_group("tests/test_atomic.py") == "tests/test_atomic.py"
    assert file_group("tests/missing.py") == "tests/missing.py"  # never an error
