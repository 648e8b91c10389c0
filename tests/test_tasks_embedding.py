"""The embedding task: one encoding per image, checked, then distance metrics on identities.

Models are tiny and go through the same save -> safe load -> evaluate path as students' models.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from autograder.data import Split
from autograder.errors import ModelShapeError, NonFiniteOutputError, SpecError
from autograder.evaluate import measure_model_file
from autograder.metrics import recall_at_k_score, triplet_accuracy_score, verification_roc_auc_score
from autograder.spec import parse_spec
from autograder.tasks import get_task
from autograder.tasks.embedding import MAX_EMBEDDING_DIM

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

METRICS = ("triplet_accuracy", "verification_roc_auc_score", "recall_at_1")


@pytest.fixture(scope="module")
def keras():
    import keras as keras_module

    return keras_module


@pytest.fixture(scope="module")
def task():
    return get_task("embedding")


@pytest.fixture(scope="module")
def spec():
    return parse_spec({
        "assignment": "face_recognition", "notebook": "face_recognition", "task": "embedding",
        "dataset": "faces", "mode": "load", "model_file": "face_embedding.keras",
        "model_grade_id": "model_quality", "seed": 0, "budget": {"max_model_mb": 5},
        "metrics": [{"name": m, "points": 2, "baseline": "raw_pixels"} for m in METRICS],
    })


@pytest.fixture(scope="module")
def test_split():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, size=(24, 8, 8, 1)).astype(np.float32)
    return Split(x=x, y=np.repeat(np.arange(6), 4))


def _model(keras, *, width=4, flatten=True, outputs=1):
    inputs = keras.Input(shape=(8, 8, 1))
    h = keras.layers.Conv2D(2, 3, padding="same")(inputs)
    if flatten:
        h = keras.layers.Flatten()(h)
    outs = [keras.layers.Dense(width)(h) for _ in range(outputs)]
    return keras.Model(inputs, outs if outputs > 1 else outs[0])


def _grade(model, tmp_path, spec, task, split):
    path = tmp_path / "face_embedding.keras"
    model.save(path)
    return measure_model_file(path, spec, task, split)


def test_flat_encodings_are_measured_like_the_metrics(keras, tmp_path, spec, task, test_split):
    model = _model(keras)
    m = _grade(model, tmp_path, spec, task, test_split)
    assert m.error is None
    enc = model.predict(test_split.x, verbose=0)
    assert m.values["triplet_accuracy"] == pytest.approx(triplet_accuracy_score(test_split.y, enc))
    assert m.values["verification_roc_auc_score"] == pytest.approx(
        verification_roc_auc_score(test_split.y, enc))
    assert m.values["recall_at_1"] == pytest.approx(recall_at_k_score(test_split.y, enc, k=1))


def test_feature_maps_are_refused(keras, tmp_path, spec, task, test_split):
    m = _grade(_model(keras, flatten=False), tmp_path, spec, task, test_split)
    assert isinstance(m.error, ModelShapeError)
    assert "output has shape (batch, 8, 8, 4)" in m.error.reason
    assert "(batch, embedding_dim)" in m.error.reason


def test_wide_encodings_are_refused(keras, tmp_path, spec, task, test_split):
    m = _grade(_model(keras, width=MAX_EMBEDDING_DIM + 1), tmp_path, spec, task, test_split)
    assert isinstance(m.error, ModelShapeError)
    assert f"outputs {MAX_EMBEDDING_DIM + 1} values per image" in m.error.reason
    assert f"at most {MAX_EMBEDDING_DIM}" in m.error.reason


def test_largest_width_is_accepted(keras, tmp_path, spec, task, test_split):
    assert _grade(_model(keras, width=MAX_EMBEDDING_DIM), tmp_path, spec, task, test_split).error is None


def test_several_outputs_are_refused(keras, tmp_path, spec, task, test_split):
    m = _grade(_model(keras, outputs=2), tmp_path, spec, task, test_split)
    assert isinstance(m.error, ModelShapeError)
    assert "returns 2 outputs" in m.error.reason


def test_non_finite_encodings_are_refused(keras, tmp_path, spec, task, test_split):
    model = _model(keras)
    weights = model.get_weights()
    weights[-1][:] = np.nan  # the last Dense layer's bias
    model.set_weights(weights)
    m = _grade(model, tmp_path, spec, task, test_split)
    assert isinstance(m.error, NonFiniteOutputError)
    assert "NaN or infinite" in m.error.reason


def test_wrong_input_shape_is_refused(keras, tmp_path, spec, task):
    split = Split(x=np.zeros((24, 16, 16, 1), np.float32), y=np.repeat(np.arange(6), 4))
    m = _grade(_model(keras), tmp_path, spec, task, split)
    assert isinstance(m.error, ModelShapeError)
    assert "could not run on inputs of shape (batch, 16, 16, 1)" in m.error.reason


def test_raw_pixel_baseline_flattens_the_images(task, test_split):
    out = task.baseline_outputs("raw_pixels", test_split, test_split)
    assert out.shape == (24, 64)
    assert np.array_equal(out, test_split.x.reshape(24, 64))
    assert 0 <= task.measure("recall_at_1", out, test_split) <= 1


def test_unknown_baseline_and_metric_are_spec_errors(task, test_split):
    with pytest.raises(SpecError, match="unknown embedding baseline 'mean_image'"):
        task.baseline_outputs("mean_image", test_split, test_split)
    with pytest.raises(SpecError, match="does not measure 'accuracy'"):
        task.measure("accuracy", np.zeros((24, 4)), test_split)


def test_committed_reference_beats_the_baseline_on_every_metric():
    import json
    from pathlib import Path

    from autograder.spec import load_reference_metrics, load_spec

    ref_dir = Path(__file__).resolve().parents[1] / "reference_models" / "face_recognition"
    spec = load_spec(ref_dir)
    refm = load_reference_metrics(ref_dir, spec)
    assert {m.name for m in spec.metrics} == set(METRICS)
    for m in spec.metrics:
        assert refm.reference[m.name] > refm.baseline_value(m) + 0.1
    assert (ref_dir / "reference.keras").stat().st_size < 1_000_000
    assert json.loads((ref_dir / "metrics.json").read_text())["student_files"] == [
        "source/face_recognition/data/faces_train.npz"]
