"""Digit images that are their own targets, for autoencoders: ``x`` = ``y`` = 784 pixels.

The same images and the same split as :mod:`autograder.data.digits` (4,000 training digits for
students, 1,000 hidden test digits), flattened to vectors of 784 values in [0, 1]; the labels are
dropped. Students get the very same file as the ``digits`` assignment (``digits_train.npz``) and
flatten it themselves.

Train mode fits ``model.fit(x, y)`` on the training split, so making ``y`` the images themselves
is what lets the grader (and ``train-reference``) retrain an autoencoder from a notebook.
"""

from __future__ import annotations

from pathlib import Path

from . import Split, digits, register

N_PIXELS = 28 * 28


def hidden_files() -> list[Path]:
    """The hidden digits come from the same file as :mod:`autograder.data.digits`' hidden split."""
    return digits.hidden_files()


@register("digit_images", student_files=lambda dest: write_student_files(dest))
def load(split: str, source: str) -> Split:
    images = digits.load(split, source).x.reshape(-1, N_PIXELS)
    return Split(x=images, y=images)


def write_student_files(dest: Path) -> list[Path]:
    """The ``digits`` training file (28x28 images and labels), unchanged."""
    return digits.write_student_files(Path(dest))
