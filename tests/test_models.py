"""Loading and evaluating a student's model file: every way it can fail, and the happy path.

Each failure must raise the exact :mod:`autograder.errors` class, and its ``reason`` must be one
sentence a student can act on. Models are tiny (Flatten + Dense) and data is synthetic, so the whole
module runs in seconds once TensorFlow is imported.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

from autograder.data import Split
from autograder.errors import (
    ModelLoadError,
    ModelMissingError,
    ModelShapeError,
    NonFiniteOutputError,
    SubmissionError,
)
from autograder.evaluate import Measurement, measure_model_file, score_measurement
from autograder.metrics import top_k_accuracy_score
from autograder.models import load_model_safely, predict
from autograder.spec import ReferenceMetrics, parse_spec
from autograder.tasks import get_task

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

N_TEST = 40
N_CLASSES = 10
EXPECTED = (N_TEST, N_CLASSES)


# ---------------------------------------------------------------------------
# Fixtures and helpers
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def keras():
    import keras as keras_module

    return keras_module


@pytest.fixture(scope="module")
def spec():
    return parse_spec(
        {
            "assignment": "tiny",
            "notebook": "tiny",
            "task": "classifier",
            "dataset": "digits",
            "mode": "load",
            "model_file": "tiny_model.keras",
            "model_grade_id": "model_quality",
            "seed": 0,
            "budget": {"max_model_mb": 5},
            "metrics": [
                {"name": "accuracy", "points": 6, "baseline": "majority_class"},
                {
                    "name": "top_2_accuracy",
                    "points": 1,
                    "baseline": "majority_class",
                    "extra_credit": True,
                },
            ],
        }
    )


@pytest.fixture(scope="module")
def refm():
    return ReferenceMetrics(
        reference={"accuracy": 0.9, "top_2_accuracy": 0.95},
        baseline={"accuracy": {"majority_class": 0.1}, "top_2_accuracy": {"majority_class": 0.2}},
        data_fingerprint="synthetic",
        version="test",
    )


@pytest.fixture(scope="module")
def task():
    return get_task("classifier")


@pytest.fixture(scope="module")
def random_split() -> Split:
    """Random images; labels cycle through all 10 classes so the task expects 10 outputs."""
    rng = np.random.default_rng(0)
    x = rng.random((N_TEST, 28, 28), dtype=np.float32)
    y = np.arange(N_TEST, dtype=np.int64) % N_CLASSES
    return Split(x=x, y=y)


@pytest.fixture(scope="module")
def oracle_split() -> Split:
    """Images that encode their class: pixel (0, c) is 1 for class c, every other pixel is 0.

    The labels of the second half are shifted by 5, so a model that reads the pixel back is right
    on exactly half of the images: accuracy 0.5.
    """
    pixel_class = np.arange(N_TEST, dtype=np.int64) % N_CLASSES
    x = np.zeros((N_TEST, 28, 28), dtype=np.float32)
    x[np.arange(N_TEST), 0, pixel_class] = 1.0
    y = pixel_class.copy()
    y[N_TEST // 2 :] = (y[N_TEST // 2 :] + 5) % N_CLASSES
    return Split(x=x, y=y)


def tiny_model(keras, n_classes: int = N_CLASSES, input_shape=(28, 28), activation="softmax"):
    return keras.Sequential(
        [
            keras.Input(shape=input_shape),
            keras.layers.Flatten(),
            keras.layers.Dense(n_classes, activation=activation),
        ]
    )


def oracle_model(keras):
    """Outputs (before softmax) 10 * pixel (0, c) for class c: it reads back the encoded class."""
    model = tiny_model(keras)
    dense = model.layers[-1]
    kernel = np.zeros((28 * 28, N_CLASSES), dtype=np.float32)
    kernel[np.arange(N_CLASSES), np.arange(N_CLASSES)] = 10.0
    dense.set_weights([kernel, np.zeros(N_CLASSES, dtype=np.float32)])
    return model


def save(model, path: Path) -> Path:
    model.save(path)
    assert path.is_file()
    return path


def assert_student_reason(exc: SubmissionError, *fragments: str) -> None:
    """A reason is one readable line, without a traceback, naming the problem."""
    reason = exc.reason
    assert isinstance(reason, str) and reason.strip(), "reason must be a non-empty string"
    assert reason == str(exc)
    assert "\n" not in reason, f"reason should be a single line: {reason!r}"
    assert "Traceback" not in reason
    assert len(reason) <= 600, f"reason too long for a student: {len(reason)} characters"
    for fragment in fragments:
        assert fragment.lower() in reason.lower(), f"{fragment!r} not in reason {reason!r}"


# ---------------------------------------------------------------------------
# load_model_safely
# ---------------------------------------------------------------------------


def test_missing_file_is_model_missing(tmp_path: Path) -> None:
    with pytest.raises(ModelMissingError) as info:
        load_model_safely(tmp_path / "digits_model.keras", max_mb=5)
    assert type(info.value) is ModelMissingError
    assert info.value.code == "model_missing"
    assert_student_reason(info.value, "digits_model.keras", "model.save(")


def test_directory_instead_of_file_is_model_missing(tmp_path: Path) -> None:
    (tmp_path / "digits_model.keras").mkdir()
    with pytest.raises(ModelMissingError) as info:
        load_model_safely(tmp_path / "digits_model.keras", max_mb=5)
    assert_student_reason(info.value, "digits_model.keras")


def test_text_file_renamed_keras_is_load_error(tmp_path: Path) -> None:
    path = tmp_path / "digits_model.keras"
    path.write_text("this is not a model, I promise\n")
    with pytest.raises(ModelLoadError) as info:
        load_model_safely(path, max_mb=5)
    assert type(info.value) is ModelLoadError
    assert info.value.code == "model_unloadable"
    assert_student_reason(info.value, "digits_model.keras", "not a Keras .keras archive")


def test_empty_file_is_load_error(tmp_path: Path) -> None:
    path = tmp_path / "digits_model.keras"
    path.write_bytes(b"")
    with pytest.raises(ModelLoadError) as info:
        load_model_safely(path, max_mb=5)
    assert_student_reason(info.value, "not a Keras .keras archive")


def test_zip_that_is_not_a_keras_archive_is_load_error(tmp_path: Path) -> None:
    path = tmp_path / "digits_model.keras"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("notes.txt", "my homework")
    assert zipfile.is_zipfile(path)
    with pytest.raises(ModelLoadError) as info:
        load_model_safely(path, max_mb=5)
    assert type(info.value) is ModelLoadError
    assert_student_reason(info.value, "digits_model.keras", "could not load")


def test_archive_naming_a_non_keras_class_is_refused(tmp_path: Path) -> None:
    """A hand-made config.json pointing at os.system must not be imported or called."""
    marker = tmp_path / "pwned"
    path = tmp_path / "digits_model.keras"
    config = (
        '{"module": "os", "class_name": "system", "registered_name": null, '
        f'"config": {{"command": "touch {marker}"}}}}'
    )
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("config.json", config)
        zf.writestr("metadata.json", '{"keras_version": "3.15.1"}')
    with pytest.raises(ModelLoadError) as info:
        load_model_safely(path, max_mb=5)
    assert_student_reason(info.value, "digits_model.keras")
    assert not marker.exists()


def _marker_lambda_model(keras, marker: Path):
    """A model whose Lambda layer creates ``marker`` whenever its function runs.

    The lambda is self-contained (the path is a constant in its code, no defaults or closure), so
    an unsafe load *would* rebuild and run it: the marker then proves what the loader did.
    """
    touch = eval(f"lambda t: (open({str(marker)!r}, 'w').close(), t)[1]")  # noqa: S307
    inputs = keras.Input(shape=(28, 28))
    x = keras.layers.Flatten()(inputs)
    x = keras.layers.Lambda(touch)(x)
    outputs = keras.layers.Dense(N_CLASSES, activation="softmax")(x)
    return keras.Model(inputs, outputs)


def test_lambda_layer_is_refused_without_running_it(keras, tmp_path: Path) -> None:
    marker = tmp_path / "lambda_ran"
    path = save(_marker_lambda_model(keras, marker), tmp_path / "digits_model.keras")
    # Building the graph symbolically called the function once; start from a clean slate.
    marker.unlink(missing_ok=True)

    with pytest.raises(ModelLoadError) as info:
        load_model_safely(path, max_mb=5)
    assert type(info.value) is ModelLoadError
    assert_student_reason(info.value, "digits_model.keras", "safe mode", "Lambda")
    assert not marker.exists(), "the Lambda's function ran while loading in safe mode"

    # Control: the marker does work, an unsafe load runs the function and creates it.
    keras.saving.load_model(path, compile=False, safe_mode=False)
    assert marker.exists()


def test_file_over_size_limit_is_load_error(keras, tmp_path: Path) -> None:
    path = save(tiny_model(keras), tmp_path / "digits_model.keras")
    with pytest.raises(ModelLoadError) as info:
        load_model_safely(path, max_mb=0.001)
    assert type(info.value) is ModelLoadError
    assert_student_reason(info.value, "digits_model.keras", "limit", "MB")


def test_size_limit_is_checked_before_opening_the_file(tmp_path: Path) -> None:
    """A huge non-archive is refused for its size, without reading it as a zip."""
    path = tmp_path / "digits_model.keras"
    path.write_bytes(b"x" * 4096)
    with pytest.raises(ModelLoadError) as info:
        load_model_safely(path, max_mb=0.001)
    assert_student_reason(info.value, "limit")
    assert "archive" not in info.value.reason


def test_good_model_loads_and_predicts(keras, tmp_path: Path, random_split: Split) -> None:
    path = save(tiny_model(keras), tmp_path / "digits_model.keras")
    model = load_model_safely(path, max_mb=5)
    out = predict(model, random_split.x, expected_shape=EXPECTED, batch_size=16)
    assert isinstance(out, np.ndarray)
    assert out.shape == EXPECTED
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-5)


# ---------------------------------------------------------------------------
# predict
# ---------------------------------------------------------------------------


def test_wrong_number_of_classes_is_shape_error(keras, tmp_path: Path, random_split: Split) -> None:
    path = save(tiny_model(keras, n_classes=5), tmp_path / "digits_model.keras")
    model = load_model_safely(path, max_mb=5)
    with pytest.raises(ModelShapeError) as info:
        predict(model, random_split.x, expected_shape=EXPECTED)
    assert type(info.value) is ModelShapeError
    assert info.value.code == "wrong_shape"
    assert_student_reason(info.value, "(batch, 5)", "(batch, 10)")


@pytest.mark.parametrize("kind", ["sequential", "functional"])
def test_wrong_input_shape_is_shape_error(
    keras, tmp_path: Path, random_split: Split, kind: str
) -> None:
    if kind == "sequential":
        model = keras.Sequential([keras.Input(shape=(784,)), keras.layers.Dense(N_CLASSES)])
    else:
        inputs = keras.Input(shape=(784,))
        model = keras.Model(inputs, keras.layers.Dense(N_CLASSES)(inputs))
    path = save(model, tmp_path / "digits_model.keras")
    loaded = load_model_safely(path, max_mb=5)
    with pytest.raises(ModelShapeError) as info:
        predict(loaded, random_split.x, expected_shape=EXPECTED)
    assert type(info.value) is ModelShapeError
    assert_student_reason(info.value, "could not run", "28, 28")


@pytest.mark.parametrize("bad", [np.nan, np.inf], ids=["nan", "inf"])
def test_non_finite_output_is_reported(
    keras, tmp_path: Path, random_split: Split, bad: float
) -> None:
    model = tiny_model(keras, activation=None)
    dense = model.layers[-1]
    kernel, bias = dense.get_weights()
    dense.set_weights([np.full_like(kernel, bad), bias])
    path = save(model, tmp_path / "digits_model.keras")
    loaded = load_model_safely(path, max_mb=5)
    with pytest.raises(NonFiniteOutputError) as info:
        predict(loaded, random_split.x, expected_shape=EXPECTED)
    assert type(info.value) is NonFiniteOutputError
    assert info.value.code == "non_finite_output"
    assert_student_reason(info.value, "NaN or infinite", str(N_TEST * N_CLASSES))


def test_two_outputs_is_shape_error(keras, tmp_path: Path, random_split: Split) -> None:
    inputs = keras.Input(shape=(28, 28))
    x = keras.layers.Flatten()(inputs)
    outputs = [
        keras.layers.Dense(N_CLASSES, activation="softmax")(x),
        keras.layers.Dense(N_CLASSES, activation="softmax")(x),
    ]
    path = save(keras.Model(inputs, outputs), tmp_path / "digits_model.keras")
    loaded = load_model_safely(path, max_mb=5)
    with pytest.raises(ModelShapeError) as info:
        predict(loaded, random_split.x, expected_shape=EXPECTED)
    assert type(info.value) is ModelShapeError
    assert_student_reason(info.value, "2 outputs", "(batch, 10)")


def test_single_output_in_a_list_is_accepted(keras, tmp_path: Path, random_split: Split) -> None:
    inputs = keras.Input(shape=(28, 28))
    x = keras.layers.Flatten()(inputs)
    outputs = [keras.layers.Dense(N_CLASSES, activation="softmax")(x)]
    path = save(keras.Model(inputs, outputs), tmp_path / "digits_model.keras")
    out = predict(load_model_safely(path, max_mb=5), random_split.x, expected_shape=EXPECTED)
    assert out.shape == EXPECTED


# ---------------------------------------------------------------------------
# measure_model_file and score_measurement
# ---------------------------------------------------------------------------


def _assert_all_parts_zero(parts, spec, error: SubmissionError) -> None:
    assert len(parts) == len(spec.metrics)
    for part, metric in zip(parts, spec.metrics, strict=True):
        assert part.name == f"{spec.model_grade_id}:{metric.name}"
        assert part.kind == "model"
        assert part.metric == metric.name
        assert part.points == 0.0
        assert part.max_points == metric.points
        assert part.value is None
        assert part.reason == error.reason
        assert part.extra_credit == metric.extra_credit


@pytest.mark.parametrize(
    ("case", "error_type"),
    [
        ("missing", ModelMissingError),
        ("not_zip", ModelLoadError),
        ("five_classes", ModelShapeError),
        ("nan", NonFiniteOutputError),
    ],
)
def test_failing_model_file_scores_zero_with_reason(
    keras, tmp_path: Path, spec, refm, task, random_split: Split, case: str, error_type: type
) -> None:
    path = tmp_path / spec.model_file
    if case == "not_zip":
        path.write_text("not a model")
    elif case == "five_classes":
        save(tiny_model(keras, n_classes=5), path)
    elif case == "nan":
        model = tiny_model(keras)
        kernel, bias = model.layers[-1].get_weights()
        model.layers[-1].set_weights([np.full_like(kernel, np.nan), bias])
        save(model, path)

    measurement = measure_model_file(path, spec, task, random_split)
    assert isinstance(measurement, Measurement)
    assert type(measurement.error) is error_type
    assert measurement.values == {}
    assert_student_reason(measurement.error)

    parts = score_measurement(spec, refm, measurement)
    _assert_all_parts_zero(parts, spec, measurement.error)
    assert parts[0].reference == refm.reference["accuracy"]
    assert parts[0].baseline == refm.baseline["accuracy"]["majority_class"]


def test_over_size_limit_model_scores_zero(
    keras, tmp_path: Path, spec, refm, task, random_split: Split
) -> None:
    import dataclasses

    tight = dataclasses.replace(spec, budget=dataclasses.replace(spec.budget, max_model_mb=0.001))
    path = save(tiny_model(keras), tmp_path / spec.model_file)
    measurement = measure_model_file(path, tight, task, random_split)
    assert type(measurement.error) is ModelLoadError
    _assert_all_parts_zero(score_measurement(tight, refm, measurement), tight, measurement.error)


def test_working_model_earns_partial_points(
    keras, tmp_path: Path, spec, refm, task, oracle_split: Split
) -> None:
    path = save(oracle_model(keras), tmp_path / spec.model_file)
    measurement = measure_model_file(path, spec, task, oracle_split)
    assert measurement.error is None
    assert set(measurement.values) == {"accuracy", "top_2_accuracy"}
    assert measurement.values["accuracy"] == pytest.approx(0.5)

    outputs = predict(load_model_safely(path, max_mb=5), oracle_split.x, expected_shape=EXPECTED)
    expected_top2 = top_k_accuracy_score(oracle_split.y, outputs, k=2)
    assert measurement.values["top_2_accuracy"] == pytest.approx(expected_top2)

    parts = score_measurement(spec, refm, measurement)
    by_metric = {p.metric: p for p in parts}
    acc = by_metric["accuracy"]
    # Linear between baseline 0.1 (0 points) and reference 0.9 (6 points): 0.5 -> 3 points.
    assert acc.points == pytest.approx(3.0)
    assert 0 < acc.points < acc.max_points
    assert acc.value == pytest.approx(0.5)
    assert "accuracy 0.5000 vs reference 0.9000" in acc.reason
    assert "3.00 of 6 points" in acc.reason
    top2 = by_metric["top_2_accuracy"]
    assert top2.extra_credit
    assert 0 <= top2.points <= top2.max_points
    for part in parts:
        assert part.kind == "model"
        assert part.reference == refm.reference[part.metric]


def test_perfect_model_earns_full_points_and_no_reason(
    keras, tmp_path: Path, spec, refm, task, oracle_split: Split
) -> None:
    perfect = Split(x=oracle_split.x, y=np.arange(N_TEST, dtype=np.int64) % N_CLASSES)
    path = save(oracle_model(keras), tmp_path / spec.model_file)
    measurement = measure_model_file(path, spec, task, perfect)
    assert measurement.error is None
    assert measurement.values["accuracy"] == 1.0
    for part in score_measurement(spec, refm, measurement):
        assert part.points == part.max_points
        assert part.reason == ""


def test_run_batches_gives_what_predict_gives_across_batches():
    import keras

    from autograder.models import run_batches

    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(4,))
    hidden = keras.layers.Dense(3, activation="relu")(inputs)
    model = keras.Model(inputs, {"a": keras.layers.Dense(2)(hidden), "b": keras.layers.Dense(1)(hidden)})
    x = np.random.default_rng(0).normal(size=(70, 4)).astype("float32")
    got = run_batches(model, x, batch_size=32)  # three batches, the last one short
    want = model.predict(x, batch_size=32, verbose=0)
    assert set(got) == {"a", "b"} and got["a"].shape == (70, 2) and got["b"].shape == (70, 1)
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=1e-5, atol=1e-6)
    single = keras.Model(inputs, hidden)
    np.testing.assert_allclose(run_batches(single, x, 32), single.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    assert run_batches(single, x[:0]).shape == (0, 3)
