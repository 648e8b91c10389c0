"""`gan` end to end on its simulated students (slow: runs notebooks and trains small GANs).

release -> fetch/fill in/run/submit through nbgrader's exchange -> collect -> autograde ->
generator samples shown to the digits judge (inception score), loss history checked ->
scored vs reference -> gradebook -> report, in load mode.
"""

from __future__ import annotations

import pytest
from assignment_checks import assignment_fixtures, check_gradebook_and_report, metric_part

pytestmark = pytest.mark.slow

ASSIGNMENT = "gan"
METRICS = {"inception_score", "gan_dynamics_score"}


demo, results = assignment_fixtures(ASSIGNMENT)


def test_correct_solution_earns_full_marks(results):
    r = results["correct"]
    assert r.max_model_points == 6
    assert {p.metric for p in r.parts if p.kind == "model"} == METRICS
    assert r.model_points >= 0.9 * r.max_model_points, r.parts
    assert r.test_points == sum(p.max_points for p in r.parts if p.kind == "test") == 4
    assert metric_part(r, "gan_dynamics_score").value == 1.0
    score = metric_part(r, "inception_score")
    assert score.value > score.baseline + 1.0  # far above random noise


def test_weak_model_scores_strictly_between(results):
    r = results["weak_model"]
    assert 0 < r.model_points < r.max_model_points
    score = metric_part(r, "inception_score")
    assert score.value < score.reference
    assert score.points < score.max_points
    assert "inception_score" in score.reason and "reference" in score.reason


def test_lambda_generator_is_refused_by_safe_loading(results):
    r = results["lambda_generator"]
    model = [p for p in r.parts if p.kind == "model"]
    assert model and all(p.points == 0 and p.value is None for p in model)
    assert all("safe mode" in p.reason and "gan_generator.keras" in p.reason for p in model)
    # The notebook itself ran: its visible model test passed.
    assert next(p for p in r.parts if p.name == "test_gan_models").points == 1


def test_gradebook_and_report_hold_every_score(demo, results):
    check_gradebook_and_report(demo, ASSIGNMENT, results)
