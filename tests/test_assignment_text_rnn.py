"""`text_rnn` end to end: two next-character GRU models per submission, each scored on its own (slow).

release -> fetch/fill in/run/submit -> collect -> autograde -> the prose model run on hidden
passages (cross-entropy, next-character accuracy vs a unigram model and the reference), 64 tweets
sampled by the grader from the tweet model (valid, at most 280 characters, not copies) -> one
gradebook task cell per model -> report.
"""

from __future__ import annotations

import pytest
from assignment_checks import assignment_fixtures, check_gradebook_and_report, metric_part

pytestmark = pytest.mark.slow

ASSIGNMENT = "text_rnn"
PARTS = ("prose_quality", "tweets_quality")


demo, results = assignment_fixtures(ASSIGNMENT)


def _part_points(result, grade_id):
    return sum(p.points for p in result.parts if p.name.startswith(grade_id + ":"))


def test_correct_solution_earns_nearly_full_marks(results):
    r = results["correct"]
    assert r.max_model_points == 9
    assert r.test_points == sum(p.max_points for p in r.parts if p.kind == "test") == 6
    assert _part_points(r, "prose_quality") >= 5.4, r.parts
    assert _part_points(r, "tweets_quality") >= 2.4, r.parts
    loss = metric_part(r, "log_loss")
    assert loss.value < loss.baseline and loss.value < 2.5, loss


def test_weak_model_scores_strictly_between(results):
    r = results["weak_model"]
    assert 0 < r.model_points < results["correct"].model_points
    loss = metric_part(r, "log_loss")
    assert loss.reference < loss.value < loss.baseline, loss
    assert "log_loss" in loss.reason and "reference" in loss.reason


def test_logits_model_loses_only_the_tweets_part(results):
    r = results["broken"]
    tweets = metric_part(r, "valid_text_sample_score")
    assert tweets.points == 0 and tweets.value is None
    assert "not probabilities" in tweets.reason and "softmax" in tweets.reason, tweets.reason
    assert _part_points(r, "prose_quality") > 0
    tests = {p.name: p.points for p in r.parts if p.kind == "test"}
    assert tests["test_sampling"] == 0 and tests["test_tweets"] == 0
    assert tests["test_text_ids"] == 1 and tests["test_pairs"] == 1


def test_gradebook_and_report_hold_every_score(demo, results):
    check_gradebook_and_report(demo, ASSIGNMENT, results, model_cells=PARTS)
