"""`autograder train-reference` rebuilds the committed reference deterministically (slow)."""

from __future__ import annotations

import json
import shutil

import pytest

from autograder.course import Course
from autograder.reference import train_reference

pytestmark = pytest.mark.slow


def test_train_reference_reproduces_committed_reference(repo_root, tmp_path):
    shutil.copy(repo_root / "nbgrader_config.py", tmp_path / "nbgrader_config.py")
    shutil.copytree(repo_root / "source" / "digits", tmp_path / "source" / "digits")
    shutil.copytree(repo_root / "reference_models" / "digits", tmp_path / "reference_models" / "digits")
    (tmp_path / "source" / "digits" / "data" / "digits_train.npz").unlink()

    [refm] = train_reference(Course.at(tmp_path), "digits")

    committed = json.loads((repo_root / "reference_models/digits/metrics.json").read_text())
    rebuilt = json.loads((tmp_path / "reference_models/digits/metrics.json").read_text())
    assert rebuilt == committed, "run `make reference` and commit reference_models/"
    assert refm.version == committed["version"]
    for metric, value in refm.reference.items():
        assert value > max(refm.baseline[metric].values())
    # The students' data file is rebuilt byte for byte.
    assert (tmp_path / "source/digits/data/digits_train.npz").read_bytes() == (
        repo_root / "source/digits/data/digits_train.npz"
    ).read_bytes()
