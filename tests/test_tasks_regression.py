"""The regression task (sinx, denoiser): output shape, metrics and the two baselines."""

from __future__ import annotations

import numpy as np
import pytest

from autograder.data import Split, load_dataset
from autograder.errors import SpecError
from autograder.metrics import mean_squared_error, peak_signal_noise_ratio
from autograder.tasks import get_task


@pytest.fixture(scope="module")
def task():
    return get_task("regression")


def _split(shape, seed):
    rng = np.random.default_rng(seed)
    return Split(x=rng.uniform(size=shape).astype(np.float32),
                 y=rng.uniform(size=shape).astype(np.float32))


def test_expected_output_is_shaped_like_the_targets(task):
    assert task.expected_output_shape(_split((7, 1), 0)) == (7, 1)
    assert task.expected_output_shape(_split((5, 28, 28, 1), 0)) == (5, 28, 28, 1)


def test_metrics_are_the_registered_functions(task):
    test = _split((6, 4, 4, 1), 1)
    out = np.clip(test.y + 0.1, 0, 1)
    assert task.measure("mean_squared_error", out, test) == mean_squared_error(test.y, out)
    assert task.measure("peak_signal_noise_ratio", out, test) == peak_signal_noise_ratio(test.y, out)
    with pytest.raises(SpecError, match="does not measure 'accuracy'"):
        task.measure("accuracy", out, test)


def test_train_mean_baseline_predicts_the_mean_target(task):
    train = Split(x=np.zeros((4, 1), np.float32),
                  y=np.array([[0.0], [1.0], [2.0], [3.0]], np.float32))
    test = _split((5, 1), 2)
    out = task.baseline_outputs("train_mean", train, test)
    assert out.shape == (5, 1) and np.all(out == 1.5)


def test_train_mean_is_the_best_constant_on_the_training_split(task):
    train = _split((50, 3), 3)
    base = task.baseline_outputs("train_mean", train, train)
    for shift in (-0.1, 0.1):
        assert mean_squared_error(train.y, base) < mean_squared_error(train.y, base + shift)


def test_input_baseline_returns_the_input(task):
    test = _split((3, 4, 4, 1), 4)
    out = task.baseline_outputs("input", test, test)
    assert np.array_equal(out, test.x)
    mismatched = Split(x=np.zeros((3, 2), np.float32), y=np.zeros((3, 1), np.float32))
    with pytest.raises(SpecError, match="inputs shaped like targets"):
        task.baseline_outputs("input", mismatched, mismatched)


def test_unknown_baseline_is_a_spec_error(task):
    with pytest.raises(SpecError, match="train_mean or input"):
        task.baseline_outputs("majority_class", _split((2, 1), 5), _split((2, 1), 6))


def test_sinx_splits():
    train, test = load_dataset("sinx", "train"), load_dataset("sinx", "test")
    for split in (train, test):
        assert split.x.shape == split.y.shape == (1000, 1)
        assert split.x.dtype == split.y.dtype == np.float32
        assert np.all(np.abs(split.x) <= np.pi)
    assert np.allclose(test.y, np.sin(test.x), atol=1e-6), "hidden targets are the exact sin(x)"
    noise = train.y - np.sin(train.x)
    assert 0.03 < float(noise.std()) < 0.07
    assert not np.isin(test.x, train.x).any()
    # Generated with fixed seeds: the same points every time.
    assert load_dataset("sinx", "test").fingerprint == test.fingerprint


def test_sinx_student_file_is_the_training_split(tmp_path):
    from autograder.data import write_student_files

    (path,) = write_student_files("sinx", tmp_path)
    train = load_dataset("sinx", "train")
    with np.load(path) as data:
        assert np.array_equal(data["x_train"], train.x) and np.array_equal(data["y_train"], train.y)


def test_noisy_digits_splits():
    from autograder.data import noisy_digits

    train, test = load_dataset("noisy_digits", "train"), load_dataset("noisy_digits", "test")
    assert train.x.shape == train.y.shape == (noisy_digits.N_TRAIN, 28, 28, 1)
    assert test.x.shape == test.y.shape == (1000, 28, 28, 1)
    clean_test = load_dataset("digits", "test").x
    assert np.allclose(test.y[..., 0], clean_test, atol=0.5 / 255), "targets are the hidden digits"
    for split in (train, test):
        assert split.x.dtype == split.y.dtype == np.float32
        assert split.x.min() >= 0.0 and split.x.max() <= 1.0
        assert np.array_equal(np.rint(split.x * 255) / 255, split.x), "on the 1/255 grid"
        # Clipped Gaussian noise of std 0.4: a mean squared error of about 0.08.
        assert 0.06 < float(np.mean((split.x - split.y) ** 2)) < 0.1
    # Different seeds for the two splits, the same noise every time.
    assert load_dataset("noisy_digits", "test").fingerprint == test.fingerprint


def test_noisy_digits_student_file_is_the_training_split(tmp_path):
    from autograder.data import write_student_files

    (path,) = write_student_files("noisy_digits", tmp_path)
    train = load_dataset("noisy_digits", "train")
    with np.load(path) as data:
        assert data["x_noisy"].dtype == np.uint8 and data["x_noisy"].shape == (2000, 28, 28)
        assert np.array_equal(data["x_noisy"][..., None] / np.float32(255), train.x)
        assert np.array_equal(data["x_clean"][..., None] / np.float32(255), train.y)
