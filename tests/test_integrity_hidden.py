"""Possible training on the hidden data: gaps against the class's spread."""

from __future__ import annotations

import pytest

from autograder.integrity.hidden import ScoreGap, gap_stats, hidden_data_flags


def gap(student: str, public: float, hidden: float, higher: bool = True, weights: str = "") -> ScoreGap:
    return ScoreGap(student, "m", "accuracy" if higher else "mse", higher, public, hidden, weights or student)


HONEST = [("a", 1.0, 0.72), ("b", 0.98, 0.70), ("c", 0.97, 0.73), ("d", 1.0, 0.69), ("e", 0.95, 0.71),
          ("f", 0.99, 0.74)]


def test_a_model_that_saw_the_hidden_split_is_flagged():
    gaps = [gap(*h) for h in HONEST] + [gap("cheat", 0.99, 0.98)]
    flags, stats = hidden_data_flags(gaps)
    assert [f.student for f in flags] == ["cheat"]
    assert flags[0].gap == pytest.approx(-0.01) and flags[0].threshold < -0.01 < 0
    assert stats[0].models == 7 and stats[0].median == pytest.approx(-0.26, abs=0.02)


def test_error_metrics_count_lower_as_better():
    gaps = [gap(s, 1 - p, 1 - h, higher=False) for s, p, h in HONEST] + [gap("cheat", 0.01, 0.02, False)]
    assert gaps[0].gap == pytest.approx(-0.28)
    assert [f.student for f in hidden_data_flags(gaps)[0]] == ["cheat"]


def test_copies_count_once_and_a_class_all_alike_flags_noise_not():
    same = [gap(s, 1.0, 1.0, weights="w") for s in "abcdefg"]
    assert gap_stats(same) is None  # one distinct model
    alike = [gap(s, 0.97, 0.97) for s in "abcdef"] + [gap("lucky", 0.96, 0.97)]
    assert hidden_data_flags(alike)[0] == []  # a MAD of 0: the floor (5 % of 0.97) is not passed


def test_too_few_models_no_flags_and_non_finite_scores_skipped():
    assert hidden_data_flags([gap(*h) for h in HONEST[:4]]) == ([], [])
    gaps = [gap(*h) for h in HONEST] + [gap("nan", float("nan"), 0.9)]
    flags, stats = hidden_data_flags(gaps)
    assert flags == [] and stats[0].models == 6
