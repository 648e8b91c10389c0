"""The autoencoder task: encoder and decoder called separately, and every way that can fail.

Models are tiny and saved to .keras files, then graded through the same safe loading as students'
models, so the whole module runs in seconds once TensorFlow is imported.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from autograder.data import Split
from autograder.errors import ModelShapeError, NonFiniteOutputError
from autograder.evaluate import measure_model_file
from autograder.spec import parse_spec
from autograder.tasks import get_task
from autograder.tasks.autoencoder import MAX_LATENT

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

N = 24
PIXELS = 784


@pytest.fixture(scope="module")
def keras():
    import keras as keras_module

    return keras_module


@pytest.fixture(scope="module")
def task():
    return get_task("autoencoder")


@pytest.fixture(scope="module")
def spec():
    return parse_spec({
        "assignment": "autoencoder", "notebook": "autoencoder", "task": "autoencoder",
        "dataset": "digit_images", "mode": "load", "model_file": "autoencoder_model.keras",
        "model_grade_id": "model_quality", "seed": 0, "budget": {"max_model_mb": 5},
        "metrics": [{"name": "mean_squared_error", "points": 6, "baseline": "mean_image"}],
    })


@pytest.fixture(scope="module")
def test_split():
    x = np.random.default_rng(0).uniform(0, 1, size=(N, PIXELS)).astype(np.float32)
    return Split(x=x, y=x)


def _dense_model(keras, n_in, n_out, name, activation="sigmoid"):
    inputs = keras.Input(shape=(n_in,))
    return keras.Model(inputs, keras.layers.Dense(n_out, activation=activation)(inputs), name=name)


def _autoencoder(keras, encoder, decoder):
    inputs = keras.Input(shape=encoder.input_shape[1:])
    return keras.Model(inputs, decoder(encoder(inputs)), name="autoencoder")


def _grade(model, tmp_path, spec, task, test_split):
    path = tmp_path / "autoencoder_model.keras"
    model.save(path)
    return measure_model_file(path, spec, task, test_split)


def test_good_autoencoder_is_measured(keras, tmp_path, spec, task, test_split):
    model = _autoencoder(keras, _dense_model(keras, PIXELS, 8, "encoder", "relu"),
                         _dense_model(keras, 8, PIXELS, "decoder"))
    m = _grade(model, tmp_path, spec, task, test_split)
    assert m.error is None
    expected = model.predict(test_split.x, verbose=0)
    assert m.values["mean_squared_error"] == pytest.approx(
        float(np.mean((expected - test_split.y) ** 2)), rel=1e-5)


def test_bottleneck_exactly_at_the_limit_is_accepted(keras, tmp_path, spec, task, test_split):
    model = _autoencoder(keras, _dense_model(keras, PIXELS, MAX_LATENT, "encoder", "relu"),
                         _dense_model(keras, MAX_LATENT, PIXELS, "decoder"))
    assert _grade(model, tmp_path, spec, task, test_split).error is None


def test_wide_code_is_refused_with_the_bottleneck_reason(keras, tmp_path, spec, task, test_split):
    model = _autoencoder(keras, _dense_model(keras, PIXELS, PIXELS, "encoder"),
                         _dense_model(keras, PIXELS, PIXELS, "decoder"))
    m = _grade(model, tmp_path, spec, task, test_split)
    assert isinstance(m.error, ModelShapeError)
    assert m.error.reason == (
        "the encoder outputs 784 values per image; the bottleneck must be at most 32 wide"
    )


def test_multi_axis_code_counts_every_value(keras, tmp_path, spec, task, test_split):
    inputs = keras.Input(shape=(PIXELS,))
    code = keras.layers.Reshape((5, 8))(keras.layers.Dense(40)(inputs))
    encoder = keras.Model(inputs, code, name="encoder")
    codes = keras.Input(shape=(5, 8))
    decoder = keras.Model(
        codes, keras.layers.Dense(PIXELS)(keras.layers.Flatten()(codes)), name="decoder")
    m = _grade(_autoencoder(keras, encoder, decoder), tmp_path, spec, task, test_split)
    assert isinstance(m.error, ModelShapeError) and "outputs 40 values per image" in m.error.reason


def test_model_without_submodels_gets_a_reason(keras, tmp_path, spec, task, test_split):
    flat = keras.Sequential([
        keras.Input(shape=(PIXELS,)),
        keras.layers.Dense(16, activation="relu"),
        keras.layers.Dense(PIXELS, activation="sigmoid"),
    ])
    m = _grade(flat, tmp_path, spec, task, test_split)
    assert isinstance(m.error, ModelShapeError)
    assert "no sub-model named 'encoder'" in m.error.reason
    assert 'name="encoder"' in m.error.reason


def test_missing_decoder_is_named(keras, tmp_path, spec, task, test_split):
    encoder = _dense_model(keras, PIXELS, 8, "encoder")
    inputs = keras.Input(shape=(PIXELS,))
    model = keras.Model(inputs, keras.layers.Dense(PIXELS)(encoder(inputs)), name="autoencoder")
    m = _grade(model, tmp_path, spec, task, test_split)
    assert isinstance(m.error, ModelShapeError) and "no sub-model named 'decoder'" in m.error.reason


def test_encoder_with_two_outputs_is_refused(keras, tmp_path, spec, task, test_split):
    inputs = keras.Input(shape=(PIXELS,))
    encoder = keras.Model(
        inputs, [keras.layers.Dense(4)(inputs), keras.layers.Dense(4)(inputs)], name="encoder")
    decoder = _dense_model(keras, 4, PIXELS, "decoder")
    x = keras.Input(shape=(PIXELS,))
    model = keras.Model(x, decoder(encoder(x)[0]))
    m = _grade(model, tmp_path, spec, task, test_split)
    assert isinstance(m.error, ModelShapeError) and "the encoder returns 2 outputs" in m.error.reason


def test_decoder_of_the_wrong_shape_is_refused(keras, tmp_path, spec, task, test_split):
    model = _autoencoder(keras, _dense_model(keras, PIXELS, 8, "encoder"),
                         _dense_model(keras, 8, 10, "decoder"))
    m = _grade(model, tmp_path, spec, task, test_split)
    assert isinstance(m.error, ModelShapeError)
    assert m.error.reason == "the decoder's output has shape (batch, 10); expected (batch, 784)"


def test_encoder_for_other_inputs_gets_a_reason(keras, tmp_path, spec, task, test_split):
    inputs = keras.Input(shape=(28, 28))
    encoder = keras.Model(
        inputs, keras.layers.Dense(8)(keras.layers.Flatten()(inputs)), name="encoder")
    decoder = _dense_model(keras, 8, PIXELS, "decoder")
    m = _grade(_autoencoder(keras, encoder, decoder), tmp_path, spec, task, test_split)
    assert isinstance(m.error, ModelShapeError)
    assert m.error.reason.startswith("the encoder could not run on inputs of shape (batch, 784)")


def test_non_finite_reconstructions_are_refused(keras, tmp_path, spec, task, test_split):
    encoder = _dense_model(keras, PIXELS, 8, "encoder")
    decoder = _dense_model(keras, 8, PIXELS, "decoder", activation="linear")
    kernel, bias = decoder.layers[-1].get_weights()
    decoder.layers[-1].set_weights([kernel, np.full_like(bias, np.nan)])
    m = _grade(_autoencoder(keras, encoder, decoder), tmp_path, spec, task, test_split)
    assert isinstance(m.error, NonFiniteOutputError) and "decoder's output" in m.error.reason


def test_mean_image_baseline(task, test_split):
    train = Split(x=np.stack([np.zeros(PIXELS), np.ones(PIXELS)]).astype(np.float32),
                  y=np.stack([np.zeros(PIXELS), np.ones(PIXELS)]).astype(np.float32))
    out = task.baseline_outputs("mean_image", train, test_split)
    assert out.shape == test_split.y.shape and np.allclose(out, 0.5)
    assert task.measure("mean_squared_error", out, test_split) == pytest.approx(
        float(np.mean((test_split.y - 0.5) ** 2)), rel=1e-6)


def test_unknown_baseline_and_metric_are_spec_errors(task, test_split):
    from autograder.errors import SpecError

    with pytest.raises(SpecError, match="mean_image"):
        task.baseline_outputs("majority_class", test_split, test_split)
    with pytest.raises(SpecError, match="does not measure 'accuracy'"):
        task.measure("accuracy", test_split.y, test_split)


def test_digit_images_are_their_own_targets():
    from autograder.data import load_dataset

    for split, n in (("train", 4000), ("test", 1000)):
        images = load_dataset("digit_images", split)
        assert images.x.shape == (n, PIXELS) and images.x is images.y
        digits = load_dataset("digits", split)
        assert np.array_equal(images.x, digits.x.reshape(n, PIXELS))
