"""Tests for autograder.results: result records, totals, and their atomic JSON files."""

from __future__ import annotations

import dataclasses
import json

import pytest

import autograder.results as results_mod
from autograder.results import (
    RESULT_SCHEMA,
    PartResult,
    SubmissionResult,
    read_result,
    write_result,
)


def make_result(**changes) -> SubmissionResult:
    parts = (
        PartResult("test_build_model", "test", 1.0, 1.0),
        PartResult("test_trained_model", "test", 0.0, 2.0, reason="AssertionError: too low"),
        PartResult("test_next_likely", "test", 1.0, 1.0),
        PartResult("model_quality:accuracy", "model", 4.5, 6.0, reason="below the reference",
                   metric="accuracy", value=0.8125, reference=0.924, baseline=0.093),
        PartResult("model_quality:top_2_accuracy", "model", 0.75, 0.0, metric="top_2_accuracy",
                   value=0.9, reference=0.974, baseline=0.187, extra_credit=True),
    )
    fields = dict(
        assignment="digits", student="alice", mode="load", parts=parts, device="cpu", seed=1234,
        data_fingerprint="93f9d90a7257cacf", reference_version="0a5fd6a62eac2b71",
        duration_s=12.5, versions={"keras": "3.15.1", "tensorflow": "2.21.0"},
        submitted_at="2024-05-01T12:00:00",
    )
    fields.update(changes)
    return SubmissionResult(**fields)


def test_round_trip(tmp_path):
    result = make_result()
    path = tmp_path / "results" / "digits" / "alice.json"  # parents are created
    write_result(result, path)
    back = read_result(path)
    assert back == result
    for f in dataclasses.fields(SubmissionResult):
        assert getattr(back, f.name) == getattr(result, f.name), f.name
    assert isinstance(back.parts, tuple) and all(isinstance(p, PartResult) for p in back.parts)
    assert back.schema == RESULT_SCHEMA


def test_round_trip_with_missing_values(tmp_path):
    result = make_result(parts=(PartResult("model_quality:accuracy", "model", 0.0, 6.0,
                                           reason="model missing", metric="accuracy",
                                           value=None, reference=0.9, baseline=0.1),),
                         versions={})
    path = tmp_path / "r.json"
    write_result(result, path)
    assert read_result(path) == result


def test_file_is_plain_sorted_json(tmp_path):
    path = tmp_path / "r.json"
    write_result(make_result(), path)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert list(data) == sorted(data)
    assert data["schema"] == RESULT_SCHEMA
    assert data["parts"][0]["name"] == "test_build_model"


def test_overwrite_replaces(tmp_path):
    path = tmp_path / "r.json"
    write_result(make_result(student="alice"), path)
    write_result(make_result(student="bob"), path)
    assert read_result(path).student == "bob"


# --- totals -----------------------------------------------------------------------------------


def test_totals():
    r = make_result()
    assert r.test_points == 2.0
    assert r.model_points == 4.5  # extra credit excluded
    assert r.max_model_points == 6.0
    assert r.extra_credit == 0.75
    assert r.total == pytest.approx(2.0 + 4.5 + 0.75)
    assert r.max_total == 10.0  # 4 test points + 6 model points, extra credit excluded


def test_extra_credit_max_points_never_counted():
    parts = (PartResult("ec", "model", 1.0, 1.0, metric="top_2_accuracy", extra_credit=True),)
    r = make_result(parts=parts)
    assert r.max_total == 0.0 and r.max_model_points == 0.0
    assert r.model_points == 0.0 and r.extra_credit == 1.0 and r.total == 1.0


def test_empty_parts():
    r = make_result(parts=())
    assert (r.test_points, r.model_points, r.extra_credit, r.total, r.max_total) == (0, 0, 0, 0, 0)


# --- corrupt files ----------------------------------------------------------------------------


def _written(tmp_path) -> tuple:
    path = tmp_path / "r.json"
    write_result(make_result(), path)
    return path, json.loads(path.read_text(encoding="utf-8"))


def test_truncated_json(tmp_path):
    path, _ = _written(tmp_path)
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: len(text) // 2], encoding="utf-8")
    with pytest.raises(ValueError, match="corrupt result file r.json"):
        read_result(path)


def test_empty_file(tmp_path):
    path = tmp_path / "r.json"
    path.write_text("", encoding="utf-8")
    with pytest.raises(ValueError):
        read_result(path)


@pytest.mark.parametrize("schema", [None, 0, 2, "1"])
def test_wrong_schema(tmp_path, schema):
    path, data = _written(tmp_path)
    if schema is None:
        del data["schema"]
    else:
        data["schema"] = schema
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ValueError, match="schema"):
        read_result(path)


@pytest.mark.parametrize("field", ["assignment", "student", "parts", "device", "seed",
                                   "duration_s"])
def test_missing_field(tmp_path, field):
    path, data = _written(tmp_path)
    del data[field]
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ValueError, match="corrupt result file"):
        read_result(path)


def test_missing_part_field(tmp_path):
    path, data = _written(tmp_path)
    del data["parts"][0]["points"]
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ValueError, match="corrupt result file"):
        read_result(path)


def test_unknown_field(tmp_path):
    path, data = _written(tmp_path)
    data["surprise"] = 1
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ValueError):
        read_result(path)


@pytest.mark.parametrize("content", ["[]", "null", "3", '"text"'])
def test_not_an_object(tmp_path, content):
    path = tmp_path / "r.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError):
        read_result(path)


# --- atomic writes ----------------------------------------------------------------------------


def test_no_temporary_files_left(tmp_path):
    for student in ("alice", "bob"):
        write_result(make_result(student=student), tmp_path / f"{student}.json")
    write_result(make_result(student="alice", duration_s=1.0), tmp_path / "alice.json")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alice.json", "bob.json"]


def test_failed_write_keeps_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "alice.json"
    write_result(make_result(), path)
    before = path.read_bytes()

    real_dump = json.dump

    def broken_dump(obj, fh, **kwargs):
        fh.write('{"assignment": "dig')  # half a file, then the crash
        raise OSError("disk full")

    monkeypatch.setattr(results_mod.json, "dump", broken_dump)
    with pytest.raises(OSError, match="disk full"):
        write_result(make_result(student="bob"), path)
    monkeypatch.setattr(results_mod.json, "dump", real_dump)

    assert path.read_bytes() == before
    assert read_result(path).student == "alice"
    assert [p.name for p in tmp_path.iterdir()] == ["alice.json"]


def test_failed_first_write_leaves_nothing(tmp_path, monkeypatch):
    def broken_dump(obj, fh, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(results_mod.json, "dump", broken_dump)
    with pytest.raises(KeyboardInterrupt):
        write_result(make_result(), tmp_path / "alice.json")
    assert list(tmp_path.iterdir()) == []
