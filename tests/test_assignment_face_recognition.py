"""`face_recognition` end to end on its simulated students (slow: runs notebooks and trains small models).

release -> fetch/fill in/run/submit through nbgrader's exchange -> collect -> autograde (MTCNN
crop, triplet loss against the reference implementation, closest match) -> the saved embedding
network embeds the hidden identities -> triplet accuracy, verification ROC AUC, recall@1 scored
vs reference and raw pixels -> gradebook -> report, in load mode.
"""

from __future__ import annotations

import pytest
from assignment_checks import assignment_fixtures, check_gradebook_and_report, metric_part

pytestmark = pytest.mark.slow

ASSIGNMENT = "face_recognition"
METRICS = {"triplet_accuracy", "verification_roc_auc_score", "recall_at_1"}


demo, results = assignment_fixtures(ASSIGNMENT)


def _tests(result) -> dict[str, float]:
    return {p.name: p.points for p in result.parts if p.kind == "test"}


def test_correct_solution_earns_full_marks(results):
    r = results["correct"]
    assert r.max_model_points == 6
    assert {p.metric for p in r.parts if p.kind == "model"} == METRICS
    assert r.model_points >= 0.85 * r.max_model_points, r.parts
    assert r.test_points == sum(p.max_points for p in r.parts if p.kind == "test") == 4
    for metric in METRICS:
        part = metric_part(r, metric)
        assert part.baseline < part.value <= 1.0


def test_weak_model_scores_strictly_between(results):
    r = results["weak_model"]
    assert 0 < r.model_points < r.max_model_points
    assert r.model_points < results["correct"].model_points
    auc = metric_part(r, "verification_roc_auc_score")
    assert auc.baseline < auc.value < auc.reference
    assert "verification_roc_auc_score" in auc.reason and "reference" in auc.reason


def test_broken_loss_fails_the_hidden_reference_comparison(results):
    tests = _tests(results["broken"])
    assert tests["test_triplet_loss"] == 0
    assert tests["test_crop_face"] == 1 and tests["test_closest_match"] == 1


def test_wide_encodings_score_zero_with_a_reason(results):
    model = [p for p in results["broken"].parts if p.kind == "model"]
    assert {p.metric for p in model} == METRICS
    assert all(p.points == 0 and p.value is None for p in model)
    assert all("256 values per image" in p.reason and "at most 128" in p.reason for p in model)


def test_gradebook_and_report_hold_every_score(demo, results):
    check_gradebook_and_report(demo, ASSIGNMENT, results)
