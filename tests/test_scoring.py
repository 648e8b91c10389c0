"""Tests for autograder.scoring."""

from __future__ import annotations

import math

import pytest

from autograder.scoring import MetricScore, ScoringError, scale_points, score_metric

HIGHER = {"baseline": 0.5, "reference": 0.9, "points": 10.0, "higher_is_better": True}
LOWER = {"baseline": 0.1, "reference": 0.02, "points": 10.0, "higher_is_better": False}


@pytest.mark.parametrize("cfg", [HIGHER, LOWER], ids=["higher", "lower"])
def test_baseline_gives_zero_and_reference_gives_full(cfg: dict) -> None:
    assert scale_points(cfg["baseline"], **cfg) == 0.0
    assert scale_points(cfg["reference"], **cfg) == pytest.approx(cfg["points"])


@pytest.mark.parametrize(
    ("cfg", "value"),
    [(HIGHER, 0.95), (HIGHER, 1.0), (LOWER, 0.01), (LOWER, 0.0)],
)
def test_beyond_reference_is_clipped_to_full(cfg: dict, value: float) -> None:
    assert scale_points(value, **cfg) == cfg["points"]


@pytest.mark.parametrize(
    ("cfg", "value"),
    [(HIGHER, 0.3), (HIGHER, 0.0), (LOWER, 0.5), (LOWER, 1e6)],
)
def test_worse_than_baseline_is_clipped_to_zero(cfg: dict, value: float) -> None:
    assert scale_points(value, **cfg) == 0.0


def test_midpoint_gives_half_higher_is_better() -> None:
    assert scale_points(0.7, **HIGHER) == pytest.approx(5.0)


def test_midpoint_gives_half_lower_is_better_mse() -> None:
    assert scale_points(
        0.06, baseline=0.1, reference=0.02, points=1.0, higher_is_better=False
    ) == pytest.approx(0.5)


def test_direction_is_respected() -> None:
    # Lower MSE must earn more points; higher accuracy must earn more points.
    assert scale_points(0.03, **LOWER) > scale_points(0.08, **LOWER)
    assert scale_points(0.85, **HIGHER) > scale_points(0.6, **HIGHER)


@pytest.mark.parametrize("cfg", [HIGHER, LOWER], ids=["higher", "lower"])
def test_nan_value_gives_zero(cfg: dict) -> None:
    assert scale_points(math.nan, **cfg) == 0.0


def test_infinite_value_is_best_or_worst_by_direction() -> None:
    # e.g. the PSNR of a perfect reconstruction is +inf: full points, never 0.
    assert scale_points(math.inf, **HIGHER) == HIGHER["points"]
    assert scale_points(-math.inf, **HIGHER) == 0.0
    assert scale_points(-math.inf, **LOWER) == LOWER["points"]
    assert scale_points(math.inf, **LOWER) == 0.0


@pytest.mark.parametrize(
    ("baseline", "reference", "higher_is_better"),
    [(0.9, 0.5, True), (0.5, 0.5, True), (0.02, 0.1, False), (0.1, 0.1, False)],
)
def test_reference_not_better_than_baseline_raises(
    baseline: float, reference: float, higher_is_better: bool
) -> None:
    with pytest.raises(ScoringError, match=r"reference must be better than baseline"):
        scale_points(
            0.5,
            baseline=baseline,
            reference=reference,
            points=1.0,
            higher_is_better=higher_is_better,
        )


def test_negative_points_raise() -> None:
    with pytest.raises(ScoringError, match=r"points must be non-negative"):
        scale_points(0.7, baseline=0.5, reference=0.9, points=-1.0, higher_is_better=True)


@pytest.mark.parametrize("field", ["baseline", "reference", "points"])
def test_non_finite_config_raises(field: str) -> None:
    cfg = dict(HIGHER)
    cfg[field] = math.nan
    with pytest.raises(ScoringError, match=rf"{field} must be a finite number"):
        scale_points(0.7, **cfg)


def test_scoring_error_is_value_error() -> None:
    assert issubclass(ScoringError, ValueError)


def test_zero_points_gives_zero() -> None:
    assert scale_points(0.9, baseline=0.5, reference=0.9, points=0.0, higher_is_better=True) == 0.0


def test_score_metric_with_none_value_gives_zero_points() -> None:
    result = score_metric("accuracy", None, baseline=0.5, reference=0.9, max_points=10.0)
    assert isinstance(result, MetricScore)
    assert result.value is None
    assert result.points == 0.0
    assert result.max_points == 10.0
    assert result.fraction == 0.0


def test_score_metric_none_value_still_validates_config() -> None:
    with pytest.raises(ScoringError):
        score_metric("accuracy", None, baseline=0.9, reference=0.5, max_points=10.0)


def test_score_metric_takes_direction_from_registry() -> None:
    acc = score_metric("accuracy", 0.7, baseline=0.5, reference=0.9, max_points=10.0)
    assert acc.higher_is_better is True
    assert acc.points == pytest.approx(5.0)
    assert acc.fraction == pytest.approx(0.5)

    mse = score_metric("mean_squared_error", 0.06, baseline=0.1, reference=0.02, max_points=4.0)
    assert mse.higher_is_better is False
    assert mse.points == pytest.approx(2.0)
    assert mse.fraction == pytest.approx(0.5)

    top2 = score_metric("top_2_accuracy", 1.0, baseline=0.5, reference=0.9, max_points=3.0)
    assert top2.higher_is_better is True
    assert top2.points == 3.0

    # A lower-is-better configuration is rejected for a higher-is-better metric.
    with pytest.raises(ScoringError, match=r"reference must be better than baseline"):
        score_metric("accuracy", 0.5, baseline=0.1, reference=0.02, max_points=1.0)


def test_score_metric_unknown_metric_raises_key_error() -> None:
    with pytest.raises(KeyError, match=r"known metrics"):
        score_metric("f1", 0.5, baseline=0.1, reference=0.9, max_points=1.0)


def test_metric_score_fraction_with_zero_max_points() -> None:
    result = score_metric("accuracy", 0.9, baseline=0.5, reference=0.9, max_points=0.0)
    assert result.points == 0.0
    assert result.fraction == 0.0


def test_metric_score_is_frozen() -> None:
    result = score_metric("accuracy", 0.7, baseline=0.5, reference=0.9, max_points=1.0)
    with pytest.raises(AttributeError):
        result.points = 1.0  # type: ignore[misc]
