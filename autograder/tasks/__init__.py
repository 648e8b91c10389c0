"""Model tasks: how a kind of model is run on hidden data, measured, and what its baseline is.

A task knows nothing of notebooks or points: it turns a model's outputs into metric values, and
builds the outputs of a trivial baseline (which the same metrics then measure).
"""

from __future__ import annotations

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


def get_task(name: str) -> Task:
    from .classifier import ClassifierTask

    tasks: dict[str, Task] = {"classifier": ClassifierTask()}
    try:
        return tasks[name]
    except KeyError:
        raise SpecError(f"unknown task {name!r}; known tasks: {sorted(tasks)}") from None
