"""Turn metric values into assignment points.

Points scale linearly between a *baseline* value (worth 0 points, e.g. the
accuracy of always predicting the majority class) and a *reference* value
(worth full points, e.g. the accuracy of the instructor's solution). Values
beyond the reference earn full points; values worse than the baseline earn
none.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from autograder.metrics import get_metric

__all__ = ["MetricScore", "ScoringError", "scale_points", "score_metric"]


class ScoringError(ValueError):
    """Raised when a scoring configuration is invalid."""


def _validate_config(
    *, baseline: float, reference: float, points: float, higher_is_better: bool
) -> None:
    """Check that baseline, reference and points form a valid scoring rule.

    Raises:
        ScoringError: If any parameter is non-finite, ``points`` is negative,
            or the reference is not strictly better than the baseline in the
            metric's direction.
    """
    for label, number in (("baseline", baseline), ("reference", reference), ("points", points)):
        if not math.isfinite(number):
            raise ScoringError(f"{label} must be a finite number, got {number!r}")
    if points < 0:
        raise ScoringError(f"points must be non-negative, got {points!r}")
    if higher_is_better and reference <= baseline:
        raise ScoringError(
            "reference must be better than baseline for a higher-is-better metric "
            f"(reference > baseline), got reference={reference!r}, baseline={baseline!r}"
        )
    if not higher_is_better and reference >= baseline:
        raise ScoringError(
            "reference must be better than baseline for a lower-is-better metric "
            f"(reference < baseline), got reference={reference!r}, baseline={baseline!r}"
        )


def scale_points(
    value: float,
    *,
    baseline: float,
    reference: float,
    points: float,
    higher_is_better: bool,
) -> float:
    """Linearly map a metric value to points between baseline and reference.

    The fraction of the way from ``baseline`` to ``reference`` is clipped to
    ``[0, 1]`` and multiplied by ``points``.

    Args:
        value: The submission's metric value. NaN earns 0; an infinite value earns full points
            in the metric's direction (PSNR of a perfect output) and 0 in the other.
        baseline: Metric value worth 0 points.
        reference: Metric value worth full points; must be strictly better
            than ``baseline`` in the metric's direction.
        points: Maximum number of points (``>= 0``).
        higher_is_better: Direction of the metric (``True`` for accuracy,
            ``False`` for errors and losses).

    Returns:
        Points earned, in ``[0, points]``.

    Raises:
        ScoringError: If the configuration is invalid (see above).
    """
    _validate_config(
        baseline=baseline,
        reference=reference,
        points=points,
        higher_is_better=higher_is_better,
    )
    if value is None or math.isnan(value):
        return 0.0
    if math.isinf(value):
        # An infinite value is the best possible one in its direction (e.g. the PSNR of a perfect
        # output is +inf) and the worst possible one in the other.
        best = value > 0 if higher_is_better else value < 0
        return float(points) if best else 0.0
    if higher_is_better:
        fraction = (value - baseline) / (reference - baseline)
    else:
        fraction = (baseline - value) / (baseline - reference)
    fraction = min(max(fraction, 0.0), 1.0)
    return float(fraction * points)


@dataclass(frozen=True)
class MetricScore:
    """The points earned for one metric.

    Attributes:
        metric: Registry name of the metric.
        value: Metric value of the submission, or ``None`` if it could not be
            computed.
        baseline: Metric value worth 0 points.
        reference: Metric value worth full points.
        points: Points earned.
        max_points: Points available.
        higher_is_better: Direction of the metric.
    """

    metric: str
    value: float | None
    baseline: float
    reference: float
    points: float
    max_points: float
    higher_is_better: bool

    @property
    def fraction(self) -> float:
        """Share of the available points earned (0 when ``max_points`` is 0)."""
        if self.max_points == 0:
            return 0.0
        return self.points / self.max_points


def score_metric(
    metric: str,
    value: float | None,
    *,
    baseline: float,
    reference: float,
    max_points: float,
) -> MetricScore:
    """Score a metric value, taking its direction from the metric registry.

    Args:
        metric: Registry name, e.g. ``"accuracy"`` or ``"mean_squared_error"``.
        value: The submission's metric value, or ``None`` if the metric could
            not be computed (which earns 0 points).
        baseline: Metric value worth 0 points.
        reference: Metric value worth ``max_points``.
        max_points: Points available (``>= 0``).

    Returns:
        A :class:`MetricScore` describing the result.

    Raises:
        KeyError: If ``metric`` is not registered.
        ScoringError: If the configuration is invalid; this is checked even
            when ``value`` is ``None``.
    """
    higher_is_better = get_metric(metric).higher_is_better
    points = scale_points(
        math.nan if value is None else value,
        baseline=baseline,
        reference=reference,
        points=max_points,
        higher_is_better=higher_is_better,
    )
    return MetricScore(
        metric=metric,
        value=None if value is None else float(value),
        baseline=baseline,
        reference=reference,
        points=points,
        max_points=max_points,
        higher_is_better=higher_is_better,
    )
