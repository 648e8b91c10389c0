"""`vae` end to end on its simulated students (slow: runs notebooks and trains small models).

release -> fetch/fill in/run/submit through nbgrader's exchange -> collect -> autograde ->
encoder and decoder called on hidden digits: reconstruction MSE, KL validity, decoded samples ->
scored vs reference -> gradebook -> report, in load mode.
"""

from __future__ import annotations

import pytest
from assignment_checks import assignment_fixtures, check_gradebook_and_report, metric_part

pytestmark = pytest.mark.slow

ASSIGNMENT = "vae"
METRICS = {"mean_squared_error", "kl_in_range_score", "valid_sample_score"}


demo, results = assignment_fixtures(ASSIGNMENT)


def test_correct_solution_earns_full_marks(results):
    r = results["correct"]
    assert r.max_model_points == 6
    assert {p.metric for p in r.parts if p.kind == "model"} == METRICS
    assert r.model_points >= 0.9 * r.max_model_points, r.parts
    assert r.test_points == sum(p.max_points for p in r.parts if p.kind == "test") == 4
    assert metric_part(r, "kl_in_range_score").value == 1.0
    assert metric_part(r, "valid_sample_score").value == 1.0


def test_weak_model_scores_strictly_between(results):
    r = results["weak_model"]
    assert 0 < r.model_points < r.max_model_points
    mse = metric_part(r, "mean_squared_error")
    assert mse.reference < mse.value < mse.baseline
    assert "mean_squared_error" in mse.reason and "reference" in mse.reason


def test_kl_check_catches_a_loss_without_the_kl_term(results):
    r = results["weak_model"]
    kl = metric_part(r, "kl_in_range_score")
    assert kl.value < 0.5 and kl.points < 0.5
    assert "kl_in_range_score" in kl.reason
    # Its decoder still makes valid, varied images from random codes.
    assert metric_part(r, "valid_sample_score").value > 0.9


def test_custom_layer_is_graded_in_a_sandbox(results):
    # Safe mode refuses its Sampling layer in the grader; a sandbox running the notebook's class
    # definitions evaluates it, measured as any VAE (one epoch of training: some points, not all).
    r = results["custom_sampling_layer"]
    model = [p for p in r.parts if p.kind == "model"]
    assert model and all(p.evaluation == "sandbox" and p.value is not None for p in model)
    assert 0 < r.model_points < r.max_model_points
    assert all("safe mode" not in p.reason for p in model)
    assert {p.evaluation for p in results["correct"].parts if p.kind == "model"} == {"safe_mode"}


def test_gradebook_and_report_hold_every_score(demo, results):
    check_gradebook_and_report(demo, ASSIGNMENT, results)
