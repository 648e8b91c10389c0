"""`sinx` end to end on its simulated students (slow: runs notebooks and trains tiny models).

release -> fetch/fill in/run/submit through nbgrader's exchange -> collect -> autograde ->
model scored vs reference -> gradebook -> report, in load mode.
"""

from __future__ import annotations

import pytest
from assignment_checks import assignment_fixtures, check_gradebook_and_report

pytestmark = pytest.mark.slow

ASSIGNMENT = "sinx"


demo, results = assignment_fixtures(ASSIGNMENT)


def test_correct_solution_earns_full_marks(results):
    r = results["correct"]
    assert r.max_model_points == 6
    assert r.model_points >= 0.9 * r.max_model_points, r.parts
    assert r.test_points == sum(p.max_points for p in r.parts if p.kind == "test") == 4
    mse = next(p for p in r.parts if p.metric == "mean_squared_error")
    assert mse.value < 0.05 * mse.baseline


def test_weak_model_scores_strictly_between(results):
    r = results["weak_model"]
    assert 0 < r.model_points < r.max_model_points
    mse = next(p for p in r.parts if p.metric == "mean_squared_error")
    assert mse.reference < mse.value < mse.baseline
    assert "mean_squared_error" in mse.reason and "reference" in mse.reason


def test_wrong_output_shape_gets_zero_model_points_and_fails_the_shape_test(results):
    r = results["wrong_output_shape"]
    model = [p for p in r.parts if p.kind == "model"]
    assert model and all(p.points == 0 and p.value is None for p in model)
    assert all("(batch, 2)" in p.reason and "(batch, 1)" in p.reason for p in model)
    shape_test = next(p for p in r.parts if p.name == "test_build_model")
    assert shape_test.points == 0 and "output shape" in shape_test.reason


def test_gradebook_and_report_hold_every_score(demo, results):
    check_gradebook_and_report(demo, ASSIGNMENT, results)
