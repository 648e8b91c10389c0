"""Model tasks: how a kind of model is run on hidden data, measured, and what its baseline is.

A task knows nothing of notebooks or points: it turns a model's outputs into metric values, and
builds the outputs of a trivial baseline (which the same metrics then measure).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Protocol

import numpy as np

from ..data import Split
from ..errors import SpecError


class Task(Protocol):
    """What every model task provides."""

    name: str

    def expected_output_shape(self, test: Split) -> tuple[int, ...]:
        """The shape the model's output must have on ``test.x``."""

    def measure(self, metric: str, outputs: np.ndarray, test: Split) -> float:
        """The value of ``metric`` for ``outputs`` on ``test``."""

    def baseline_outputs(self, kind: str, train: Split, test: Split) -> np.ndarray:
        """Outputs of the trivial baseline ``kind`` (0 points), built from the training split."""

    # Optional: ``run_saved_model(model, path, test) -> outputs`` is the same, for tasks that also
    # read files saved beside the model (e.g. a GAN's loss history); ``with_references(folder)``
    # returns the task bound to the course's reference_models folder (e.g. a GAN's judge classifier).
    # Optional: ``run_model(model, test) -> outputs`` replaces the default single ``predict`` call
    # (e.g. an autoencoder task calls the encoder and the decoder separately). It must raise
    # autograder.errors.SubmissionError subclasses for problems of the student's model; see
    # autograder.models.predict for the shape and NaN checks to reuse.


def known_tasks() -> list[str]:
    folder = Path(__file__).parent
    return sorted(p.stem for p in folder.glob("*.py") if not p.stem.startswith("_"))


def get_task(name: str, references: Path | None = None) -> Task:
    """The task of module ``autograder/tasks/<name>.py`` (its module-level ``TASK``), bound to the
    course's ``reference_models`` folder ``references`` when the task uses other references."""
    if name not in known_tasks():
        raise SpecError(f"unknown task {name!r}; known tasks: {known_tasks()}")
    module = importlib.import_module(f"{__name__}.{name}")
    task = module.TASK
    if references is not None and hasattr(task, "with_references"):
        task = task.with_references(references)
    return task
