"""Pictures of what a model does: confusion matrices, mistakes, best and worst reconstructions.

The numbers behind each picture are computed here, as frozen dataclasses of numpy arrays, from a
model's outputs on a split. Which split is the caller's choice: the instructor report may use the
hidden test split; a student's feedback must use data the student may see (their training split).
Drawing them is :mod:`autograder.reports.figures`' job.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .data import Split
from .errors import SubmissionError
from .spec import GradingSpec


@dataclass(frozen=True)
class ClassifierPictures:
    """A classifier's confusion matrix and its most confident mistakes.

    Attributes:
        confusion: counts, rows the true class, columns the predicted class.
        mistake_images: inputs of the most confident mistakes, most confident first.
        mistake_true: their true classes.
        mistake_top2: the model's two most likely classes for each of them.
    """

    confusion: np.ndarray
    mistake_images: np.ndarray
    mistake_true: np.ndarray
    mistake_top2: np.ndarray


@dataclass(frozen=True)
class ReconstructionPictures:
    """The best and worst outputs of a model whose output is an image.

    Attributes:
        inputs, outputs, targets: the chosen examples, best first then worst.
        errors: each example's mean squared error.
        n_best: how many of the examples are the best ones (the rest are the worst).
    """

    inputs: np.ndarray
    outputs: np.ndarray
    targets: np.ndarray
    errors: np.ndarray
    n_best: int


@dataclass(frozen=True)
class NeighbourPictures:
    """An embedding model's closest matches: photos beside the nearest other photo by encoding.

    Attributes:
        queries, matches: each chosen photo and its nearest other photo, right matches first.
        distances: their squared encoding distances.
        same: whether each match is the same identity.
        recall_at_1: the fraction of right nearest matches over the whole split.
    """

    queries: np.ndarray
    matches: np.ndarray
    distances: np.ndarray
    same: np.ndarray
    recall_at_1: float


Pictures = ClassifierPictures | ReconstructionPictures | NeighbourPictures
#: How many examples of a split the pictures are made from.
PICTURE_EXAMPLES = 500


def classifier_pictures(scores: np.ndarray, split: Split, n_mistakes: int = 2) -> ClassifierPictures:
    """Confusion matrix and the ``n_mistakes`` most confident mistakes of class ``scores``."""
    scores = np.asarray(scores, dtype=np.float64)
    y = np.asarray(split.y).astype(int).ravel()
    if scores.ndim != 2 or len(scores) != len(y):
        raise ValueError(f"scores of shape {scores.shape} do not match {len(y)} labels")
    n = max(scores.shape[1], int(y.max()) + 1)
    pred = scores.argmax(axis=1)
    confusion = np.zeros((n, n), dtype=np.int64)
    np.add.at(confusion, (y, pred), 1)
    wrong = np.flatnonzero(pred != y)
    wrong = wrong[np.argsort(-scores[wrong, pred[wrong]], kind="stable")][:n_mistakes]
    top2 = np.argsort(-scores, axis=1, kind="stable")[:, :2]
    return ClassifierPictures(confusion, np.asarray(split.x)[wrong], y[wrong], top2[wrong])


def reconstruction_pictures(outputs: np.ndarray, split: Split, n: int = 3) -> ReconstructionPictures:
    """The ``n`` best and ``n`` worst outputs against the targets, by per-example squared error."""
    outputs = np.asarray(outputs, dtype=np.float64)
    targets = np.asarray(split.y, dtype=np.float64)
    if outputs.shape != targets.shape:
        raise ValueError(f"outputs of shape {outputs.shape} do not match targets {targets.shape}")
    errors = ((outputs - targets) ** 2).reshape(len(targets), -1).mean(axis=1)
    order = np.argsort(errors, kind="stable")
    n = min(n, len(order) // 2) or min(1, len(order))
    chosen = np.concatenate([order[:n], order[::-1][:n]]) if len(order) > 1 else order
    return ReconstructionPictures(np.asarray(split.x)[chosen], outputs[chosen], targets[chosen],
                                  errors[chosen], n)


def neighbour_pictures(encodings: np.ndarray, split: Split, n: int = 3) -> NeighbourPictures:
    """``n`` right nearest matches (the first photos) and the ``n`` closest wrong ones (the model's
    most confident mistakes), by squared distance between encodings, each photo against all others."""
    from .metrics import pairwise_squared_distances

    encodings = np.asarray(encodings, dtype=np.float64)
    y = np.asarray(split.y).ravel()
    if encodings.ndim != 2 or len(encodings) != len(y) or len(y) < 2:
        raise ValueError(f"encodings of shape {encodings.shape} do not match {len(y)} identities")
    dist = pairwise_squared_distances(encodings)
    np.fill_diagonal(dist, np.inf)
    nearest = np.argmin(dist, axis=1)
    best = dist[np.arange(len(y)), nearest]
    same = y[nearest] == y
    wrong = np.flatnonzero(~same)
    chosen = [*_distinct_pairs(np.flatnonzero(same), nearest, n),
              *_distinct_pairs(wrong[np.argsort(best[wrong], kind="stable")], nearest, n)]
    x = np.asarray(split.x)
    return NeighbourPictures(x[chosen], x[nearest[chosen]], best[chosen], same[chosen],
                             float(np.mean(same)))


def _distinct_pairs(queries: np.ndarray, nearest: np.ndarray, n: int) -> list[int]:
    """The first ``n`` queries whose pair {query, nearest} was not shown yet (A->B and B->A are one)."""
    seen: set[frozenset[int]] = set()
    out: list[int] = []
    for q in queries:
        pair = frozenset((int(q), int(nearest[q])))
        if pair not in seen and len(out) < n:
            seen.add(pair)
            out.append(int(q))
    return out


def is_image_like(outputs: np.ndarray, split: Split) -> bool:
    """Whether outputs are images shaped like the targets (at least 8x8 values per example)."""
    out = np.asarray(outputs)
    return out.shape == np.asarray(split.y).shape and out.ndim >= 2 and out[0].size >= 64


def pictures_of_outputs(task: str, outputs, split: Split) -> Pictures | None:
    """The pictures that suit a task's outputs, or ``None`` when none do (e.g. a 1-D regression)."""
    outputs = getattr(outputs, "reconstruction", outputs)  # a VAE's outputs hold several arrays
    if task == "classifier":
        return classifier_pictures(outputs, split)
    if task == "embedding":
        return neighbour_pictures(outputs, split)
    if is_image_like(outputs, split):
        return reconstruction_pictures(outputs, split)
    return None


def run_on(model, spec: GradingSpec, split: Split):
    """Run a loaded ``model`` on ``split`` as grading does (the task's own runner)."""
    from .models import predict
    from .tasks import get_task

    task = get_task(spec.task)
    run_model = getattr(task, "run_model", None)
    if run_model is not None:
        return run_model(model, split)
    return predict(model, split.x, expected_shape=task.expected_output_shape(split))


def model_pictures(path: Path, spec: GradingSpec, split: Split, source=None) -> Pictures | None:
    """Pictures of the model saved at ``path`` on ``split``; ``None`` when it cannot be run.

    With ``source`` (an :class:`autograder.sandboxed_eval.EvaluationSource`), a model that needs
    the student's own classes is run in sandboxes, as grading runs it.
    """
    from .sandboxed_eval import load_for_evaluation

    if not path.is_file():
        return None
    try:
        model, _how = load_for_evaluation(path, spec, source)
    except (SubmissionError, ValueError):
        return None
    return pictures_of_model(model, spec, split)


def pictures_of_model(model, spec: GradingSpec, split: Split) -> Pictures | None:
    """Pictures of a loaded ``model`` on ``split``; ``None`` when it cannot be run."""
    try:
        return pictures_of_outputs(spec.task, run_on(model, spec, split), split)
    except (SubmissionError, ValueError):
        return None


def first(split: Split, n: int) -> Split:
    """The first ``n`` examples of ``split`` (pictures need only a few hundred)."""
    return Split(split.x[:n], split.y[:n])


@dataclass(frozen=True)
class ClassPictures:
    """Pictures of every gradable model of an assignment, or why there are none."""

    by_model: dict[str, dict[str, Pictures]]
    note: str = ""


def class_pictures(course, assignment: str, students: list[str], split: str = "test",
                   limit: int = PICTURE_EXAMPLES) -> ClassPictures:
    """Each student's saved models (load mode) run on ``limit`` examples of ``split``.

    For the instructor report (hidden ``test`` data is fine there). Keyed by each model's grade id,
    so the models of a multi-model assignment stay apart. Pictures the grading worker stored for
    the same model file and examples (:mod:`autograder.picture_cache`) are used as they are.
    """
    from . import picture_cache
    from .errors import AutograderError

    try:
        models = course.spec(assignment).models()
    except AutograderError as exc:
        return ClassPictures({}, f"no model pictures: {exc}")
    by_model: dict[str, dict[str, Pictures]] = {}
    for spec in models:
        data = _data(spec, split, limit)
        shown = data.fingerprint if data is not None else ""  # the same examples for every student
        for student in students if data is not None else []:
            path = course.submitted_dir(assignment, student) / spec.model_file
            if not path.is_file():
                continue
            pictures = picture_cache.lookup(course, assignment, student, spec, path, shown)
            if pictures is picture_cache.MISSING:
                pictures = model_pictures(path, spec, data)
            if pictures is not None:
                by_model.setdefault(spec.model_grade_id, {})[student] = pictures
    note = "" if by_model else "no model pictures: no saved model could be run (train mode keeps none)"
    return ClassPictures(by_model, note)


def student_model_pictures(course, assignment: str, student: str, split: str,
                           limit: int = 300) -> dict[str, Pictures | None]:
    """Pictures of each of a student's saved models on ``split``, keyed by model grade id."""
    from .errors import AutograderError

    try:
        models = course.spec(assignment).models()
    except AutograderError:
        return {}
    import shutil

    from .sandboxed_eval import EvaluationSource

    out: dict[str, Pictures | None] = {}
    for spec in models:
        data = _data(spec, split, limit)
        path = course.submitted_dir(assignment, student) / spec.model_file
        # a model with the student's own classes runs in sandboxes, as when it was graded
        scratch = source = None
        if getattr(spec, "notebook", "") and hasattr(course, "scratch_dir"):
            scratch = course.scratch_dir(assignment, student) / "feedback"
            source = EvaluationSource(course.submitted_dir(assignment, student) / f"{spec.notebook}.ipynb",
                                      spec, scratch)
        try:
            out[spec.model_grade_id] = None if data is None else model_pictures(path, spec, data, source)
        finally:
            if scratch is not None:
                shutil.rmtree(scratch, ignore_errors=True)
    return out


def _data(spec: GradingSpec, split: str, limit: int) -> Split | None:
    from .data import load_dataset
    from .errors import AutograderError

    try:
        return first(load_dataset(spec.dataset, split), limit)
    except AutograderError:
        return None
