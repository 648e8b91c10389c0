"""Fisher's iris flowers: 150 flowers, 4 measurements in cm, 3 species.

Offline and online alike: the copy that scikit-learn bundles (``sklearn.datasets.load_iris``, no
download). Rows are shuffled with a fixed seed, then split into 100 training flowers (students,
``iris_train.npz``) and 50 hidden test flowers (grader only). **Caveat**: iris is public, so a
determined student can find the hidden flowers; grade high-stakes work on data students cannot get.

``x`` is float32 of shape (n, 4) (sepal length, sepal width, petal length, petal width, in cm),
``y`` is int64 labels 0-2 (setosa, versicolor, virginica).
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from . import Split, register, write_npz

SPLIT_SEED = 2021
N_TRAIN = 100
STUDENT_FILE = "iris_train.npz"


@functools.lru_cache(maxsize=1)
def _arrays() -> tuple[np.ndarray, np.ndarray, tuple[str, ...], tuple[str, ...]]:
    from sklearn.datasets import load_iris

    bunch = load_iris()
    order = np.random.default_rng(SPLIT_SEED).permutation(len(bunch.target))
    x = np.asarray(bunch.data, dtype=np.float32)[order]
    y = np.asarray(bunch.target, dtype=np.int64)[order]
    x.setflags(write=False)
    y.setflags(write=False)
    return x, y, tuple(bunch.feature_names), tuple(bunch.target_names)


@register("iris", student_files=lambda dest: write_student_files(dest))
def load(split: str, source: str) -> Split:
    x, y, _, _ = _arrays()
    sl = slice(0, N_TRAIN) if split == "train" else slice(N_TRAIN, None)
    return Split(x=x[sl], y=y[sl])


def write_student_files(dest: Path) -> list[Path]:
    """Write the students' training flowers (and the names of features and species) into ``dest``."""
    train = load("train", "offline")
    _, _, feature_names, target_names = _arrays()
    path = Path(dest) / STUDENT_FILE
    write_npz(
        path, x_train=train.x, y_train=train.y,
        feature_names=np.array(feature_names), target_names=np.array(target_names),
    )
    return [path]
