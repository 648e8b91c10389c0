"""The GAN task: a saved generator's samples shown to a judge classifier, and its loss history.

Models are tiny (a judge of one Dense layer, generators of one Dense layer) and go through the same
save -> safe load -> evaluate path as students' models.
"""

from __future__ import annotations

import json
import math
import os
import re

import numpy as np
import pytest

from autograder.data import Split
from autograder.errors import AutograderError, ModelShapeError, SpecError
from autograder.evaluate import measure_model_file, score_measurement
from autograder.histories import history_path
from autograder.metrics import inception_score
from autograder.spec import ReferenceMetrics, parse_spec
from autograder.tasks import get_task
from autograder.tasks.gan import N_SAMPLES, generate, noise_images

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

LATENT = 8
HEALTHY = {"d_loss": [0.2, 0.35, 0.5], "g_loss": [6.1, 2.2, 1.2]}


@pytest.fixture(scope="module")
def keras():
    import keras as keras_module

    keras_module.utils.set_random_seed(0)
    return keras_module


@pytest.fixture(scope="module")
def references(keras, tmp_path_factory):
    """A course's reference_models folder with a tiny judge in place of the digits reference."""
    root = tmp_path_factory.mktemp("reference_models")
    (root / "digits").mkdir()
    judge = keras.Sequential([keras.Input(shape=(28, 28)), keras.layers.Flatten(),
                              keras.layers.Dense(10, activation="softmax")])
    judge.save(root / "digits" / "reference.keras")
    return root


@pytest.fixture(scope="module")
def task(references):
    return get_task("gan", references)


@pytest.fixture(scope="module")
def spec():
    return parse_spec({
        "assignment": "gan", "notebook": "gan", "task": "gan", "dataset": "digit_images",
        "mode": "load", "model_file": "gan_generator.keras", "model_grade_id": "model_quality",
        "seed": 0, "budget": {"max_model_mb": 5},
        "metrics": [
            {"name": "inception_score", "points": 4, "baseline": "random_noise"},
            {"name": "gan_dynamics_score", "points": 2, "baseline": "random_noise"},
        ],
    })


@pytest.fixture(scope="module")
def test_split():
    x = np.zeros((4, 784), np.float32)
    return Split(x=x, y=x)


def _generator(keras, activation="sigmoid", pixels=784, latent_shape=(LATENT,)):
    z = keras.Input(shape=latent_shape)
    flat = keras.layers.Flatten()(z) if len(latent_shape) > 1 else z
    return keras.Model(z, keras.layers.Dense(pixels, activation=activation)(flat), name="generator")


def _grade(model, tmp_path, spec, task, test_split, history=HEALTHY):
    path = tmp_path / "gan_generator.keras"
    model.save(path)
    if history is not None:
        history_path(path).write_text(json.dumps(history))
    return measure_model_file(path, spec, task, test_split)


def test_notebook_style_generator_is_measured(keras, tmp_path, spec, task, test_split, references):
    generator = _generator(keras)
    m = _grade(generator, tmp_path, spec, task, test_split)
    assert m.error is None and m.notes == ()
    samples = generate(generator)
    assert samples.shape == (N_SAMPLES, 28, 28)
    judge = keras.models.load_model(references / "digits" / "reference.keras")
    expected = inception_score(judge.predict(samples, verbose=0))
    assert m.values["inception_score"] == pytest.approx(expected, rel=1e-5)
    assert m.values["gan_dynamics_score"] == 1.0


def test_samples_are_deterministic_and_follow_the_code(keras):
    generator = _generator(keras)
    first, second = generate(generator), generate(generator)
    assert np.array_equal(first, second)
    assert first.std(axis=0).mean() > 0


def test_missing_history_scores_zero_on_dynamics_only(keras, tmp_path, spec, task, test_split):
    m = _grade(_generator(keras), tmp_path, spec, task, test_split, history=None)
    assert m.error is None
    assert m.values["gan_dynamics_score"] == 0.0 and m.values["inception_score"] >= 1.0
    assert any("no training history 'gan_generator_history.json'" in note for note in m.notes)


def test_failed_checks_reach_the_students_reason(keras, tmp_path, spec, task, test_split):
    history = {"d_loss": [0.2, math.nan], "g_loss": [1.0, 2.0]}
    m = _grade(_generator(keras), tmp_path, spec, task, test_split, history=history)
    assert m.values["gan_dynamics_score"] == 0.0
    refm = ReferenceMetrics(reference={"inception_score": 3.0, "gan_dynamics_score": 1.0},
                            baseline={"inception_score": {"random_noise": 1.0},
                                      "gan_dynamics_score": {"random_noise": 0.0}},
                            data_fingerprint="x", version="v")
    parts = {p.metric: p for p in score_measurement(spec, refm, m)}
    assert parts["gan_dynamics_score"].points == 0
    assert "NaN or infinite" in parts["gan_dynamics_score"].reason


@pytest.mark.parametrize("kwargs, match", [
    ({"activation": "tanh"}, r"should lie in \[0, 1\]"),
    ({"pixels": 100}, "784 pixels"),
    ({"latent_shape": (4, 4)}, "flat latent codes"),
    ({"latent_shape": (1000,)}, "at most 512"),
])
def test_unusable_generators_are_refused(keras, tmp_path, spec, task, test_split, kwargs, match):
    m = _grade(_generator(keras, **kwargs), tmp_path, spec, task, test_split)
    assert isinstance(m.error, ModelShapeError)
    assert re.search(match, m.error.reason)


def test_random_noise_baseline(task, test_split):
    outputs = task.baseline_outputs("random_noise", test_split, test_split)
    assert np.array_equal(outputs.samples, noise_images())
    assert task.measure("gan_dynamics_score", outputs, test_split) == 0.0
    assert 1.0 <= task.measure("inception_score", outputs, test_split) <= 10.0


def test_unknown_baseline_and_metric_are_spec_errors(task, test_split):
    with pytest.raises(SpecError, match="random_noise"):
        task.baseline_outputs("mean_image", test_split, test_split)
    outputs = task.baseline_outputs("random_noise", test_split, test_split)
    with pytest.raises(SpecError, match="does not measure"):
        task.measure("accuracy", outputs, test_split)


def test_a_missing_judge_is_a_set_up_error(tmp_path, test_split):
    with pytest.raises(AutograderError, match="reference_models folder"):
        get_task("gan").judge(noise_images(2))
    with pytest.raises(AutograderError, match="train-reference digits"):
        get_task("gan", tmp_path).judge(noise_images(2))
