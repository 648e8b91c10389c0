"""Fit jobs: a notebook's own training function, ``fit(images, epochs, batch_size) -> (model,
history)``, run in the sandboxed child (how the GAN reference is trained). Each run imports
TensorFlow in the child, so there are two."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_train_mode import IMPORTS, assert_reason, write_notebook

from autograder.errors import StudentCodeError
from autograder.histories import history_path
from autograder.models import load_model_safely
from autograder.runner.train import train_model_from_notebook
from autograder.spec import parse_spec

pytestmark = pytest.mark.slow

FIT = """\
def fit_gan(images, epochs, batch_size):
    z = keras.Input(shape=(4,))
    generator = keras.Model(z, layers.Dense(784, activation="sigmoid")(z), name="generator")
    history = {"d_loss": [0.5] * epochs, "g_loss": [float(len(images)), float(batch_size)]}
    return generator, history
"""


def _spec():
    return parse_spec({
        "assignment": "gan", "notebook": "gan", "task": "gan", "dataset": "digit_images",
        "mode": "load", "model_file": "gan_generator.keras", "model_grade_id": "model_quality",
        "seed": 1, "budget": {"epochs": 2, "batch_size": 64, "time_limit_s": 120, "max_model_mb": 5},
        "train": {"cells": ["imports", "fit"], "builder": "fit_gan"},
        "metrics": [{"name": "inception_score", "points": 4, "baseline": "random_noise"}],
    })


def _run(tmp_path: Path, fit: str) -> Path:
    notebook = write_notebook(tmp_path / "gan.ipynb", {"imports": IMPORTS, "fit": fit})
    return train_model_from_notebook(notebook, _spec(), tmp_path / "work", kind="fit")


def test_fit_function_model_and_history_are_kept(tmp_path):
    trained = _run(tmp_path, FIT)
    model = load_model_safely(trained, max_mb=5)
    assert model.name == "generator" and model.output_shape == (None, 784)
    history = json.loads(history_path(trained).read_text())
    # Called with the training split (4,000 digits) and the spec's budget.
    assert history == {"d_loss": [0.5, 0.5], "g_loss": [4000.0, 64.0]}


def test_fit_function_that_returns_only_the_model_gets_a_reason(tmp_path):
    fit = FIT.replace("return generator, history", "return generator")
    with pytest.raises(StudentCodeError) as info:
        _run(tmp_path, fit)
    assert_reason(info.value, "fit_gan() should return (model, history)")
