"""Evaluation metrics for autograded submissions, implemented in pure numpy.

The public functions mirror the names and signatures of their scikit-learn
counterparts (``accuracy_score``, ``top_k_accuracy_score``,
``mean_squared_error``) so that course material can refer to either one, but
they validate their inputs more strictly and report problems with messages
aimed at students: every :class:`MetricInputError` states what was expected
and what was received.

A small registry (:data:`METRICS`, :func:`get_metric`) maps the metric names
used in assignment configuration files to the function that computes them and
to the direction in which the metric improves.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "METRICS",
    "MetricInfo",
    "MetricInputError",
    "accuracy_score",
    "get_metric",
    "mean_squared_error",
    "top_k_accuracy_score",
]


class MetricInputError(ValueError):
    """Raised when the inputs to a metric have the wrong shape, type or values."""


# ---------------------------------------------------------------------------
# Validation helpers
# ---------------------------------------------------------------------------


def _as_numeric_array(x: Any, name: str) -> np.ndarray:
    """Convert ``x`` to a numpy array and check that it is real-valued and non-empty.

    Args:
        x: Array-like input.
        name: Argument name used in error messages.

    Returns:
        The input as a numpy array (no copy if already an array).

    Raises:
        MetricInputError: If the input is not numeric or has no elements.
    """
    try:
        arr = np.asarray(x)
    except (TypeError, ValueError) as exc:  # e.g. ragged nested lists
        raise MetricInputError(f"{name} could not be converted to a numeric array: {exc}") from exc
    if arr.dtype.kind not in "biuf":
        raise MetricInputError(f"{name} must contain real numbers, got array of dtype {arr.dtype}")
    if arr.ndim == 0:
        raise MetricInputError(f"{name} must be an array, got a scalar")
    if arr.shape[0] == 0:
        raise MetricInputError(f"{name} is empty: no samples (shape {arr.shape})")
    if arr.size == 0:
        raise MetricInputError(f"{name} has no elements (shape {arr.shape})")
    return arr


def _check_finite(arr: np.ndarray, name: str) -> None:
    """Raise if ``arr`` contains NaN or infinite values."""
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        n_bad = int(np.count_nonzero(~np.isfinite(arr)))
        raise MetricInputError(
            f"{name} contains NaN or infinite values ({n_bad} of {arr.size} entries)"
        )


def _as_labels(x: Any, name: str) -> np.ndarray:
    """Validate a 1-D array of integer class labels.

    Floating-point arrays are accepted when every entry is a whole number
    (e.g. ``[0.0, 2.0]``); they are converted to ``int64``.

    Args:
        x: Array-like of class labels.
        name: Argument name used in error messages.

    Returns:
        A 1-D integer array.

    Raises:
        MetricInputError: If the labels are not 1-D, empty, non-finite or not
            integer-valued.
    """
    arr = _as_numeric_array(x, name)
    if arr.ndim != 1:
        raise MetricInputError(f"{name} must be 1-D class labels, got shape {arr.shape}")
    if arr.dtype.kind == "f":
        _check_finite(arr, name)
        if not np.all(arr == np.round(arr)):
            bad = arr[arr != np.round(arr)][0]
            raise MetricInputError(
                f"{name} must contain integer class labels, got non-integer value {bad!r}"
            )
        return arr.astype(np.int64)
    if arr.dtype.kind == "b":
        raise MetricInputError(f"{name} must contain integer class labels, got boolean array")
    return arr


def _check_same_n_samples(
    a: np.ndarray, b: np.ndarray, name_a: str = "y_true", name_b: str = "y_pred"
) -> None:
    """Raise if ``a`` and ``b`` disagree on the number of samples (first axis)."""
    if a.shape[0] != b.shape[0]:
        raise MetricInputError(
            f"{name_a} and {name_b} have different numbers of samples: {a.shape[0]} vs {b.shape[0]}"
        )


def _as_scores(x: Any, name: str) -> np.ndarray:
    """Validate a finite 2-D score matrix of shape (n_samples, n_classes)."""
    arr = _as_numeric_array(x, name)
    if arr.ndim != 2:
        raise MetricInputError(
            f"{name} must be 2-D scores of shape (n_samples, n_classes), got shape {arr.shape}"
        )
    _check_finite(arr, name)
    return arr


# ---------------------------------------------------------------------------
# Metrics
# ---------------------------------------------------------------------------


def accuracy_score(y_true: Any, y_pred: Any) -> float:
    """Fraction of samples whose predicted class equals the true class.

    Args:
        y_true: Integer class labels of shape ``(n_samples,)``.
        y_pred: Either predicted labels of shape ``(n_samples,)`` or class
            scores / probabilities of shape ``(n_samples, n_classes)``; in the
            latter case the prediction is the argmax over the class axis
            (first maximum on ties).

    Returns:
        Accuracy in ``[0, 1]`` as a Python float.

    Raises:
        MetricInputError: If the inputs are empty, have mismatched sample
            counts, contain NaN/inf, or ``y_true`` (or 1-D ``y_pred``) are not
            integer labels.
    """
    y_true_arr = _as_labels(y_true, "y_true")
    y_pred_arr = _as_numeric_array(y_pred, "y_pred")
    if y_pred_arr.ndim == 1:
        y_pred_arr = _as_labels(y_pred_arr, "y_pred")
        pred_labels = y_pred_arr
    elif y_pred_arr.ndim == 2:
        y_pred_arr = _as_scores(y_pred_arr, "y_pred")
        pred_labels = np.argmax(y_pred_arr, axis=1)
    else:
        raise MetricInputError(
            "y_pred must be 1-D labels (n_samples,) or 2-D scores "
            f"(n_samples, n_classes), got shape {y_pred_arr.shape}"
        )
    _check_same_n_samples(y_true_arr, y_pred_arr)
    return float(np.mean(y_true_arr == pred_labels))


def top_k_accuracy_score(y_true: Any, y_score: Any, k: int = 2) -> float:
    """Fraction of samples whose true class is among the ``k`` highest scores.

    Ties are broken deterministically: among equal scores the class with the
    smaller index ranks higher (``np.argsort(-y_score, kind="stable")``).

    Args:
        y_true: Integer class labels of shape ``(n_samples,)`` with values in
            ``[0, n_classes)``.
        y_score: Class scores / probabilities of shape
            ``(n_samples, n_classes)``.
        k: Number of top-ranked classes that count as a hit; an integer in
            ``[1, n_classes]``.

    Returns:
        Top-k accuracy in ``[0, 1]`` as a Python float.

    Raises:
        MetricInputError: If the inputs are malformed, ``k`` is out of range
            or not an integer, or a label lies outside ``[0, n_classes)``.
    """
    y_true_arr = _as_labels(y_true, "y_true")
    y_score_arr = _as_scores(y_score, "y_score")
    _check_same_n_samples(y_true_arr, y_score_arr, "y_true", "y_score")
    n_classes = y_score_arr.shape[1]

    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise MetricInputError(f"k must be an integer, got {type(k).__name__} {k!r}")
    if not 1 <= k <= n_classes:
        raise MetricInputError(f"k must be in [1, n_classes] = [1, {n_classes}], got k={k}")

    out_of_range = (y_true_arr < 0) | (y_true_arr >= n_classes)
    if np.any(out_of_range):
        bad = int(y_true_arr[out_of_range][0])
        raise MetricInputError(
            f"y_true contains label {bad} outside the valid range [0, {n_classes}) "
            f"implied by y_score with {n_classes} columns"
        )

    top_k = np.argsort(-y_score_arr, axis=1, kind="stable")[:, : int(k)]
    hits = np.any(top_k == y_true_arr[:, None], axis=1)
    return float(np.mean(hits))


def mean_squared_error(y_true: Any, y_pred: Any) -> float:
    """Mean of the squared differences over all elements.

    Args:
        y_true: Target values, any shape with at least one element.
        y_pred: Predicted values with exactly the same shape as ``y_true``.

    Returns:
        The mean squared error (``>= 0``) as a Python float.

    Raises:
        MetricInputError: If the inputs are empty, non-numeric, differ in
            shape, or contain NaN/inf.
    """
    y_true_arr = _as_numeric_array(y_true, "y_true")
    y_pred_arr = _as_numeric_array(y_pred, "y_pred")
    _check_same_n_samples(y_true_arr, y_pred_arr)
    if y_true_arr.shape != y_pred_arr.shape:
        raise MetricInputError(
            f"y_true and y_pred must have the same shape, got {y_true_arr.shape} "
            f"vs {y_pred_arr.shape}"
        )
    _check_finite(y_true_arr, "y_true")
    _check_finite(y_pred_arr, "y_pred")
    diff = y_true_arr.astype(np.float64) - y_pred_arr.astype(np.float64)
    return float(np.mean(diff * diff))


# ---------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MetricInfo:
    """Description of a registered metric.

    Attributes:
        name: Registry key used in assignment configuration.
        func: Callable ``func(y_true, y_pred) -> float``.
        higher_is_better: ``True`` for scores (accuracy), ``False`` for
            errors and losses.
    """

    name: str
    func: Callable[..., float]
    higher_is_better: bool


def _higher_is_better(name: str) -> bool:
    """Infer the direction of a metric from its name.

    ``*_score`` and ``*accuracy`` metrics improve upwards; ``*_error`` and
    ``*_loss`` metrics improve downwards.

    Raises:
        ValueError: If the name follows neither convention.
    """
    if name.endswith(("_error", "_loss")):
        return False
    if name.endswith(("_score", "accuracy")):
        return True
    raise ValueError(f"cannot infer the direction of metric {name!r} from its name")


def _register(name: str, func: Callable[..., float]) -> MetricInfo:
    return MetricInfo(name=name, func=func, higher_is_better=_higher_is_better(name))


METRICS: dict[str, MetricInfo] = {
    info.name: info
    for info in (
        _register("accuracy", accuracy_score),
        _register("top_2_accuracy", functools.partial(top_k_accuracy_score, k=2)),
        _register("mean_squared_error", mean_squared_error),
    )
}
"""Registered metrics, keyed by the name used in assignment configuration."""


def get_metric(name: str) -> MetricInfo:
    """Look up a registered metric by name.

    Args:
        name: Registry key, e.g. ``"accuracy"``.

    Returns:
        The matching :class:`MetricInfo`.

    Raises:
        KeyError: If no metric of that name is registered; the message lists
            the known names.
    """
    try:
        return METRICS[name]
    except KeyError:
        known = ", ".join(sorted(METRICS))
        raise KeyError(f"unknown metric {name!r}; known metrics: {known}") from None
