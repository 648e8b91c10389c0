"""`autograder train-reference`, checked at each level of reproducibility (slow: trains digits).

- byte-identical on every machine: the students' data file, the data fingerprints, the committed
  reference file's weights hash and the scores that file gets;
- identical on one machine: two retrainings give the same weights;
- within a tolerance across machines: a retrained reference's metrics against the committed ones
  (TensorFlow picks its CPU kernels by instruction set, so weights differ between CPU generations).
"""

from __future__ import annotations

import json
import shutil

import pytest

from autograder.course import Course
from autograder.data import load_dataset
from autograder.evaluate import measure_model_file
from autograder.reference import train_reference, weights_fingerprint
from autograder.reference_drift import compare_metrics
from autograder.tasks import get_task

pytestmark = pytest.mark.slow


def _course_copy(repo_root, folder):
    shutil.copy(repo_root / "nbgrader_config.py", folder / "nbgrader_config.py")
    shutil.copytree(repo_root / "source" / "digits", folder / "source" / "digits")
    shutil.copytree(repo_root / "reference_models" / "digits", folder / "reference_models" / "digits")
    (folder / "source" / "digits" / "data" / "digits_train.npz").unlink()
    return Course.at(folder)


def test_committed_reference_file_scores_identically_everywhere(repo_root):
    course = Course.at(repo_root)
    spec = course.spec("digits")
    committed = json.loads((repo_root / "reference_models/digits/metrics.json").read_text())
    test = load_dataset(spec.dataset, "test")
    assert test.fingerprint == committed["data_fingerprint"]
    assert load_dataset(spec.dataset, "train").fingerprint == committed["train_fingerprint"]
    model_file = course.reference_dir("digits") / "reference.keras"
    assert weights_fingerprint(model_file) == committed["version"]
    measured = measure_model_file(model_file, spec, get_task(spec.task), test)
    assert measured.error is None
    assert {k: round(v, 6) for k, v in measured.values.items()} == committed["reference"]


def test_retrained_reference_is_within_tolerance_and_repeatable(repo_root, tmp_path):
    committed = json.loads((repo_root / "reference_models/digits/metrics.json").read_text())
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    [build] = train_reference(_course_copy(repo_root, first), "digits")

    # Across machines: the data is the same bytes, the metrics within tolerance.
    rebuilt = json.loads((first / "reference_models/digits/metrics.json").read_text())
    drift = compare_metrics(committed, rebuilt)
    assert build.drift == drift
    assert drift.within(), drift.problems()
    assert {k: v for k, v in rebuilt.items() if k not in ("reference", "version")} == {
        k: v for k, v in committed.items() if k not in ("reference", "version")}
    assert (first / "source/digits/data/digits_train.npz").read_bytes() == (
        repo_root / "source/digits/data/digits_train.npz").read_bytes()
    for metric, value in build.metrics.reference.items():
        assert value > max(build.metrics.baseline[metric].values())

    # On one machine: a second retraining gives the very same weights.
    [again] = train_reference(_course_copy(repo_root, second), "digits")
    assert again.metrics.version == build.metrics.version
    assert again.metrics.reference == build.metrics.reference
