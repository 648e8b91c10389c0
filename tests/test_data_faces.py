"""The `faces` dataset: lfw_subset faces as identities, augmented views, whole identities held out."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from autograder.data import faces, hidden_sources, load_dataset, write_student_files
from autograder.errors import AutograderError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def train():
    return load_dataset("faces", "train")


@pytest.fixture(scope="module")
def test():
    return load_dataset("faces", "test")


def test_split_sizes_shapes_and_ranges(train, test):
    assert train.x.shape == (faces.N_TRAIN_IDS * faces.VIEWS["train"], 32, 32, 1)
    assert test.x.shape == (faces.N_TEST_IDS * faces.VIEWS["test"], 32, 32, 1)
    for split, n_ids, views in ((train, faces.N_TRAIN_IDS, 12), (test, faces.N_TEST_IDS, 8)):
        assert split.x.dtype == np.float32 and split.y.dtype == np.int64
        assert 0.0 <= split.x.min() and split.x.max() <= 1.0
        assert np.allclose(split.x * 255, np.rint(split.x * 255), atol=1e-3)  # 1/255 steps
        assert np.array_equal(np.bincount(split.y), np.full(n_ids, views))


def test_whole_identities_are_held_out():
    train_faces, test_faces = faces.identity_faces("train"), faces.identity_faces("test")
    assert len(train_faces) + len(test_faces) == faces.N_FACES
    train_rows = {f.tobytes() for f in train_faces}
    assert not any(f.tobytes() in train_rows for f in test_faces)


def test_views_differ_but_stay_closest_to_their_own_face(train):
    # Every view is a new image, yet most views are nearer to another view of the same identity
    # than the raw pixels of other identities are: the task is learnable, and not trivial.
    views = train.x[: 12 * 8].reshape(96, -1)
    assert len({v.tobytes() for v in views}) == 96
    same = train.y[:96, None] == train.y[None, :96]
    d = ((views[:, None] - views[None]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    assert 0.3 < np.mean(same[np.arange(96), d.argmin(1)]) < 1.0


def test_face_view_is_reproducible_and_sized():
    face = faces.identity_faces("train")[0]
    a = faces.face_view(face, np.random.default_rng(3))
    b = faces.face_view(face, np.random.default_rng(3))
    c = faces.face_view(face, np.random.default_rng(4), size=20)
    assert np.array_equal(a, b) and a.shape == (32, 32) and a.dtype == np.float32
    assert c.shape == (20, 20)


def test_split_is_deterministic_and_matches_the_committed_reference(train, test):
    metrics = json.loads((ROOT / "reference_models" / "face_recognition" / "metrics.json").read_text())
    assert test.fingerprint == metrics["data_fingerprint"]
    assert train.fingerprint == metrics["train_fingerprint"]
    faces._offline.cache_clear()
    assert load_dataset("faces", "test").fingerprint == test.fingerprint


def test_committed_student_file_is_the_train_split(train, tmp_path):
    committed = ROOT / "source" / "face_recognition" / "data" / faces.STUDENT_FILE
    with np.load(committed) as data:
        assert np.array_equal(data["x_train"], np.rint(train.x[..., 0] * 255).astype(np.uint8))
        assert np.array_equal(data["y_train"], train.y)
        assert np.array_equal(data["faces"], faces.identity_faces("train"))
    written = write_student_files("faces", tmp_path)
    assert [p.read_bytes() for p in written] == [committed.read_bytes()]
    assert (ROOT / "release" / "face_recognition" / "data" / faces.STUDENT_FILE).read_bytes() == \
        committed.read_bytes()


def test_the_hidden_faces_are_masked_in_sandboxes():
    assert faces.lfw_subset_path() in hidden_sources()


def test_missing_scikit_image_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(faces.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(AutograderError, match="pip install scikit-image"):
        faces.lfw_subset_path()


def test_split_people_holds_out_whole_people():
    labels = np.repeat(np.array([5, 9, 2, 7, 11]), [3, 4, 2, 5, 6])
    train, test = faces.split_people(labels, test_fraction=0.4, seed=1)
    assert not np.any(train & test) and np.all(train | test)
    assert len(np.unique(labels[test])) == 2
    assert not set(labels[train]) & set(labels[test])
    again = faces.split_people(labels, test_fraction=0.4, seed=1)
    assert np.array_equal(again[1], test)
    with pytest.raises(AutograderError, match="at least 2 people"):
        faces.split_people(np.zeros(4, dtype=int))


def test_square_resize_crops_the_centre():
    images = np.zeros((2, 62, 47), np.float32)
    images[:, 31] = 1.0  # a bright row in the middle
    out = faces.square_resize(images)
    assert out.shape == (2, 32, 32) and out.dtype == np.float32
    assert out[:, 15:17].mean() > 0.3 and out[:, :8].max() == 0.0


def test_online_loader_uses_fetch_lfw_people(monkeypatch):
    import sklearn.datasets

    rng = np.random.default_rng(0)
    target = np.repeat(np.arange(10), 20)
    calls = []

    def fake_fetch(*, min_faces_per_person):
        calls.append(min_faces_per_person)
        return SimpleNamespace(images=rng.uniform(0, 1, (200, 62, 47)).astype(np.float32), target=target)

    monkeypatch.setattr(sklearn.datasets, "fetch_lfw_people", fake_fetch)
    train = load_dataset("faces", "train", source="online")
    test = load_dataset("faces", "test", source="online")
    assert calls == [faces.MIN_FACES_ONLINE] * 2
    assert train.x.shape[1:] == test.x.shape[1:] == (32, 32, 1)
    assert len(train) + len(test) == 200
    assert len(np.unique(test.y)) == round(10 * faces.N_TEST_IDS / faces.N_FACES)
    assert set(np.unique(train.y)) == set(range(len(np.unique(train.y))))  # renumbered from 0
