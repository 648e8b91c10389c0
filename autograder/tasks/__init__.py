"""Model tasks: how a kind of model is run on hidden data, measured, and what its baseline is.

A task knows nothing of notebooks or points: it turns a model's outputs into metric values, and
builds the outputs of a trivial baseline (which the same metrics then measure).
"""

from __future__ import annotations

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
    """The registered task names: the ``autograder.tasks`` entry points, built-in or a plugin's."""
    from .. import plugins

    return plugins.names(plugins.TASKS)


def get_task(name: str, references: Path | None = None) -> Task:
    """The task registered as ``name`` in the ``autograder.tasks`` entry point group (a Task
    object, or a module with a ``TASK``), bound to the course's ``reference_models`` folder
    ``references`` when the task uses other references."""
    from .. import plugins

    plugin = plugins.find(plugins.TASKS, name)
    if plugin is None:
        raise SpecError(f"unknown task {name!r}; known tasks: {known_tasks()}; install the package "
                        "that registers it")
    task = plugin.load()
    task = getattr(task, "TASK", task)
    if not callable(getattr(task, "measure", None)):
        raise SpecError(f"{plugin.distribution} registers task {name!r} as {plugin.value!r}, which is "
                        "not a task (it has no measure method)")
    if references is not None and hasattr(task, "with_references"):
        task = task.with_references(references)
    return task


def measure_y_pred(task: str, own: tuple[str, ...], metric: str, y_true: np.ndarray,
                   y_pred: np.ndarray) -> float:
    """``metric(y_true, y_pred)`` for a task whose metrics compare targets with model outputs.

    A task measures its ``own`` built-in metrics, and any metric of a course plugin, which takes
    ``(y_true, y_pred)`` as scikit-learn's metrics do; the other built-in metrics are for other
    kinds of models.
    """
    from ..metrics import METRICS, get_metric

    if metric not in own and metric in METRICS:
        raise SpecError(f"the {task} task does not measure {metric!r}; it measures {own} and any "
                        "metric(y_true, y_pred) of a course plugin")
    try:
        info = get_metric(metric)
    except KeyError as exc:
        raise SpecError(str(exc.args[0])) from None
    return info.func(y_true, y_pred)
