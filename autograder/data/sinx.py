"""Points of y = sin(x), generated (nothing to download, so offline and online are the same).

Training split (students, ``sinx_train.npz``): 1,000 points with x drawn uniformly from
[-pi, pi] and y = sin(x) plus a little Gaussian noise (standard deviation 0.05), seed 2021.

Hidden test split (grader only): 1,000 other points x drawn uniformly from [-pi, pi] with the
grader's own seed and the exact, noiseless y = sin(x), so the test MSE measures how well the
model learnt the function itself. The generator is no secret (this file is public); that is
harmless here, since knowing where the test points lie does not help fit sin(x) better.

Both splits give ``x`` and ``y`` as float32 arrays of shape (n, 1).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import Split, register, write_npz

TRAIN_SEED = 2021
TEST_SEED = 31337
N_TRAIN = 1000
N_TEST = 1000
NOISE_STD = 0.05
STUDENT_FILE = "sinx_train.npz"


def _points(seed: int, n: int, noise_std: float) -> Split:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-np.pi, np.pi, size=(n, 1))
    y = np.sin(x)
    if noise_std:
        y = y + rng.normal(0.0, noise_std, size=y.shape)
    return Split(x=x.astype(np.float32), y=y.astype(np.float32))


@register("sinx", student_files=lambda dest: write_student_files(dest))
def load(split: str, source: str) -> Split:
    if split == "train":
        return _points(TRAIN_SEED, N_TRAIN, NOISE_STD)
    return _points(TEST_SEED, N_TEST, 0.0)


def write_student_files(dest: Path) -> list[Path]:
    """Write the students' training points into ``dest`` (the assignment's ``data/`` folder)."""
    train = load("train", "offline")
    path = Path(dest) / STUDENT_FILE
    write_npz(path, x_train=train.x, y_train=train.y)
    return [path]
