"""Items for grading input pipelines: id-coded images (see :mod:`autograder.pipeline_checks`).

Both splits are generated: ``x`` uint8 images (n, 28, 28) whose pixels (0, 0) and (0, 1) hold the
item's index, ``y`` the indices. Nothing here is secret; the hidden split only has its own seed.
Students work on the real digits (:mod:`autograder.data.digits` writes their file).
"""

from __future__ import annotations

from pathlib import Path

from ..pipeline_checks import id_coded_images
from . import Split, digits, register

N_ITEMS = {"train": 1000, "test": 2000}
SEEDS = {"train": 76, "test": 77}


def write_student_files(dest: Path) -> list[Path]:
    return digits.write_student_files(dest)


@register("pipeline_items", student_files=write_student_files)
def load(split: str, source: str) -> Split:
    images, ids = id_coded_images(N_ITEMS[split], SEEDS[split])
    return Split(x=images, y=ids)
