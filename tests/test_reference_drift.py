"""autograder.reference_drift: a retrained reference against the committed one, level by level."""

from __future__ import annotations

import copy

import pytest

from autograder.reference_drift import DRIFT_TOLERANCE, compare_metrics

COMMITTED = {
    "reference": {"accuracy": 0.924, "top_2_accuracy": 0.974},
    "baseline": {"accuracy": {"majority_class": 0.093}, "top_2_accuracy": {"majority_class": 0.187}},
    "data_fingerprint": "93f9d90a7257cacf",
    "train_fingerprint": "72f1ad1575b39a2c",
    "student_files": ["source/digits/data/digits_train.npz"],
    "version": "0a5fd6a62eac2b71",
    "seed": 1234,
    "budget": {"batch_size": 64, "epochs": 8},
}


def _rebuilt(**changes):
    out = copy.deepcopy(COMMITTED)
    out.update(changes)
    return out


def test_same_file_is_identical_and_within():
    drift = compare_metrics(COMMITTED, _rebuilt())
    assert drift.weights_identical and drift.within() and drift.problems() == []
    assert all(m.change == 0 and m.fraction == 0 for m in drift.metrics)
    assert "weights identical" in drift.summary() and "within tolerance" in drift.summary()


def test_other_weights_with_close_metrics_are_within_tolerance():
    """Another CPU generation: other weights, metrics a sample or two apart."""
    drift = compare_metrics(COMMITTED, _rebuilt(version="cb85ed5fe49bb61d",
                                                reference={"accuracy": 0.921, "top_2_accuracy": 0.976}))
    assert not drift.weights_identical and drift.within()
    accuracy = next(m for m in drift.metrics if m.name == "accuracy")
    assert accuracy.change == pytest.approx(-0.003)
    assert accuracy.span == pytest.approx(0.924 - 0.093)
    assert accuracy.fraction == pytest.approx(0.003 / 0.831)
    assert "weights differ" in drift.summary() and "accuracy -0.0030" in drift.summary()


def test_a_changed_budget_expects_a_new_reference():
    drift = compare_metrics(COMMITTED, _rebuilt(budget={"batch_size": 16, "epochs": 60},
                                                reference={"accuracy": 0.6, "top_2_accuracy": 0.8}))
    assert drift.settings_changed == ("budget",)
    assert "the spec's budget changed, so a new reference was expected" in drift.summary()


def test_a_metric_that_moved_too_far_is_named():
    moved = 0.924 - 2 * DRIFT_TOLERANCE * (0.924 - 0.093)
    drift = compare_metrics(COMMITTED, _rebuilt(reference={"accuracy": moved, "top_2_accuracy": 0.974}))
    assert not drift.within()
    [problem] = drift.problems()
    assert problem.startswith("accuracy moved") and "tolerance 3%" in problem
    assert "OUTSIDE tolerance" in drift.summary()


@pytest.mark.parametrize("key", ["data_fingerprint", "train_fingerprint", "student_files"])
def test_changed_data_is_never_within_tolerance(key):
    drift = compare_metrics(COMMITTED, _rebuilt(**{key: "other"}))
    assert not drift.within()
    assert drift.problems() == [f"{key} changed: the data the reference is measured on is not the "
                                "committed data"]


def test_a_metric_missing_from_one_file_is_a_problem():
    drift = compare_metrics(COMMITTED, _rebuilt(reference={"accuracy": 0.924}))
    assert drift.missing == ("top_2_accuracy",) and not drift.within()


def test_lower_is_better_metrics_use_the_same_scale():
    committed = {**COMMITTED, "reference": {"mean_squared_error": 0.010},
                 "baseline": {"mean_squared_error": {"mean_image": 0.060}}}
    drift = compare_metrics(committed, {**committed, "reference": {"mean_squared_error": 0.011}})
    [mse] = drift.metrics
    assert mse.fraction == pytest.approx(0.001 / 0.050) and drift.within()
