"""Noisy digit images and their clean originals, for denoisers: ``x`` noisy, ``y`` clean.

The images are those of :mod:`autograder.data.digits`. Noise is added by the grader, the same way
for both splits, each with its own fixed seed: Gaussian noise of standard deviation
:data:`NOISE_STD` on pixels in [0, 1], clipped to [0, 1], then rounded to 1/255 steps (so the
students' uint8 file holds exactly the training split).

* Training split (students, ``noisy_digits_train.npz``): the first 2,000 training digits, as
  ready-made pairs ``x_noisy`` / ``x_clean`` (uint8, shape (2000, 28, 28)). Students may also make
  more noisy copies of the clean images themselves.
* Hidden test split (grader only): the 1,000 hidden digits with noise from the grader's seed.

Both give ``x`` and ``y`` as float32 of shape (n, 28, 28, 1) in [0, 1] (a channel axis for
convolutions).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import Split, digits, register, write_npz

NOISE_STD = 0.4
N_TRAIN = 2000
TRAIN_NOISE_SEED = 7
TEST_NOISE_SEED = 8128
STUDENT_FILE = "noisy_digits_train.npz"


def add_noise(clean: np.ndarray, seed: int, std: float = NOISE_STD) -> np.ndarray:
    """Gaussian noise, clipped to [0, 1] and rounded to 1/255 steps (float32)."""
    noise = np.random.default_rng(seed).normal(0.0, std, size=clean.shape)
    noisy = np.clip(clean.astype(np.float64) + noise, 0.0, 1.0)
    return (np.rint(noisy * 255.0) / 255.0).astype(np.float32)


def hidden_files() -> list[Path]:
    """The hidden digits come from the same file as :mod:`autograder.data.digits`' hidden split."""
    return digits.hidden_files()


@register("noisy_digits", student_files=lambda dest: write_student_files(dest))
def load(split: str, source: str) -> Split:
    images = digits.load(split, source).x
    if split == "train":
        images = images[:N_TRAIN]
    clean = (np.rint(images * 255.0) / 255.0).astype(np.float32)[..., None]
    seed = TRAIN_NOISE_SEED if split == "train" else TEST_NOISE_SEED
    return Split(x=add_noise(clean, seed), y=clean)


def write_student_files(dest: Path) -> list[Path]:
    """Write the students' noisy/clean training pairs (uint8, (n, 28, 28)) into ``dest``."""
    train = load("train", "offline")
    path = Path(dest) / STUDENT_FILE
    write_npz(path, x_noisy=_to_uint8(train.x), x_clean=_to_uint8(train.y))
    return [path]


def _to_uint8(images: np.ndarray) -> np.ndarray:
    return np.rint(images[..., 0] * 255.0).astype(np.uint8)
