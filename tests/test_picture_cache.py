"""The pictures grading workers store for the report: kept exactly, used only for the same model."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from autograder import picture_cache
from autograder.data import Split
from autograder.pictures import classifier_pictures, neighbour_pictures, reconstruction_pictures

rng = np.random.default_rng(0)
SPLIT = Split(rng.random((12, 8, 8)), rng.integers(0, 3, 12))


def same(a, b) -> bool:
    if type(a) is not type(b):
        return False
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, np.ndarray):
            if x.dtype != y.dtype or x.shape != y.shape or not np.array_equal(x, y):
                return False
        elif x != y:
            return False
    return True


@pytest.mark.parametrize("pictures", [
    classifier_pictures(rng.random((12, 3)), SPLIT),
    reconstruction_pictures(rng.random((12, 8, 8)), Split(SPLIT.x, rng.random((12, 8, 8)))),
    neighbour_pictures(rng.random((12, 4)), SPLIT),
    None,  # "this model could not be run" is an answer too
], ids=["classifier", "reconstruction", "neighbours", "none"])
def test_pictures_come_back_exactly_under_their_key(tmp_path, pictures):
    path = tmp_path / "pictures" / "s1.quality.npz"
    picture_cache.save(path, "key-1", pictures)
    back = picture_cache.load(path, "key-1")
    assert back is None if pictures is None else same(back, pictures)
    assert picture_cache.load(path, "key-2") is picture_cache.MISSING
    assert not list(path.parent.glob(".tmp-*"))


def test_unreadable_or_absent_files_are_missing(tmp_path):
    path = tmp_path / "s1.quality.npz"
    assert picture_cache.load(path, "k") is picture_cache.MISSING
    path.write_bytes(b"not an npz")
    assert picture_cache.load(path, "k") is picture_cache.MISSING
    np.savez(path, __meta__=np.array('{"key": "k", "kind": "Unknown", "scalars": {}}'))
    assert picture_cache.load(path, "k") is picture_cache.MISSING


def test_the_key_changes_with_the_model_file_and_with_the_examples(tmp_path):
    model = tmp_path / "m.keras"
    model.write_bytes(b"one")
    key = picture_cache.picture_key(model, SPLIT.fingerprint)
    assert picture_cache.picture_key(model, SPLIT.fingerprint) == key
    assert picture_cache.picture_key(model, Split(SPLIT.x[:5], SPLIT.y[:5]).fingerprint) != key
    model.write_bytes(b"two")  # a resubmitted model: the old pictures are not its pictures
    assert picture_cache.picture_key(model, SPLIT.fingerprint) != key
