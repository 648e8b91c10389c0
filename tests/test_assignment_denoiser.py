"""`denoiser` end to end on its simulated students (slow: runs notebooks and trains small models).

release -> fetch/fill in/run/submit through nbgrader's exchange -> collect -> autograde ->
model run on hidden noisy digits, MSE and PSNR vs the noisy input and the reference -> gradebook
-> report, in load mode.
"""

from __future__ import annotations

import pytest
from assignment_checks import assignment_fixtures, check_gradebook_and_report, metric_part

pytestmark = pytest.mark.slow

ASSIGNMENT = "denoiser"
METRICS = {"mean_squared_error", "peak_signal_noise_ratio"}


demo, results = assignment_fixtures(ASSIGNMENT)


def test_correct_solution_earns_full_marks(results):
    r = results["correct"]
    assert r.max_model_points == 6
    assert {p.metric for p in r.parts if p.kind == "model"} == METRICS
    assert r.model_points >= 0.9 * r.max_model_points, r.parts
    assert r.test_points == sum(p.max_points for p in r.parts if p.kind == "test") == 4
    psnr = metric_part(r, "peak_signal_noise_ratio")
    assert psnr.value > psnr.baseline + 7  # dB over the noisy input


def test_weak_model_scores_strictly_between(results):
    r = results["weak_model"]
    assert 0 < r.model_points < r.max_model_points
    mse, psnr = metric_part(r, "mean_squared_error"), metric_part(r, "peak_signal_noise_ratio")
    assert mse.reference < mse.value < mse.baseline
    assert psnr.baseline < psnr.value < psnr.reference
    assert "peak_signal_noise_ratio" in psnr.reason and "(baseline input" in psnr.reason


def test_lambda_layer_is_refused_by_safe_loading(results):
    r = results["lambda_layer"]
    model = [p for p in r.parts if p.kind == "model"]
    assert model and all(p.points == 0 and p.value is None for p in model)
    assert all("safe mode" in p.reason and "denoiser_model.keras" in p.reason for p in model)
    # In the notebook itself the model ran: its shape and PSNR tests passed.
    assert next(p for p in r.parts if p.name == "test_build_model").points == 1
    assert next(p for p in r.parts if p.name == "test_psnr").points == 1


def test_gradebook_and_report_hold_every_score(demo, results):
    check_gradebook_and_report(demo, ASSIGNMENT, results)
