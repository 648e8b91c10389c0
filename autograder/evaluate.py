"""Model evaluation: a model file (never student code) -> metric values -> points.

Used by every grading mode and by ``train-reference``, so students and the reference are measured
by the same code on the same hidden data.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .data import Split
from .errors import SubmissionError
from .metrics import get_metric
from .model_reuse import ArchitectureCache
from .models import load_model_safely, predict
from .results import PartResult
from .sandboxed_eval import SAFE_MODE, EvaluationSource, load_for_evaluation
from .scoring import scale_points
from .spec import GradingSpec, MetricSpec, ReferenceMetrics
from .tasks import Task


@dataclass(frozen=True)
class Measurement:
    """Metric values of one model, or why there are none."""

    values: dict[str, float]
    error: SubmissionError | None = None
    #: what the student should know about a measured value (e.g. which pipeline check failed)
    notes: tuple[str, ...] = ()
    #: how the model ran: ``safe_mode`` (in this process) or ``sandbox`` (autograder.sandboxed_eval)
    evaluation: str = SAFE_MODE


def measure_outputs(task: Task, spec: GradingSpec, outputs: np.ndarray, test: Split) -> dict:
    return {m.name: float(task.measure(m.name, outputs, test)) for m in spec.metrics}


def measure_model_file(path: Path, spec: GradingSpec, task: Task, test: Split, *,
                       then: Callable[[object | None], None] | None = None,
                       cache: ArchitectureCache | None = None,
                       source: EvaluationSource | None = None) -> Measurement:
    """Load ``path`` safely, run it on ``test`` and measure every metric of ``spec``.

    ``then`` gets the loaded model afterwards (``None`` when it could not be loaded), for more
    work with the same model (the report's pictures) without loading it again. With ``cache``
    the model is loaded through it (a built model reused for a repeated architecture). With
    ``source`` (the student's notebook), a model that needs the student's own classes is run in
    sandboxes as the spec's ``[evaluation]`` says (:mod:`autograder.sandboxed_eval`).
    """
    load = cache.load if cache is not None else load_model_safely
    try:
        model, how = load_for_evaluation(path, spec, source, load)
    except SubmissionError as exc:
        if then is not None:
            then(None)
        return Measurement(values={}, error=exc)
    measured = dataclasses.replace(measure_model(model, path, spec, task, test), evaluation=how)
    if then is not None:
        then(model)
    return measured


def measure_model(model, path: Path, spec: GradingSpec, task: Task, test: Split) -> Measurement:
    """Run a loaded ``model`` (saved at ``path``) on ``test`` and measure every metric of ``spec``."""
    try:
        run_saved_model = getattr(task, "run_saved_model", None)
        run_model = getattr(task, "run_model", None)
        if run_saved_model is not None:
            outputs = run_saved_model(model, Path(path), test)
        elif run_model is not None:
            outputs = run_model(model, test)
        else:
            outputs = predict(model, test.x, expected_shape=task.expected_output_shape(test))
        return Measurement(values=measure_outputs(task, spec, outputs, test),
                           notes=tuple(getattr(outputs, "notes", ())))
    except SubmissionError as exc:
        return Measurement(values={}, error=exc)


def metric_part(
    spec: GradingSpec, metric: MetricSpec, refm: ReferenceMetrics, measurement: Measurement
) -> PartResult:
    """Points for one metric, with a reason the student can read when points were lost."""
    reference = refm.reference[metric.name]
    baseline = refm.baseline_value(metric)
    name = f"{spec.model_grade_id}:{metric.name}"
    common = dict(
        name=name, kind="model", max_points=metric.points, metric=metric.name,
        reference=reference, baseline=baseline, extra_credit=metric.extra_credit,
        evaluation=measurement.evaluation,
    )
    if measurement.error is not None:
        return PartResult(points=0.0, reason=measurement.error.reason, value=None, **common)
    value = measurement.values[metric.name]
    points = scale_points(
        value, baseline=baseline, reference=reference, points=metric.points,
        higher_is_better=get_metric(metric.name).higher_is_better,
    )
    points = round(points, 4)
    reason = ""
    if points < metric.points:
        reason = (
            f"{metric.name} {value:.4f} vs reference {reference:.4f} "
            f"(baseline {metric.baseline} {baseline:.4f}): {points:.2f} of {metric.points:g} points"
        )
        if measurement.notes:
            reason += ". " + "; ".join(measurement.notes)
    return PartResult(points=points, reason=reason, value=value, **common)


def score_measurement(
    spec: GradingSpec, refm: ReferenceMetrics, measurement: Measurement
) -> tuple[PartResult, ...]:
    return tuple(metric_part(spec, m, refm, measurement) for m in spec.metrics)
