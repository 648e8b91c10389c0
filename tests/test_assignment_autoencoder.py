"""`autoencoder` end to end on its simulated students (slow: runs notebooks and trains models).

release -> fetch/fill in/run/submit through nbgrader's exchange -> collect -> autograde ->
encoder and decoder called separately on hidden digits -> scored vs reference -> gradebook -> report.
"""

from __future__ import annotations

import pytest
from assignment_checks import assignment_fixtures, check_gradebook_and_report

pytestmark = pytest.mark.slow

ASSIGNMENT = "autoencoder"


demo, results = assignment_fixtures(ASSIGNMENT)


def test_correct_solution_earns_full_marks(results):
    r = results["correct"]
    assert r.max_model_points == 6
    assert r.model_points >= 0.9 * r.max_model_points, r.parts
    assert r.test_points == sum(p.max_points for p in r.parts if p.kind == "test") == 4


def test_weak_model_scores_strictly_between(results):
    r = results["weak_model"]
    assert 0 < r.model_points < r.max_model_points
    mse = next(p for p in r.parts if p.metric == "mean_squared_error")
    assert mse.reference < mse.value < mse.baseline
    assert "mean_squared_error" in mse.reason and "reference" in mse.reason


def test_no_bottleneck_gets_zero_model_points_with_the_reason(results):
    r = results["no_bottleneck"]
    model = [p for p in r.parts if p.kind == "model"]
    assert model and all(p.points == 0 and p.value is None for p in model)
    assert all(
        "the encoder outputs 784 values per image; the bottleneck must be at most 32 wide"
        in p.reason for p in model
    )
    # The notebook's own shape test saw it too.
    shapes = next(p for p in r.parts if p.name == "test_build_model")
    assert shapes.points == 0 and "(None, 32)" in shapes.reason


def test_gradebook_and_report_hold_every_score(demo, results):
    check_gradebook_and_report(demo, ASSIGNMENT, results)
