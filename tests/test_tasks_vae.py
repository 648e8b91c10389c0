"""The VAE task: encoder -> [mu, log_var], decoder on mu and on random codes, three measurements.

Models are tiny and go through the same save -> safe load -> evaluate path as students' models.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from autograder.data import Split
from autograder.errors import ModelShapeError, NonFiniteOutputError, SpecError
from autograder.evaluate import measure_model_file
from autograder.metrics import gaussian_kl_divergence
from autograder.spec import parse_spec
from autograder.tasks import get_task
from autograder.tasks.vae import N_SAMPLES

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

N = 20
PIXELS = 784
LATENT = 4


@pytest.fixture(scope="module")
def keras():
    import keras as keras_module

    return keras_module


@pytest.fixture(scope="module")
def task():
    return get_task("vae")


@pytest.fixture(scope="module")
def spec():
    return parse_spec({
        "assignment": "vae", "notebook": "vae", "task": "vae", "dataset": "digit_images",
        "mode": "load", "model_file": "vae_model.keras", "model_grade_id": "model_quality",
        "seed": 0, "budget": {"max_model_mb": 5},
        "metrics": [
            {"name": "mean_squared_error", "points": 4, "baseline": "mean_image"},
            {"name": "kl_in_range_score", "points": 1, "baseline": "mean_image"},
            {"name": "valid_sample_score", "points": 1, "baseline": "mean_image"},
        ],
    })


@pytest.fixture(scope="module")
def test_split():
    x = np.random.default_rng(0).uniform(0, 1, size=(N, PIXELS)).astype(np.float32)
    return Split(x=x, y=x)


def _encoder(keras, latent=LATENT, heads=2):
    images = keras.Input(shape=(PIXELS,))
    hidden = keras.layers.Dense(16, activation="relu")(images)
    outs = [keras.layers.Dense(latent)(hidden) for _ in range(heads)]
    return keras.Model(images, outs if heads > 1 else outs[0], name="encoder")


def _decoder(keras, latent=LATENT, activation="sigmoid"):
    z = keras.Input(shape=(latent,))
    return keras.Model(z, keras.layers.Dense(PIXELS, activation=activation)(z), name="decoder")


def _training_model(keras, encoder, decoder):
    """The notebook's VAE: reparameterisation from built-in layers only, safe-mode loadable."""
    layers = keras.layers
    images = keras.Input(shape=(PIXELS,))
    mu, log_var = encoder(images)
    sigma = layers.Activation("exponential")(layers.Rescaling(0.5)(log_var))
    eps = layers.GaussianNoise(1.0)(layers.Rescaling(0.0)(mu))
    z = layers.Add()([mu, layers.Multiply()([sigma, eps])])
    return keras.Model(images, layers.Concatenate()([decoder(z), mu, log_var]), name="vae")


def _grade(model, tmp_path, spec, task, test_split):
    path = tmp_path / "vae_model.keras"
    model.save(path)
    return measure_model_file(path, spec, task, test_split)


def test_notebook_style_vae_is_measured(keras, tmp_path, spec, task, test_split):
    encoder, decoder = _encoder(keras), _decoder(keras)
    m = _grade(_training_model(keras, encoder, decoder), tmp_path, spec, task, test_split)
    assert m.error is None
    mu, log_var = encoder.predict(test_split.x, verbose=0)
    recon = decoder.predict(mu, verbose=0)
    assert m.values["mean_squared_error"] == pytest.approx(
        float(np.mean((recon - test_split.y) ** 2)), rel=1e-5)
    kl = gaussian_kl_divergence(mu, log_var)
    assert m.values["kl_in_range_score"] == pytest.approx(float(np.mean((kl >= 0.1) & (kl <= 100))))
    assert m.values["valid_sample_score"] == 1.0


def test_outputs_are_deterministic(keras, tmp_path, task, test_split):
    from autograder.models import load_model_safely

    path = tmp_path / "vae_model.keras"
    _training_model(keras, _encoder(keras), _decoder(keras)).save(path)
    model = load_model_safely(path, max_mb=5)
    first, second = task.run_model(model, test_split), task.run_model(model, test_split)
    assert first.samples.shape == (N_SAMPLES, PIXELS)
    assert np.array_equal(first.samples, second.samples)
    assert np.array_equal(first.reconstruction, second.reconstruction)


def test_encoder_with_one_output_is_refused(keras, tmp_path, spec, task, test_split):
    encoder = _encoder(keras, heads=1)
    x = keras.Input(shape=(PIXELS,))
    model = keras.Model(x, _decoder(keras)(encoder(x)))
    m = _grade(model, tmp_path, spec, task, test_split)
    assert isinstance(m.error, ModelShapeError)
    assert "returns 1 output; a VAE's encoder should return two arrays, [mu, log_var]" in m.error.reason


def test_wide_latent_space_is_refused(keras, tmp_path, spec, task, test_split):
    encoder, decoder = _encoder(keras, latent=64), _decoder(keras, latent=64)
    m = _grade(_training_model(keras, encoder, decoder), tmp_path, spec, task, test_split)
    assert isinstance(m.error, ModelShapeError)
    assert "outputs 64 values per image; the bottleneck must be at most 32 wide" in m.error.reason


def test_mismatched_heads_are_refused(keras, tmp_path, spec, task, test_split):
    images = keras.Input(shape=(PIXELS,))
    encoder = keras.Model(
        images, [keras.layers.Dense(4)(images), keras.layers.Dense(3)(images)], name="encoder")
    x = keras.Input(shape=(PIXELS,))
    model = keras.Model(x, _decoder(keras)(encoder(x)[0]))
    m = _grade(model, tmp_path, spec, task, test_split)
    assert isinstance(m.error, ModelShapeError) and "mu and log_var have shapes" in m.error.reason


def test_model_without_submodels_gets_a_reason(keras, tmp_path, spec, task, test_split):
    flat = keras.Sequential([keras.Input(shape=(PIXELS,)), keras.layers.Dense(PIXELS)])
    m = _grade(flat, tmp_path, spec, task, test_split)
    assert isinstance(m.error, ModelShapeError) and "no sub-model named 'encoder'" in m.error.reason


def test_non_finite_mu_is_refused(keras, tmp_path, spec, task, test_split):
    encoder = _encoder(keras)
    kernel, bias = encoder.layers[-2].get_weights()
    encoder.layers[-2].set_weights([kernel, np.full_like(bias, np.nan)])
    m = _grade(_training_model(keras, encoder, _decoder(keras)), tmp_path, spec, task, test_split)
    assert isinstance(m.error, NonFiniteOutputError) and "mu" in m.error.reason


def test_deterministic_encoder_fails_the_kl_check(keras, tmp_path, spec, task, test_split):
    """A plain autoencoder in VAE clothes: tiny variances, far from N(0, I)."""
    encoder = _encoder(keras)
    log_var_head = encoder.layers[-1]
    kernel, bias = log_var_head.get_weights()
    log_var_head.set_weights([np.zeros_like(kernel), np.full_like(bias, -60.0)])
    m = _grade(_training_model(keras, encoder, _decoder(keras)), tmp_path, spec, task, test_split)
    assert m.error is None
    assert m.values["kl_in_range_score"] == 0.0  # 4 x 0.5 x 59 nats = 118 > 100
    assert m.values["valid_sample_score"] == 1.0


def test_decoder_that_ignores_the_code_gives_no_valid_samples(keras, tmp_path, spec, task,
                                                               test_split):
    decoder = _decoder(keras)
    kernel, bias = decoder.layers[-1].get_weights()
    decoder.layers[-1].set_weights([np.zeros_like(kernel), bias])
    m = _grade(_training_model(keras, _encoder(keras), decoder), tmp_path, spec, task, test_split)
    assert m.error is None and m.values["valid_sample_score"] == 0.0


def test_linear_decoder_samples_out_of_range_are_invalid(keras, tmp_path, spec, task, test_split):
    decoder = _decoder(keras, activation="linear")
    kernel, bias = decoder.layers[-1].get_weights()
    decoder.layers[-1].set_weights([kernel * 100.0, bias])
    m = _grade(_training_model(keras, _encoder(keras), decoder), tmp_path, spec, task, test_split)
    assert m.error is None and m.values["valid_sample_score"] < 0.1


def test_mean_image_baseline_scores_zero_on_the_validity_checks(task, test_split):
    out = task.baseline_outputs("mean_image", test_split, test_split)
    assert task.measure("kl_in_range_score", out, test_split) == 0.0
    assert task.measure("valid_sample_score", out, test_split) == 0.0
    mean = test_split.y.mean(axis=0)
    assert task.measure("mean_squared_error", out, test_split) == pytest.approx(
        float(np.mean((test_split.y - mean) ** 2)), rel=1e-5)


def test_unknown_baseline_and_metric_are_spec_errors(task, test_split):
    with pytest.raises(SpecError, match="mean_image"):
        task.baseline_outputs("input", test_split, test_split)
    out = task.baseline_outputs("mean_image", test_split, test_split)
    with pytest.raises(SpecError, match="does not measure 'accuracy'"):
        task.measure("accuracy", out, test_split)
