"""The model pass: each student's saved model loaded once (Keras safe mode), reduced to a weights
summary and measured on the public and the hidden split. The only integrity module that imports
TensorFlow (through :mod:`autograder.models`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..course import Course
from ..picture_cache import file_digest
from ..spec import GradingSpec
from .hidden import ScoreGap
from .weights import ModelSummary, summarize


@dataclass(frozen=True)
class ModelPass:
    """What the model pass found: summaries, score gaps, and what it could not do."""

    summaries: tuple[ModelSummary, ...]
    gaps: tuple[ScoreGap, ...]
    notes: tuple[str, ...] = ()


def model_name(spec: GradingSpec) -> str:
    """How tables name one model of an assignment: its part, else its task cell's grade id."""
    return spec.part or spec.model_grade_id or spec.model_file


def inspect_models(course: Course, spec: GradingSpec, students: Sequence[str], *,
                   scores: bool = True) -> ModelPass:
    """Load each student's saved model of every model of ``spec`` (load mode only).

    Args:
        course: the course.
        spec: the assignment's spec.
        students: whose submissions to read (``submitted/<student>/<assignment>/``).
        scores: also measure each model on the public and hidden splits.
    """
    summaries: list[ModelSummary] = []
    gaps: list[ScoreGap] = []
    notes: list[str] = []
    for model in spec.models():
        name = model_name(model)
        if model.mode != "load" or not model.model_file:
            notes.append(f"{name}: graded in {model.mode} mode, no model files are kept: only code "
                         "similarity is checked")
            continue
        measure = _measurer(course, model) if scores else None
        if measure is not None and isinstance(measure, str):
            notes.append(f"{name}: no public/hidden scores ({measure})")
            measure = None
        missing, broken = [], []
        for student in students:
            path = course.submitted_dir(spec.assignment, student) / model.model_file
            if not path.is_file():
                missing.append(student)
                continue
            summary, gap, error = _inspect_one(path, student, name, model, measure)
            if error:
                broken.append(f"{student} ({error})")
                continue
            summaries.append(summary)
            if gap is not None:
                gaps.append(gap)
        if missing:
            notes.append(f"{name}: no {model.model_file} from {len(missing)} students: {', '.join(missing)}")
        if broken:
            notes.append(f"{name}: could not read the models of {', '.join(broken)}")
    return ModelPass(tuple(summaries), tuple(gaps), tuple(notes))


def _measurer(course: Course, model: GradingSpec):
    """``measure(keras_model, path) -> (metric, higher_is_better, public, hidden)``, or why not."""
    from ..data import load_dataset
    from ..evaluate import measure_model
    from ..metrics import get_metric
    from ..tasks import get_task

    graded = [m for m in model.metrics if not m.extra_credit] or list(model.metrics)
    if not graded:
        return "the model has no metric"
    metric = graded[0].name
    try:
        task = get_task(model.task, course.reference_dir(model.assignment).parent)
        public = load_dataset(model.dataset, "train")
        hidden = load_dataset(model.dataset, "test")
        higher = get_metric(metric).higher_is_better
    except Exception as exc:  # a missing dataset or plugin: the other checks still run
        return f"{type(exc).__name__}: {str(exc)[:200]}"

    def measure(keras_model, path: Path):
        values = []
        for split in (public, hidden):
            measured = measure_model(keras_model, path, model, task, split)
            if measured.error is not None or metric not in measured.values:
                return None
            values.append(float(measured.values[metric]))
        return metric, higher, values[0], values[1]

    return measure


def _inspect_one(path: Path, student: str, name: str, model: GradingSpec, measure):
    from ..errors import SubmissionError
    from ..models import load_model_safely

    try:
        keras_model = load_model_safely(path, max_mb=model.budget.max_model_mb)
    except SubmissionError as exc:
        return None, None, exc.reason
    summary = summarize(student, name, file_digest(path), keras_model.get_weights())
    gap = None
    if measure is not None:
        try:
            found = measure(keras_model, path)
        except Exception:  # a task that cannot run on the public split: no gap, not a crash
            found = None
        if found is not None:
            metric, higher, public, hidden = found
            gap = ScoreGap(student, name, metric, higher, public, hidden, summary.weights_sha256)
    return summary, gap, ""
