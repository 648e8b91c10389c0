"""Tests-only specs (no model) and the grading-on-submit feedback flag."""

import pytest

from autograder.errors import SpecError
from autograder.spec import parse_spec

TESTS_ONLY = {"assignment": "hello", "notebook": "hello", "tests_only": True}


def test_tests_only_spec_has_no_model():
    spec = parse_spec(TESTS_ONLY)
    assert spec.tests_only and spec.models() == () and spec.max_model_points == 0
    assert spec.feedback_on_submit is False
    assert parse_spec({**TESTS_ONLY, "feedback_on_submit": True}).feedback_on_submit is True
    assert parse_spec({**TESTS_ONLY, "limits": {"wall_s": 30}}).limits.wall_s == 30


@pytest.mark.parametrize("extra", [{"task": "classifier"}, {"metrics": []}, {"model_file": "m.keras"}])
def test_tests_only_spec_refuses_model_keys(extra):
    with pytest.raises(SpecError, match="tests-only spec"):
        parse_spec({**TESTS_ONLY, **extra})


def test_tests_only_spec_still_needs_its_notebook():
    with pytest.raises(SpecError, match="notebook"):
        parse_spec({"assignment": "hello", "tests_only": True})
    with pytest.raises(SpecError, match="feedback_on_submit"):
        parse_spec({**TESTS_ONLY, "feedback_on_submit": "yes"})


def test_model_spec_keeps_its_model_and_takes_the_feedback_flag(repo_root):
    import tomllib

    data = tomllib.loads((repo_root / "reference_models" / "digits" / "spec.toml").read_text())
    spec = parse_spec({**data, "feedback_on_submit": True})
    assert spec.feedback_on_submit and len(spec.models()) == 1 and not spec.tests_only
