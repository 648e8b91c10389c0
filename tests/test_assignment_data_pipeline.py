"""`data_pipeline` end to end: the grader runs the notebook's tf.data pipeline itself (slow).

release -> fetch/fill in/run/submit -> collect -> autograde -> the pipeline cells run in the sandbox
on id-coded items: four correctness checks and speed vs a naive loop -> gradebook -> report.
"""

from __future__ import annotations

import pytest
from assignment_checks import assignment_fixtures, check_gradebook_and_report, metric_part

pytestmark = pytest.mark.slow

ASSIGNMENT = "data_pipeline"


demo, results = assignment_fixtures(ASSIGNMENT)


def test_correct_pipeline_passes_every_check_and_is_fast(results):
    r = results["correct"]
    assert r.mode == "train" and r.max_model_points == 6
    assert r.test_points == 4
    assert metric_part(r, "pipeline_correctness").points == 4
    speed = metric_part(r, "throughput_log2_ratio")
    assert speed.value > 3  # more than 8x the naive loop
    assert r.model_points >= 5, r.parts


def test_slow_pipeline_is_correct_but_loses_speed_points(results):
    r = results["slow_pipeline"]
    assert metric_part(r, "pipeline_correctness").points == 4
    speed = metric_part(r, "throughput_log2_ratio")
    assert speed.points < 1 and "throughput_log2_ratio" in speed.reason
    assert next(p for p in r.parts if p.name == "test_speed").points == 0


def test_broken_pipeline_fails_two_checks_with_reasons(results):
    r = results["broken"]
    correctness = metric_part(r, "pipeline_correctness")
    assert correctness.value == 0.5 and correctness.points == 2
    assert "exactly once" in correctness.reason and "shuffl" in correctness.reason
    assert next(p for p in r.parts if p.name == "test_make_pipeline").points == 0


def test_gradebook_and_report_hold_every_score(demo, results):
    check_gradebook_and_report(demo, ASSIGNMENT, results, model_cells=("pipeline_quality",))
