"""`flowers` end to end on its simulated students (slow: runs notebooks and trains tiny models).

release -> fetch/fill in/run/submit through nbgrader's exchange -> collect -> autograde ->
model scored vs reference -> gradebook -> report, in load mode.
"""

from __future__ import annotations

import pytest
from assignment_checks import assignment_fixtures, check_gradebook_and_report

pytestmark = pytest.mark.slow

ASSIGNMENT = "flowers"
N_TEST_POINTS = 6


demo, results = assignment_fixtures(ASSIGNMENT)


def _part(result, name):
    return next(p for p in result.parts if p.name == name)


def test_correct_solution_earns_full_marks(results):
    r = results["correct"]
    assert r.max_model_points == 6
    assert r.model_points >= 0.9 * r.max_model_points, r.parts
    assert r.test_points == sum(p.max_points for p in r.parts if p.kind == "test") == N_TEST_POINTS
    assert all(p.reason == "" for p in r.parts if p.kind == "test")


def test_weak_model_scores_strictly_between(results):
    r = results["weak_model"]
    assert 0 < r.model_points < r.max_model_points
    accuracy = next(p for p in r.parts if p.metric == "accuracy")
    assert accuracy.baseline < accuracy.value < accuracy.reference
    assert "accuracy" in accuracy.reason and "reference" in accuracy.reason
    # Its Gaussian classifier is right: only the network is weak.
    assert _part(r, "test_log_likelihood").points == 2


def test_raising_training_cell_gets_zero_model_points(results):
    r = results["cell_raises"]
    model = [p for p in r.parts if p.kind == "model"]
    assert model and all(p.points == 0 and p.value is None for p in model)
    assert all("flowers_model.keras" in p.reason for p in model)


def test_hidden_test_catches_a_wrong_log_likelihood(results):
    # The same notebook forgets the log-determinant: the visible test (identity covariance)
    # passes, the hidden comparison with scipy fails; the rest of the notebook is still graded.
    r = results["cell_raises"]
    ll = _part(r, "test_log_likelihood")
    assert ll.points == 0 and "exact Gaussian log-density" in ll.reason
    assert _part(r, "test_fit_gaussians").points == 1
    assert _part(r, "test_build_model").points == 1


def test_gradebook_and_report_hold_every_score(demo, results):
    check_gradebook_and_report(demo, ASSIGNMENT, results)
