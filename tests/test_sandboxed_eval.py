"""Sandboxed evaluation of models built from the student's own classes (slow: each sandbox
imports TensorFlow). Models are tiny and trained for a few steps; what is checked is that the
sandbox gives the grader the very outputs the model computes in a process that has its classes,
so the student earns what the model deserves, measured as for any model."""

from __future__ import annotations

import os

import nbformat
import numpy as np
import pytest

from autograder.data import Split
from autograder.evaluate import measure_model_file
from autograder.sandboxed_eval import EvaluationSource, custom_names
from autograder.spec import parse_spec
from autograder.tasks import get_task

pytestmark = pytest.mark.slow
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

IMPORTS = "import numpy as np\nimport keras\nfrom keras import layers\n"

SUBCLASSED = '''
class DigitClassifier(keras.Model):
    """A subclassed classifier, as in Keras' "making new layers and models" guide."""

    def __init__(self, n_classes=10, **kwargs):
        super().__init__(**kwargs)
        self.n_classes = n_classes
        self.flatten = layers.Flatten()
        self.hidden = layers.Dense(32, activation="relu")
        self.out = layers.Dense(n_classes, activation="softmax")

    def call(self, x):
        return self.out(self.hidden(self.flatten(x)))

    def get_config(self):
        return {**super().get_config(), "n_classes": self.n_classes}


def build_model():
    model = DigitClassifier(10)
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model
'''

ATTENTION = '''
class SelfAttention(layers.Layer):
    """Single-head scaled dot-product self-attention with a residual connection."""

    def __init__(self, units=8, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        d = input_shape[-1]
        self.wq = self.add_weight(shape=(d, self.units), initializer="glorot_uniform")
        self.wk = self.add_weight(shape=(d, self.units), initializer="glorot_uniform")
        self.wv = self.add_weight(shape=(d, d), initializer="glorot_uniform")

    def call(self, x):
        q, k, v = x @ self.wq, x @ self.wk, x @ self.wv
        scores = keras.ops.softmax(q @ keras.ops.transpose(k, (0, 2, 1)) / self.units ** 0.5)
        return x + scores @ v

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def build_model():
    tokens = keras.Input(shape=(28, 28))
    x = SelfAttention(8)(tokens)
    x = layers.LayerNormalization()(x)
    x = layers.GlobalAveragePooling1D()(x)
    model = keras.Model(tokens, layers.Dense(10, activation="softmax")(x))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model
'''

VAE = '''
LATENT_DIM = 2


class Sampling(layers.Layer):
    def call(self, inputs):
        mu, log_var = inputs
        return mu + keras.ops.exp(0.5 * log_var) * keras.random.normal(keras.ops.shape(mu))


def build_parts():
    images = keras.Input(shape=(64,))
    h = layers.Dense(8, activation="relu")(images)
    encoder = keras.Model(images, [layers.Dense(LATENT_DIM)(h), layers.Dense(LATENT_DIM)(h)],
                          name="encoder")
    z = keras.Input(shape=(LATENT_DIM,))
    decoder = keras.Model(z, layers.Dense(64, activation="sigmoid")(z), name="decoder")
    return encoder, decoder


def build_model():
    encoder, decoder = build_parts()
    images = keras.Input(shape=(64,))
    mu, log_var = encoder(images)
    return keras.Model(images, decoder(Sampling()([mu, log_var])), name="vae")
'''

TRAINING = "model = build_model()\nmodel.fit(x_train, y_train, epochs=1)\nmodel.save('model.keras')\n"


def spec_for(task: str, dataset: str, mode: str = "load", sandbox: str = "auto", wall_s: float = 120):
    metrics = {
        "classifier": [{"name": "accuracy", "points": 6, "baseline": "majority_class"}],
        "vae": [{"name": "mean_squared_error", "points": 4, "baseline": "mean_image"},
                {"name": "kl_in_range_score", "points": 1, "baseline": "mean_image"},
                {"name": "valid_sample_score", "points": 1, "baseline": "mean_image"}],
    }[task]
    return parse_spec({
        "assignment": "a", "notebook": "nb", "task": task, "dataset": dataset, "mode": mode,
        "model_file": "model.keras", "model_grade_id": "model_quality", "seed": 1,
        "metrics": metrics, "train": {"cells": ["imports", "build_model"]},
        "budget": {"epochs": 1, "batch_size": 256, "time_limit_s": 300},
        "limits": {"wall_s": wall_s, "memory_mb": 3000},
        "evaluation": {"sandbox": sandbox},
    })


def write_notebook(path, cells) -> None:
    nb = nbformat.v4.new_notebook()
    for gid, src in cells:
        cell = nbformat.v4.new_code_cell(src)
        cell.metadata["nbgrader"] = {"grade_id": gid, "solution": True, "grade": False,
                                     "locked": False, "schema_version": 3}
        nb.cells.append(cell)
    nbformat.write(nb, path)


def student_namespace(code: str) -> dict:
    """The student's classes in this (test) process, as the notebook's kernel would have them."""
    namespace: dict = {"__name__": "__main__"}
    exec(IMPORTS + code, namespace)
    return namespace


def build_and_save(tmp_path, code: str, x, y, name: str = "model.keras"):
    import keras

    ns = student_namespace(code)
    keras.utils.set_random_seed(0)
    model = ns["build_model"]()
    model(x[:2])
    model.save(tmp_path / name)
    return model


def in_process(model, x) -> np.ndarray:
    from autograder.models import run_batches

    return np.asarray(run_batches(model, x))


@pytest.fixture(scope="module")
def digits():
    rng = np.random.default_rng(0)
    return Split(rng.random((120, 28, 28), dtype=np.float32), rng.integers(0, 10, 120))


def test_only_a_notebooks_own_classes_send_a_file_to_a_sandbox(tmp_path):
    import json
    import zipfile

    layers_config = [
        {"module": "keras.layers", "class_name": "Dense", "config": {}},
        {"module": "__main__", "class_name": "Sampling", "config": {}},
        {"module": "builtins", "class_name": "function", "config": "swish2"},
        {"module": None, "class_name": "SelfAttention", "config": {}},
        {"module": None, "class_name": "__keras_tensor__", "config": {}},
        {"module": "subprocess", "class_name": "Popen", "config": {"args": ["touch", "x"]}},
        {"module": "os", "class_name": "function", "config": "system"},
    ]
    with zipfile.ZipFile(tmp_path / "m.keras", "w") as zf:
        zf.writestr("config.json", json.dumps({"module": "keras", "class_name": "Functional",
                                               "config": {"layers": layers_config}}))
    assert custom_names(tmp_path / "m.keras") == ("Sampling", "swish2", "SelfAttention")
    (tmp_path / "bad.keras").write_bytes(b"not a zip")
    assert custom_names(tmp_path / "bad.keras") == ()


def test_a_subclassed_classifier_is_graded_in_a_sandbox(tmp_path, digits):
    model = build_and_save(tmp_path, SUBCLASSED, digits.x, digits.y)
    assert custom_names(tmp_path / "model.keras") == ("DigitClassifier",)
    write_notebook(tmp_path / "nb.ipynb", [("imports", IMPORTS), ("build_model", SUBCLASSED + TRAINING)])
    spec = spec_for("classifier", "digits")
    task = get_task("classifier")
    source = EvaluationSource(tmp_path / "nb.ipynb", spec, tmp_path / "scratch")
    measured = measure_model_file(tmp_path / "model.keras", spec, task, digits, source=source)
    assert measured.error is None, measured.error.reason
    assert measured.evaluation == "sandbox"
    expected = task.measure("accuracy", in_process(model, digits.x), digits)
    assert measured.values["accuracy"] == pytest.approx(expected)
    assert not any((tmp_path / "scratch").iterdir()), "every sandbox's folder is removed"
    # the feedback's pictures (of data the student may see) run it in a sandbox too
    from autograder.pictures import first, model_pictures

    shown = model_pictures(tmp_path / "model.keras", spec, first(digits, 30), source)
    assert shown is not None and shown.confusion.sum() == 30
    # without a notebook to take the classes from (the report), or with sandboxing off: refused,
    # with a reason that does not repeat Keras' advice to register the class
    for refused in (measure_model_file(tmp_path / "model.keras", spec, task, digits),
                    measure_model_file(tmp_path / "model.keras", spec_for("classifier", "digits",
                                       sandbox="never"), task, digits, source=source)):
        assert refused.error is not None and "DigitClassifier" in refused.error.reason
        assert "register_keras_serializable" not in refused.error.reason


def test_a_transformer_style_classifier_with_an_attention_layer(tmp_path):
    rng = np.random.default_rng(1)
    tokens = Split(rng.standard_normal((90, 28, 28)).astype(np.float32), rng.integers(0, 10, 90))
    model = build_and_save(tmp_path, ATTENTION, tokens.x, tokens.y)
    write_notebook(tmp_path / "nb.ipynb", [("imports", IMPORTS), ("build_model", ATTENTION)])
    spec = spec_for("classifier", "digits")
    task = get_task("classifier")
    source = EvaluationSource(tmp_path / "nb.ipynb", spec, tmp_path / "scratch")
    measured = measure_model_file(tmp_path / "model.keras", spec, task, tokens, source=source)
    assert measured.error is None, measured.error.reason
    assert measured.evaluation == "sandbox"
    assert measured.values["accuracy"] == pytest.approx(
        task.measure("accuracy", in_process(model, tokens.x), tokens))


def test_a_vae_with_a_sampling_layer_earns_what_its_encoder_and_decoder_deserve(tmp_path, monkeypatch):
    import keras

    rng = np.random.default_rng(2)
    images = rng.random((100, 64), dtype=np.float32)
    test = Split(images, images)
    vae = build_and_save(tmp_path, VAE, images, images)
    # the same encoder and decoder in a model safe mode loads: the grade to match
    encoder, decoder = vae.get_layer("encoder"), vae.get_layer("decoder")
    inp = keras.Input(shape=(64,))
    keras.Model(inp, decoder(encoder(inp)[0])).save(tmp_path / "plain.keras")
    write_notebook(tmp_path / "nb.ipynb", [("imports", IMPORTS), ("build_model", VAE)])
    spec, task = spec_for("vae", "digit_images"), get_task("vae")
    source = EvaluationSource(tmp_path / "nb.ipynb", spec, tmp_path / "scratch")
    plain = measure_model_file(tmp_path / "plain.keras", spec, task, test, source=source)
    assert plain.error is None and plain.evaluation == "safe_mode"
    pictures = []
    measured = measure_model_file(tmp_path / "model.keras", spec, task, test, source=source,
                                  then=pictures.append)
    assert measured.error is None, measured.error.reason
    assert measured.evaluation == "sandbox"
    assert measured.values == pytest.approx(plain.values, rel=1e-5)
    # the report's pictures come from the outputs already computed: no further sandbox
    from autograder import sandboxed_eval
    from autograder.pictures import first, pictures_of_model

    def no_more_sandboxes(*args):
        raise AssertionError("the pictures started a sandbox")

    monkeypatch.setattr(sandboxed_eval, "run_in_sandbox", no_more_sandboxes)
    shown = pictures_of_model(pictures[0], spec, first(test, 50))
    assert shown is not None and shown.outputs.shape[1:] == (64,)


def test_reasons_when_the_notebook_lacks_the_class(tmp_path):
    rng = np.random.default_rng(3)
    images = rng.random((20, 64), dtype=np.float32)
    build_and_save(tmp_path, VAE, images, images)
    spec, task = spec_for("vae", "digit_images"), get_task("vae")
    nested = VAE.replace("class Sampling", "if True:\n  class Sampling").replace(
        "\n    def call", "\n      def call").replace("\n        mu, log_var", "\n        mu, log_var")
    cases = {
        "does not define": [("imports", IMPORTS), ("build_model", VAE.split("class Sampling")[0])],
        "inside a block": [("imports", IMPORTS), ("build_model", nested)],
    }
    for expected, cells in cases.items():
        write_notebook(tmp_path / "nb.ipynb", cells)
        source = EvaluationSource(tmp_path / "nb.ipynb", spec, tmp_path / "scratch")
        measured = measure_model_file(tmp_path / "model.keras", spec, task, Split(images, images),
                                      source=source)
        assert measured.error is not None and measured.evaluation == "sandbox"
        assert "'Sampling'" in measured.error.reason and expected in measured.error.reason
        assert "register_keras_serializable" not in measured.error.reason


@pytest.mark.parametrize("code", [SUBCLASSED, ATTENTION], ids=["subclassed_categorical", "attention"])
def test_train_mode_retrained_custom_models(tmp_path, code):
    from autograder.data import load_dataset
    from autograder.runner.train import train_model_from_notebook

    write_notebook(tmp_path / "nb.ipynb", [("imports", IMPORTS), ("build_model", code)])
    spec = spec_for("classifier", "digits", mode="train")
    trained = train_model_from_notebook(tmp_path / "nb.ipynb", spec, tmp_path / "train")
    test = load_dataset("digits", "test")
    test = Split(test.x[:200], test.y[:200])
    source = EvaluationSource(tmp_path / "nb.ipynb", spec, tmp_path / "train" / "eval")
    measured = measure_model_file(trained, spec, get_task("classifier"), test, source=source)
    assert measured.error is None, measured.error.reason
    assert measured.evaluation == "sandbox"
    # what the retrained model is worth, computed where its classes are (this test's process)
    import keras

    ns = student_namespace(code)
    custom = {k: v for k, v in ns.items() if isinstance(v, type)}
    model = keras.saving.load_model(trained, compile=False, custom_objects=custom)
    task = get_task("classifier")
    assert measured.values["accuracy"] == pytest.approx(
        task.measure("accuracy", in_process(model, test.x), test))
    assert measured.values["accuracy"] > 0.12  # trained (one epoch; on one-hot labels for one)
