"""Loss histories saved beside a model: path convention and strict reading."""

from __future__ import annotations

import json
import math
import os

import pytest

from autograder.errors import SubmissionError
from autograder.histories import (
    MAX_BYTES,
    HistoryError,
    history_path,
    parse_loss_history,
    read_loss_history,
)

KEYS = ("d_loss", "g_loss")


def _write(tmp_path, data, name="gan_generator_history.json"):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def test_history_lies_beside_its_model(tmp_path):
    assert history_path(tmp_path / "gan_generator.keras") == tmp_path / "gan_generator_history.json"
    assert history_path(tmp_path / "trained.keras").name == "trained_history.json"


def test_a_valid_history_is_read(tmp_path):
    path = _write(tmp_path, {"d_loss": [0.5, 0.4], "g_loss": [1, 2.5]})
    history = read_loss_history(path, KEYS)
    assert history["d_loss"] == (0.5, 0.4) and history["g_loss"] == (1.0, 2.5)


def test_nan_and_infinity_are_kept_for_the_checks(tmp_path):
    path = tmp_path / "h.json"
    path.write_text(json.dumps({"d_loss": [0.5, math.nan], "g_loss": [1.0, math.inf]}))
    history = read_loss_history(path, KEYS)
    assert math.isnan(history["d_loss"][1]) and math.isinf(history["g_loss"][1])


def test_history_error_is_a_submission_error():
    assert issubclass(HistoryError, SubmissionError)


@pytest.mark.parametrize("data, match", [
    ([0.1, 0.2], "JSON object with the keys"),
    ({"d_loss": [0.1, 0.2]}, "JSON object with the keys"),
    ({"d_loss": [0.1, 0.2], "g_loss": [0.1, 0.2], "extra": []}, "JSON object with the keys"),
    ({"d_loss": "0.1, 0.2", "g_loss": [0.1, 0.2]}, "list of numbers"),
    ({"d_loss": [0.1, True], "g_loss": [0.1, 0.2]}, "list of numbers"),
    ({"d_loss": [0.1, "x"], "g_loss": [0.1, 0.2]}, "list of numbers"),
    ({"d_loss": [0.1], "g_loss": [0.1]}, "between 2 and"),
    ({"d_loss": [0.1] * 1001, "g_loss": [0.1] * 1001}, "between 2 and"),
    ({"d_loss": [0.1, 0.2, 0.3], "g_loss": [0.1, 0.2]}, "same length"),
])
def test_malformed_histories_are_refused_with_a_reason(data, match):
    with pytest.raises(HistoryError, match=match):
        parse_loss_history(data, KEYS)


def test_missing_file_says_what_to_save(tmp_path):
    with pytest.raises(HistoryError, match="no training history 'h.json'.*json.dump"):
        read_loss_history(tmp_path / "h.json", KEYS)


def test_not_json_is_refused(tmp_path):
    with pytest.raises(HistoryError, match="not valid JSON"):
        read_loss_history(_write(tmp_path, "{d_loss: [1, 2]"), KEYS)
    bad = tmp_path / "b.json"
    bad.write_bytes(b"\xff\xfe{}")
    with pytest.raises(HistoryError, match="not valid JSON"):
        read_loss_history(bad, KEYS)


def test_oversized_file_is_refused_before_parsing(tmp_path):
    path = _write(tmp_path, " " * (MAX_BYTES + 1))
    with pytest.raises(HistoryError, match="over the limit"):
        read_loss_history(path, KEYS)


def test_links_and_folders_are_refused(tmp_path):
    target = _write(tmp_path, {"d_loss": [0.5, 0.4], "g_loss": [1, 2]}, "real.json")
    link = tmp_path / "h.json"
    os.symlink(target, link)
    with pytest.raises(HistoryError, match="not a regular file"):
        read_loss_history(link, KEYS)
    (tmp_path / "dir.json").mkdir()
    with pytest.raises(HistoryError, match="not a regular file"):
        read_loss_history(tmp_path / "dir.json", KEYS)
