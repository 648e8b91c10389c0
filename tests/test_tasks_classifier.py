"""The iris data of `flowers`, and the classifier task on it."""

from __future__ import annotations

import numpy as np
import pytest

from autograder.data import load_dataset, write_student_files
from autograder.tasks import get_task


@pytest.fixture(scope="module")
def splits():
    return load_dataset("iris", "train"), load_dataset("iris", "test")


def test_iris_split_sizes_and_types(splits):
    train, test = splits
    assert train.x.shape == (100, 4) and test.x.shape == (50, 4)
    for split in splits:
        assert split.x.dtype == np.float32 and split.y.dtype == np.int64
        assert set(np.unique(split.y)) == {0, 1, 2}, "every species in both splits"


def test_iris_splits_are_disjoint_and_cover_the_dataset(splits):
    from sklearn.datasets import load_iris

    train, test = splits
    rows = np.concatenate([train.x, test.x])
    everything = load_iris().data.astype(np.float32)
    assert sorted(map(tuple, rows)) == sorted(map(tuple, everything))


def test_iris_student_file(tmp_path, splits):
    (path,) = write_student_files("iris", tmp_path)
    with np.load(path) as data:
        assert np.array_equal(data["x_train"], splits[0].x)
        assert np.array_equal(data["y_train"], splits[0].y)
        assert data["target_names"].tolist() == ["setosa", "versicolor", "virginica"]
        assert len(data["feature_names"]) == 4


def test_majority_baseline_on_iris(splits):
    train, test = splits
    task = get_task("classifier")
    out = task.baseline_outputs("majority_class", train, test)
    majority = int(np.bincount(train.y).argmax())
    assert task.measure("accuracy", out, test) == pytest.approx(float(np.mean(test.y == majority)))
