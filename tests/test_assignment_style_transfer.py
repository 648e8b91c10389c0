"""`style_transfer` end to end on its simulated students (slow: runs notebooks).

A tests-only assignment: release -> fetch/fill in/run/submit through nbgrader's exchange ->
collect -> autograde (the notebook's visible and hidden tests) -> gradebook -> report. No model
is graded.
"""

from __future__ import annotations

import pytest
from assignment_checks import assignment_fixtures, check_gradebook_and_report

from autograder.demo.students.style_transfer import EXPECTED_POINTS

pytestmark = pytest.mark.slow

ASSIGNMENT = "style_transfer"
TEST_CELLS = {"test_gram_matrix", "test_content_loss", "test_style_loss", "test_total_loss", "test_transfer"}
MAX_POINTS = 6


demo, results = assignment_fixtures(ASSIGNMENT)


def _points(result) -> dict[str, float]:
    return {p.name: p.points for p in result.parts if p.kind == "test"}


def test_correct_solution_earns_full_marks(results):
    r = results["correct"]
    assert not [p for p in r.parts if p.kind == "model"]
    assert r.max_model_points == 0
    assert set(_points(r)) == TEST_CELLS
    assert sum(p.max_points for p in r.parts if p.kind == "test") == MAX_POINTS
    assert r.test_points == MAX_POINTS == EXPECTED_POINTS["correct"], r.parts


def test_unnormalised_gram_fails_the_hidden_gram_check_only(results):
    r = results["unnormalised_gram"]
    points = _points(r)
    assert points["test_gram_matrix"] == 0
    assert all(points[c] > 0 for c in TEST_CELLS - {"test_gram_matrix"}), r.parts
    assert r.test_points == EXPECTED_POINTS["unnormalised_gram"] < MAX_POINTS
    gram = next(p for p in r.parts if p.name == "test_gram_matrix")
    assert "H*W" in gram.reason


def test_raising_content_loss_scores_zero_where_it_is_called(results):
    r = results["content_loss_raises"]
    points = _points(r)
    broken = {"test_content_loss", "test_transfer"}
    assert all(points[c] == 0 for c in broken)
    assert all(points[c] > 0 for c in TEST_CELLS - broken), r.parts
    assert r.test_points == EXPECTED_POINTS["content_loss_raises"]
    for p in r.parts:
        if p.name in broken:
            assert "AttributeError" in p.reason and "squared_difference" in p.reason, p.reason


def test_gradebook_and_report_hold_every_score(demo, results):
    check_gradebook_and_report(demo, ASSIGNMENT, results, model_cells=())
