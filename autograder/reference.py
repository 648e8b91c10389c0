"""``autograder train-reference``: rebuild an assignment's reference model and its metrics.

The reference is trained by the very code path that grades ``train`` mode, on the instructor's
solution cells of ``source/<assignment>/<notebook>.ipynb``, with the spec's reference seed and
budget, with TensorFlow's deterministic ops. Its metrics, and the baselines', are measured on the
hidden split by the same evaluation code that grades students.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .course import Course
from .data import fingerprint, load_dataset, write_student_files
from .errors import AutograderError, SubmissionError
from .evaluate import measure_model_file
from .histories import history_path
from .notebook import cell_sources
from .reference_drift import ReferenceDrift, compare_metrics
from .spec import METRICS_FILE, REFERENCE_MODEL_FILE, GradingSpec, ReferenceMetrics
from .tasks import get_task


def weights_fingerprint(model_path: Path) -> str:
    """A version id of a model from its weights (``.keras`` zips also hold a save date)."""
    from .models import load_model_safely

    model = load_model_safely(model_path, max_mb=1e9)
    return fingerprint(*[np.asarray(w) for w in model.get_weights()])


@dataclass(frozen=True)
class ReferenceBuild:
    """One retrained reference: its metrics, and how far they moved from the ones it replaced."""

    metrics: ReferenceMetrics
    #: against the metrics.json that was there before (None when there was none)
    drift: ReferenceDrift | None


def train_reference(course: Course, assignment: str) -> list[ReferenceBuild]:
    """Train every model of ``assignment`` (one per part) and write its reference and metrics."""
    spec = course.spec(assignment)
    builds = []
    for model in spec.models():
        path = course.model_reference_dir(model) / METRICS_FILE
        previous = _read_payload(path)
        metrics = train_model_reference(course, model)
        drift = compare_metrics(previous, _read_payload(path)) if previous is not None else None
        builds.append(ReferenceBuild(metrics, drift))
    return builds


def _read_payload(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def train_model_reference(course: Course, spec: GradingSpec) -> ReferenceMetrics:
    from .runner.train import train_model_from_notebook

    assignment = spec.assignment
    ref_dir = course.model_reference_dir(spec)
    ref_dir.mkdir(parents=True, exist_ok=True)
    notebook = course.source_dir(assignment) / f"{spec.notebook}.ipynb"
    written = write_student_files(spec.dataset, course.source_dir(assignment) / "data")
    task = get_task(spec.task, course.reference_dir(assignment).parent)
    train = load_dataset(spec.dataset, "train")
    test = load_dataset(spec.dataset, "test")
    if hasattr(task, "measure_notebook"):
        return _write_metrics(course, spec, *_measure_notebook_reference(task, notebook, spec, test),
                              test=test, train=train, written=written)
    with tempfile.TemporaryDirectory() as scratch:
        try:
            trained = train_model_from_notebook(
                notebook, spec, Path(scratch), seed=spec.reference_seed,
                kind=getattr(task, "train_job", "train"),
            )
        except SubmissionError as exc:
            part = f" ({spec.part})" if spec.part else ""
            raise AutograderError(f"the reference solution{part} failed to train: {exc.reason}") from exc
        shutil.copyfile(trained, ref_dir / REFERENCE_MODEL_FILE)
        if history_path(trained).is_file():  # a loss history saved beside the model (e.g. a GAN's)
            shutil.copyfile(history_path(trained), history_path(ref_dir / REFERENCE_MODEL_FILE))
    measured = measure_model_file(ref_dir / REFERENCE_MODEL_FILE, spec, task, test)
    if measured.error is not None:
        raise AutograderError(f"the reference model cannot be evaluated: {measured.error.reason}")
    baselines: dict[str, dict[str, float]] = {}
    for m in spec.metrics:
        outputs = task.baseline_outputs(m.baseline, train, test)
        baselines.setdefault(m.name, {})[m.baseline] = float(task.measure(m.name, outputs, test))
    return _write_metrics(course, spec, measured.values, baselines,
                          weights_fingerprint(ref_dir / REFERENCE_MODEL_FILE),
                          test=test, train=train, written=written)


def _measure_notebook_reference(task, notebook: Path, spec: GradingSpec, test):
    """Reference values of a task that grades notebook code itself (no model file is kept)."""
    with tempfile.TemporaryDirectory() as scratch:
        measured = task.measure_notebook(notebook, spec, Path(scratch), test, seed=spec.reference_seed)
    if measured.error is not None:
        raise AutograderError(f"the reference solution failed: {measured.error.reason}")
    baselines = {m.name: {m.baseline: task.baseline_value(m.name, m.baseline)} for m in spec.metrics}
    cells = "\n".join(source for _gid, source in cell_sources(notebook, spec.train.cells))
    return measured.values, baselines, hashlib.sha256(cells.encode()).hexdigest()[:16]


def _write_metrics(course: Course, spec: GradingSpec, values: dict[str, float],
                   baselines: dict[str, dict[str, float]], version: str, *, test, train,
                   written: list[Path]) -> ReferenceMetrics:
    ref_dir = course.model_reference_dir(spec)
    refm = ReferenceMetrics(
        reference={k: round(v, 6) for k, v in values.items()},
        baseline={k: {b: round(v, 6) for b, v in d.items()} for k, d in baselines.items()},
        data_fingerprint=test.fingerprint,
        version=version,
    )
    payload = {
        "assignment": spec.assignment,
        "reference": refm.reference,
        "baseline": refm.baseline,
        "data_fingerprint": refm.data_fingerprint,
        "train_fingerprint": train.fingerprint,
        "version": refm.version,
        "seed": spec.reference_seed,
        "budget": {"epochs": spec.budget.epochs, "batch_size": spec.budget.batch_size},
        "student_files": [str(p.relative_to(course.root)) for p in written],
    }
    if spec.part:
        payload["part"] = spec.part
    (ref_dir / METRICS_FILE).write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")
    return refm
