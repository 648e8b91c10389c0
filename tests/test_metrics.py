"""Property tests for autograder.metrics (plain pytest, seeded numpy RNG)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from autograder.metrics import (
    METRICS,
    MetricInfo,
    MetricInputError,
    accuracy_score,
    gan_dynamics_checks,
    gan_dynamics_score,
    gaussian_kl_divergence,
    get_metric,
    inception_score,
    kl_in_range_score,
    log_loss,
    mean_squared_error,
    pairwise_squared_distances,
    peak_signal_noise_ratio,
    perplexity,
    recall_at_k_score,
    top_k_accuracy_score,
    triplet_accuracy_score,
    valid_sample_score,
    valid_text_sample_score,
    verification_roc_auc_score,
)

SEEDS = list(range(25))


def _random_case(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random labels and scores: (n,) ints in [0, k) and (n, k) floats."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 60))
    k = int(rng.integers(2, 8))
    y_true = rng.integers(0, k, size=n)
    y_score = rng.normal(size=(n, k))
    if seed % 3 == 0:  # coarse scores to exercise ties
        y_score = np.round(y_score)
    return y_true, y_score


def _one_hot(labels: np.ndarray, k: int) -> np.ndarray:
    out = np.zeros((labels.shape[0], k))
    out[np.arange(labels.shape[0]), labels] = 1.0
    return out


# ---------------------------------------------------------------------------
# Perfect input gives the best value
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_perfect_predictions_give_best_values(seed: int) -> None:
    y_true, y_score = _random_case(seed)
    k = y_score.shape[1]
    probs = _one_hot(y_true, k)
    assert accuracy_score(y_true, y_true) == 1.0
    assert accuracy_score(y_true, probs) == 1.0
    for kk in range(1, k + 1):
        assert top_k_accuracy_score(y_true, probs, k=kk) == 1.0
    assert mean_squared_error(y_score, y_score) == 0.0


@pytest.mark.parametrize("seed", SEEDS)
def test_return_types_are_python_floats(seed: int) -> None:
    y_true, y_score = _random_case(seed)
    for value in (
        accuracy_score(y_true, y_score),
        top_k_accuracy_score(y_true, y_score, k=1),
        mean_squared_error(y_score, y_score + 1),
    ):
        assert type(value) is float


# ---------------------------------------------------------------------------
# Accuracy
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_accuracy_labels_and_one_hot_agree(seed: int) -> None:
    rng = np.random.default_rng(1000 + seed)
    y_true, y_score = _random_case(seed)
    k = y_score.shape[1]
    y_pred = rng.integers(0, k, size=y_true.shape[0])
    expected = float(np.mean(y_true == y_pred))
    assert accuracy_score(y_true, y_pred) == pytest.approx(expected)
    assert accuracy_score(y_true, _one_hot(y_pred, k)) == pytest.approx(expected)
    assert 0.0 <= accuracy_score(y_true, y_score) <= 1.0


def test_accuracy_known_value() -> None:
    assert accuracy_score([0, 1, 2, 1], [0, 2, 2, 1]) == 0.75
    assert accuracy_score([0, 1], [[0.9, 0.1], [0.8, 0.2]]) == 0.5


def test_accuracy_accepts_integral_float_labels() -> None:
    assert accuracy_score(np.array([0.0, 1.0, 2.0]), [0, 1, 1]) == pytest.approx(2 / 3)


# ---------------------------------------------------------------------------
# Top-k accuracy
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_top_k_with_all_classes_is_one(seed: int) -> None:
    y_true, y_score = _random_case(seed)
    assert top_k_accuracy_score(y_true, y_score, k=y_score.shape[1]) == 1.0


@pytest.mark.parametrize("seed", SEEDS)
def test_top_1_equals_accuracy_of_argmax(seed: int) -> None:
    y_true, y_score = _random_case(seed)
    assert top_k_accuracy_score(y_true, y_score, k=1) == accuracy_score(y_true, y_score)
    assert top_k_accuracy_score(y_true, y_score, k=1) == accuracy_score(
        y_true, np.argmax(y_score, axis=1)
    )


@pytest.mark.parametrize("seed", SEEDS)
def test_top_k_monotone_in_k(seed: int) -> None:
    y_true, y_score = _random_case(seed)
    values = [top_k_accuracy_score(y_true, y_score, k=k) for k in range(1, y_score.shape[1] + 1)]
    assert all(a <= b for a, b in itertools.pairwise(values))
    assert all(0.0 <= v <= 1.0 for v in values)


def test_top_k_ties_broken_by_lower_class_index() -> None:
    y_score = np.array([[0.5, 0.5, 0.5]])
    assert top_k_accuracy_score([0], y_score, k=1) == 1.0
    assert top_k_accuracy_score([1], y_score, k=1) == 0.0
    assert top_k_accuracy_score([1], y_score, k=2) == 1.0
    assert top_k_accuracy_score([2], y_score, k=2) == 0.0


def test_top_k_default_is_two() -> None:
    y_score = np.array([[0.1, 0.6, 0.3], [0.7, 0.2, 0.1]])
    assert top_k_accuracy_score([2, 2], y_score) == 0.5


def test_top_k_accepts_numpy_integer_k() -> None:
    y_true, y_score = _random_case(1)
    assert top_k_accuracy_score(y_true, y_score, k=np.int64(1)) == top_k_accuracy_score(
        y_true, y_score, k=1
    )


# ---------------------------------------------------------------------------
# Mean squared error
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("ndim", [1, 2, 3])
def test_mse_symmetric_nonnegative_and_matches_definition(seed: int, ndim: int) -> None:
    rng = np.random.default_rng(2000 + seed)
    shape = tuple(int(s) for s in rng.integers(1, 6, size=ndim))
    a = rng.normal(size=shape)
    b = rng.normal(size=shape)
    mse_ab = mean_squared_error(a, b)
    assert mse_ab >= 0.0
    assert mse_ab == pytest.approx(mean_squared_error(b, a))
    assert mse_ab == pytest.approx(float(np.mean((a - b) ** 2)))


def test_mse_known_value() -> None:
    assert mean_squared_error([1, 2, 3], [1, 2, 5]) == pytest.approx(4 / 3)


# ---------------------------------------------------------------------------
# Input validation
# ---------------------------------------------------------------------------


def test_metric_input_error_is_value_error() -> None:
    assert issubclass(MetricInputError, ValueError)


@pytest.mark.parametrize(
    ("func", "args", "match"),
    [
        (accuracy_score, ([0, 1, 2], [0, 1]), r"different numbers of samples: 3 vs 2"),
        (
            accuracy_score,
            ([0, 1, 2], np.zeros((2, 3))),
            r"different numbers of samples: 3 vs 2",
        ),
        (
            top_k_accuracy_score,
            ([0, 1, 2], np.zeros((4, 3))),
            r"different numbers of samples: 3 vs 4",
        ),
        (
            mean_squared_error,
            (np.zeros(100), np.zeros(99)),
            r"different numbers of samples: 100 vs 99",
        ),
        (mean_squared_error, (np.zeros((3, 2)), np.zeros((3, 1))), r"same shape"),
        (
            accuracy_score,
            (np.zeros((10, 3), dtype=int), np.zeros(10, dtype=int)),
            r"y_true must be 1-D class labels, got shape \(10, 3\)",
        ),
        (accuracy_score, ([0, 1], np.zeros((2, 2, 2))), r"y_pred must be 1-D labels"),
        (top_k_accuracy_score, ([0, 1], [0, 1]), r"y_score must be 2-D"),
    ],
)
def test_shape_mismatches_raise(func, args, match: str) -> None:
    with pytest.raises(MetricInputError, match=match):
        func(*args)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values_raise(bad: float) -> None:
    scores = np.array([[0.1, 0.9], [0.8, bad]])
    with pytest.raises(MetricInputError, match=r"y_pred contains NaN or infinite values"):
        accuracy_score([1, 0], scores)
    with pytest.raises(MetricInputError, match=r"y_score contains NaN or infinite values"):
        top_k_accuracy_score([1, 0], scores, k=1)
    with pytest.raises(MetricInputError, match=r"y_pred contains NaN or infinite values"):
        mean_squared_error([1.0, 2.0], [1.0, bad])
    with pytest.raises(MetricInputError, match=r"y_true contains NaN or infinite values"):
        mean_squared_error([bad, 2.0], [1.0, 2.0])
    with pytest.raises(MetricInputError, match=r"y_true contains NaN or infinite values"):
        accuracy_score([bad, 1.0], [0, 1])


@pytest.mark.parametrize(
    ("func", "args"),
    [
        (accuracy_score, ([], [])),
        (accuracy_score, (np.array([], dtype=int), np.zeros((0, 3)))),
        (top_k_accuracy_score, (np.array([], dtype=int), np.zeros((0, 3)))),
        (mean_squared_error, ([], [])),
    ],
)
def test_empty_inputs_raise(func, args) -> None:
    with pytest.raises(MetricInputError, match=r"no samples"):
        func(*args)


@pytest.mark.parametrize(
    ("func", "args"),
    [
        (accuracy_score, ([0.5, 1.0], [0, 1])),
        (accuracy_score, ([0, 1], [0.0, 1.5])),
        (top_k_accuracy_score, ([0.5, 1.0], np.zeros((2, 3)))),
    ],
)
def test_non_integer_labels_raise(func, args) -> None:
    with pytest.raises(MetricInputError, match=r"integer class labels.*non-integer value"):
        func(*args)


def test_non_numeric_labels_raise() -> None:
    with pytest.raises(MetricInputError, match=r"real numbers.*dtype"):
        accuracy_score(["cat", "dog"], [0, 1])
    with pytest.raises(MetricInputError, match=r"integer class labels.*boolean"):
        accuracy_score([True, False], [1, 0])


@pytest.mark.parametrize("k", [0, -1, 4, 10])
def test_top_k_out_of_range_k_raises(k: int) -> None:
    with pytest.raises(MetricInputError, match=r"k must be in \[1, n_classes\] = \[1, 3\]"):
        top_k_accuracy_score([0, 1], np.zeros((2, 3)), k=k)


@pytest.mark.parametrize("k", [1.0, 2.5, "2", True, None])
def test_top_k_non_integer_k_raises(k: object) -> None:
    with pytest.raises(MetricInputError, match=r"k must be an integer"):
        top_k_accuracy_score([0, 1], np.zeros((2, 3)), k=k)  # type: ignore[arg-type]


@pytest.mark.parametrize("label", [-1, 3, 7])
def test_top_k_out_of_range_labels_raise(label: int) -> None:
    with pytest.raises(MetricInputError, match=rf"label {label} outside the valid range \[0, 3\)"):
        top_k_accuracy_score([0, label], np.zeros((2, 3)), k=1)


# ---------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------


def test_registry_keys_and_directions() -> None:
    assert set(METRICS) == {
        "accuracy", "top_2_accuracy", "mean_squared_error", "peak_signal_noise_ratio",
        "kl_in_range_score", "valid_sample_score", "pipeline_correctness", "throughput_log2_ratio",
        "inception_score", "gan_dynamics_score",
        "log_loss", "perplexity", "valid_text_sample_score",
        "triplet_accuracy", "verification_roc_auc_score", "recall_at_1",
    }
    assert METRICS["accuracy"].higher_is_better is True
    assert METRICS["throughput_log2_ratio"].higher_is_better is True
    with pytest.raises(MetricInputError, match="measured by its task"):
        METRICS["pipeline_correctness"].func([1], [1])
    assert METRICS["top_2_accuracy"].higher_is_better is True
    assert METRICS["mean_squared_error"].higher_is_better is False
    for name, info in METRICS.items():
        assert isinstance(info, MetricInfo)
        assert info.name == name
        assert get_metric(name) is info


# Registered under scikit-image's name, which says no direction: PSNR is higher-is-better.
# The input-pipeline metrics (measured by their task in the sandbox) are higher-is-better too.
# recall@1 keeps the name of metric learning: higher is better.
NAMED_EXCEPTIONS = {"peak_signal_noise_ratio": True, "pipeline_correctness": True,
                    "throughput_log2_ratio": True, "perplexity": False, "recall_at_1": True}


def test_registry_direction_follows_name_rule() -> None:
    for name, info in METRICS.items():
        if name in NAMED_EXCEPTIONS:
            assert info.higher_is_better is NAMED_EXCEPTIONS[name]
        elif name.endswith(("_error", "_loss")):
            assert info.higher_is_better is False
        elif name.endswith(("_score", "accuracy")):
            assert info.higher_is_better is True
        else:  # pragma: no cover - every registered name follows the rule
            pytest.fail(f"metric {name!r} follows no naming rule")


@pytest.mark.parametrize("seed", SEEDS[:5])
def test_registry_functions_match_direct_calls(seed: int) -> None:
    y_true, y_score = _random_case(seed)
    assert get_metric("accuracy").func(y_true, y_score) == accuracy_score(y_true, y_score)
    assert get_metric("top_2_accuracy").func(y_true, y_score) == top_k_accuracy_score(
        y_true, y_score, k=2
    )
    assert get_metric("mean_squared_error").func(y_score, 0 * y_score) == mean_squared_error(
        y_score, 0 * y_score
    )


def test_metric_info_is_frozen() -> None:
    info = get_metric("accuracy")
    with pytest.raises(AttributeError):
        info.higher_is_better = False  # type: ignore[misc]


def test_unknown_metric_lists_known_names() -> None:
    with pytest.raises(KeyError, match=r"unknown metric 'f1'") as excinfo:
        get_metric("f1")
    message = str(excinfo.value)
    for name in METRICS:
        assert name in message


# ---------------------------------------------------------------------------
# peak_signal_noise_ratio
# ---------------------------------------------------------------------------


def _images(seed: int, shape=(4, 6, 6, 1)) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.uniform(size=shape), rng.uniform(size=shape)


@pytest.mark.parametrize("seed", SEEDS[:10])
def test_psnr_matches_definition_and_is_symmetric(seed: int) -> None:
    a, b = _images(seed)
    expected = 10 * np.log10(1.0 / np.mean((a - b) ** 2))
    assert peak_signal_noise_ratio(a, b) == pytest.approx(expected, rel=1e-12)
    assert peak_signal_noise_ratio(a, b) == peak_signal_noise_ratio(b, a)
    assert isinstance(peak_signal_noise_ratio(a, b), float)


def test_psnr_known_values() -> None:
    assert peak_signal_noise_ratio(np.zeros(5), np.full(5, 0.1)) == pytest.approx(20.0)
    assert peak_signal_noise_ratio(np.zeros(5), np.full(5, 0.01)) == pytest.approx(40.0)
    assert peak_signal_noise_ratio(np.zeros(3), np.full(3, 2.0), data_range=2.0) == pytest.approx(0.0)


def test_psnr_of_identical_images_is_infinite() -> None:
    a, _ = _images(0)
    assert peak_signal_noise_ratio(a, a) == float("inf")


@pytest.mark.parametrize("seed", SEEDS[:5])
def test_psnr_decreases_as_error_grows_and_scales_with_range(seed: int) -> None:
    a, b = _images(seed)
    near, far = a + 0.5 * (b - a), b
    assert peak_signal_noise_ratio(a, near) > peak_signal_noise_ratio(a, far)
    assert peak_signal_noise_ratio(a, b, data_range=2.0) == pytest.approx(
        peak_signal_noise_ratio(a, b) + 20 * np.log10(2.0))


@pytest.mark.parametrize("data_range", [0, -1.0, np.nan, np.inf, "1"])
def test_psnr_rejects_bad_data_range(data_range) -> None:
    with pytest.raises(MetricInputError, match=r"data_range must be a positive finite number"):
        peak_signal_noise_ratio(np.zeros(2), np.ones(2), data_range=data_range)


def test_psnr_validates_like_mse() -> None:
    with pytest.raises(MetricInputError, match=r"same shape"):
        peak_signal_noise_ratio(np.zeros((3, 2)), np.zeros((3, 1)))
    with pytest.raises(MetricInputError, match=r"y_pred contains NaN"):
        peak_signal_noise_ratio(np.zeros(2), [0.0, np.nan])
    with pytest.raises(MetricInputError, match=r"no samples"):
        peak_signal_noise_ratio([], [])


# ---------------------------------------------------------------------------
# gaussian_kl_divergence and kl_in_range_score
# ---------------------------------------------------------------------------


def test_kl_of_the_prior_is_zero_and_known_values() -> None:
    assert np.array_equal(gaussian_kl_divergence(np.zeros((3, 4)), np.zeros((3, 4))), np.zeros(3))
    # One dimension, mu = 1, sigma = 1: KL = 1/2.  mu = 0, log_var = log 2: (2 - 1 - log 2) / 2.
    kl = gaussian_kl_divergence([[1.0], [0.0]], [[0.0], [np.log(2.0)]])
    assert kl == pytest.approx([0.5, 0.5 * (1.0 - np.log(2.0))])


@pytest.mark.parametrize("seed", SEEDS[:10])
def test_kl_is_nonnegative_and_sums_over_dimensions(seed: int) -> None:
    rng = np.random.default_rng(seed)
    mu, log_var = rng.normal(size=(7, 5)), rng.normal(size=(7, 5))
    kl = gaussian_kl_divergence(mu, log_var)
    assert kl.shape == (7,) and np.all(kl >= 0)
    per_dim = [gaussian_kl_divergence(mu[:, [j]], log_var[:, [j]]) for j in range(5)]
    assert kl == pytest.approx(np.sum(per_dim, axis=0))


def test_kl_shape_errors() -> None:
    with pytest.raises(MetricInputError, match=r"mu must be 2-D"):
        gaussian_kl_divergence(np.zeros(3), np.zeros(3))
    with pytest.raises(MetricInputError, match=r"same shape"):
        gaussian_kl_divergence(np.zeros((3, 2)), np.zeros((3, 3)))


def test_kl_in_range_score_counts_valid_posteriors() -> None:
    mu = np.array([[0.0], [1.0], [20.0], [np.nan]])  # KL 0, 0.5, 200, NaN
    log_var = np.zeros((4, 1))
    assert kl_in_range_score(mu, log_var) == 0.25
    assert kl_in_range_score(mu, log_var, low=0.0, high=1000.0) == 0.75
    assert kl_in_range_score(np.zeros((5, 3)), np.zeros((5, 3))) == 0.0  # the prior: collapse
    # Bounds are inclusive.
    assert kl_in_range_score([[1.0]], [[0.0]], low=0.5, high=0.5) == 1.0


def test_kl_in_range_score_counts_overflow_as_invalid() -> None:
    with np.errstate(over="ignore"):
        assert kl_in_range_score([[0.0], [1.0]], [[1000.0], [0.0]]) == 0.5


@pytest.mark.parametrize(("low", "high"), [(-1.0, 1.0), (2.0, 1.0), (0.0, np.inf), (np.nan, 1.0)])
def test_kl_in_range_score_rejects_bad_bounds(low, high) -> None:
    with pytest.raises(MetricInputError, match=r"low <= high"):
        kl_in_range_score([[1.0]], [[0.0]], low=low, high=high)


# ---------------------------------------------------------------------------
# valid_sample_score
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS[:10])
def test_varied_images_in_range_are_all_valid(seed: int) -> None:
    samples, _ = _images(seed, shape=(8, 5, 5))
    assert valid_sample_score(samples) == 1.0
    assert valid_sample_score(samples[::-1]) == 1.0


def test_identical_samples_score_zero() -> None:
    one = np.random.default_rng(0).uniform(size=(1, 10))
    assert valid_sample_score(np.repeat(one, 6, axis=0)) == 0.0


def test_out_of_range_and_non_finite_samples_are_invalid() -> None:
    samples = np.random.default_rng(1).uniform(size=(5, 10))
    samples[0, 3] = 1.5
    samples[1, 0] = -0.01
    samples[2, 5] = np.nan
    assert valid_sample_score(samples) == 0.4
    assert valid_sample_score(samples[:2], low=-1.0, high=2.0) == 1.0
    assert valid_sample_score(np.full((3, 4), np.nan)) == 0.0
    # A lone valid sample cannot show that the samples vary.
    assert valid_sample_score(samples[:4]) == 0.0


def test_valid_sample_score_needs_two_samples_and_sane_bounds() -> None:
    with pytest.raises(MetricInputError, match=r"at least 2 samples"):
        valid_sample_score(np.zeros((1, 4)))
    with pytest.raises(MetricInputError, match=r"no samples"):
        valid_sample_score(np.zeros((0, 4)))
    with pytest.raises(MetricInputError, match=r"low <= high"):
        valid_sample_score(np.zeros((2, 4)), low=1.0, high=0.0)


def test_new_metrics_are_registered_with_their_directions() -> None:
    a, b = _images(3)
    assert get_metric("peak_signal_noise_ratio").func(a, b) == peak_signal_noise_ratio(a, b)
    assert get_metric("peak_signal_noise_ratio").higher_is_better is True
    assert get_metric("kl_in_range_score").higher_is_better is True
    assert get_metric("valid_sample_score").higher_is_better is True


# ---------------------------------------------------------------------------
# GAN metrics
# ---------------------------------------------------------------------------


def test_inception_score_confident_and_even_is_n_classes() -> None:
    assert inception_score(np.eye(10)) == pytest.approx(10.0)
    assert inception_score(np.tile(np.eye(4), (3, 1))) == pytest.approx(4.0)


def test_inception_score_of_one_class_or_uniform_rows_is_one() -> None:
    one_class = np.zeros((5, 10))
    one_class[:, 3] = 1.0
    assert inception_score(one_class) == pytest.approx(1.0)
    assert inception_score(np.full((5, 10), 0.1)) == pytest.approx(1.0)


def test_inception_score_matches_its_formula() -> None:
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(10) * 0.3, size=50)
    marginal = p.mean(axis=0)
    expected = np.exp(np.mean(np.sum(p * (np.log(p) - np.log(marginal)), axis=1)))
    assert inception_score(p) == pytest.approx(expected, rel=1e-9)
    assert inception_score(p[::-1]) == pytest.approx(expected, rel=1e-9)  # order does not matter


@pytest.mark.parametrize("bad, match", [
    (np.ones(10) / 10, "2-D"),
    (np.array([[0.5, 0.6]]), "sum to 1"),
    (np.array([[1.5, -0.5]]), "non-negative"),
    (np.array([[np.nan, 1.0]]), "NaN"),
])
def test_inception_score_refuses_what_is_not_probabilities(bad, match) -> None:
    with pytest.raises(MetricInputError, match=match):
        inception_score(bad)


def test_gan_dynamics_of_a_healthy_run_pass_every_check() -> None:
    checks = gan_dynamics_checks([0.2, 0.35, 0.5], [6.1, 2.2, 1.2])
    assert checks == {"finite": True, "discriminator_not_collapsed": True, "losses_move": True}
    assert gan_dynamics_score([0.2, 0.35, 0.5], [6.1, 2.2, 1.2]) == 1.0


def test_gan_dynamics_catch_each_failure() -> None:
    nan = gan_dynamics_checks([0.2, float("nan")], [1.0, 2.0])
    assert nan == {"finite": False, "discriminator_not_collapsed": False, "losses_move": False}
    won = gan_dynamics_checks([0.2, 0.01], [3.0, 9.0])
    assert won["discriminator_not_collapsed"] is False and won["losses_move"] is True
    exploded = gan_dynamics_checks([0.2, 0.3], [3.0, 40.0])
    assert exploded["discriminator_not_collapsed"] is False
    frozen = gan_dynamics_checks([0.69, 0.69, 0.69], [0.7, 0.8, 0.9])
    assert frozen["losses_move"] is False
    assert gan_dynamics_score([0.69, 0.69, 0.69], [0.7, 0.8, 0.9]) == pytest.approx(2 / 3)


def test_gan_dynamics_refuse_mismatched_or_short_series() -> None:
    with pytest.raises(MetricInputError, match="same length"):
        gan_dynamics_checks([0.1, 0.2], [0.1, 0.2, 0.3])
    with pytest.raises(MetricInputError, match=">= 2"):
        gan_dynamics_checks([0.1], [0.2])


# ---------------------------------------------------------------------------
# log_loss, perplexity (next-character models)
# ---------------------------------------------------------------------------


def test_log_loss_perfect_uniform_and_known_value() -> None:
    y = np.array([[0, 2], [1, 1]])
    perfect = np.eye(3)[y]
    assert log_loss(y, perfect) == pytest.approx(0.0, abs=1e-12)
    assert perplexity(y, perfect) == pytest.approx(1.0)
    uniform = np.full((2, 2, 3), 1 / 3)
    assert log_loss(y, uniform) == pytest.approx(np.log(3))
    assert perplexity(y, uniform) == pytest.approx(3.0)
    probs = np.array([[0.5, 0.25, 0.25], [0.1, 0.8, 0.1]])
    assert log_loss([0, 1], probs) == pytest.approx(-(np.log(0.5) + np.log(0.8)) / 2)


@pytest.mark.parametrize("seed", SEEDS[:10])
def test_log_loss_matches_flattened_inputs_and_beats_nothing_below_zero(seed: int) -> None:
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.ones(5), size=(4, 6))
    y = rng.integers(0, 5, size=(4, 6))
    value = log_loss(y, probs)
    assert value > 0
    assert value == pytest.approx(log_loss(y.ravel(), probs.reshape(-1, 5)))
    assert perplexity(y, probs) == pytest.approx(np.exp(value))


def test_log_loss_clips_impossible_characters() -> None:
    assert log_loss([1], [[1.0, 0.0]]) == pytest.approx(-np.log(1e-7))
    assert log_loss([1], [[1.0, 0.0]], eps=1e-3) == pytest.approx(-np.log(1e-3))


@pytest.mark.parametrize("y, probs, match", [
    ([0, 1], np.full((3, 2), 0.5), "shape"),
    ([[0, 1]], np.full((2, 2), 0.5), "shape"),
    ([0, 3], np.full((2, 3), 1 / 3), "outside"),
    ([0, -1], np.full((2, 3), 1 / 3), "outside"),
    ([0, 1], np.array([[2.0, -1.0], [0.5, 0.5]]), "probabilities"),
    ([0, 1], np.array([[np.nan, 0.5], [0.5, 0.5]]), "NaN"),
    ([0.5, 1], np.full((2, 2), 0.5), "integer"),
    ([], np.zeros((0, 2)), "empty"),
])
def test_log_loss_rejects_bad_inputs(y, probs, match) -> None:
    with pytest.raises(MetricInputError, match=match):
        log_loss(y, probs)


def test_log_loss_rejects_bad_eps() -> None:
    with pytest.raises(MetricInputError, match="eps"):
        log_loss([0], [[1.0]], eps=0.0)


# ---------------------------------------------------------------------------
# valid_text_sample_score (generated tweets)
# ---------------------------------------------------------------------------

ALPHABET = "abcdefghijklmnopqrstuvwxyz ."
CORPUS = "the cat sat on the mat.\na dog barked at the moon all night long until dawn.\n"


def test_valid_text_samples_all_valid_and_none_valid() -> None:
    assert valid_text_sample_score(["a new tweet.", "cats sing"], ALPHABET, CORPUS) == 1.0
    assert valid_text_sample_score(["", "x" * 281], ALPHABET, CORPUS) == 0.0


def test_valid_text_samples_each_rule() -> None:
    def score(sample, **kw):
        return valid_text_sample_score([sample], ALPHABET, CORPUS, **kw)

    assert score("x" * 280) == 1.0 and score("x" * 281) == 0.0  # the length limit
    assert score("ok", max_length=1) == 0.0
    assert score("caps A") == 0.0 and score("unknown \ufffd") == 0.0  # outside the alphabet
    assert score("the cat sat on the mat.") == 0.0  # a whole line of the corpus
    assert score("so a dog barked at the moon all night long.", copy_length=20) == 0.0  # a copied run
    assert score("so a dog barked at the moon all night long.", copy_length=40) == 1.0
    assert score("the cat") == 1.0  # short common phrases are not copies


def test_valid_text_samples_fraction() -> None:
    samples = ["good one", "", "bad!", "fine too"]
    assert valid_text_sample_score(samples, ALPHABET, CORPUS) == 0.5


@pytest.mark.parametrize("samples, kw, match", [
    ([], {}, "non-empty"),
    ("a string", {}, "non-empty"),
    (["ok", 3], {}, "string"),
    (["ok"], {"max_length": 0}, "positive"),
    (["ok"], {"copy_length": 0}, "positive"),
])
def test_valid_text_samples_rejects_bad_inputs(samples, kw, match) -> None:
    with pytest.raises(MetricInputError, match=match):
        valid_text_sample_score(samples, ALPHABET, CORPUS, **kw)


# ---------------------------------------------------------------------------
# Embedding metrics (face recognition)
# ---------------------------------------------------------------------------

EMBEDDING_METRICS = (triplet_accuracy_score, verification_roc_auc_score, recall_at_k_score)


def _clusters(seed: int, n_ids: int = 6, views: int = 4, dim: int = 8, spread: float = 0.05):
    """Identities as tight clusters around random centres: a perfect embedding."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_ids, dim))
    labels = np.repeat(np.arange(n_ids), views)
    return labels, centres[labels] + spread * rng.normal(size=(len(labels), dim))


@pytest.mark.parametrize("seed", SEEDS[:5])
@pytest.mark.parametrize("func", EMBEDDING_METRICS)
def test_separated_identities_score_one(func, seed: int) -> None:
    labels, emb = _clusters(seed)
    assert func(labels, emb) == 1.0


@pytest.mark.parametrize("func", [triplet_accuracy_score, verification_roc_auc_score])
def test_identical_encodings_score_one_half(func) -> None:
    labels, emb = _clusters(0)
    assert func(labels, np.zeros_like(emb)) == 0.5


@pytest.mark.parametrize("seed", SEEDS[:5])
def test_embedding_metrics_are_invariant_to_rotation_shift_and_scale(seed: int) -> None:
    rng = np.random.default_rng(seed)
    labels, emb = _clusters(seed, spread=1.5)
    rotation = np.linalg.qr(rng.normal(size=(8, 8)))[0]
    moved = 3.0 * emb @ rotation + 7.0
    for func in EMBEDDING_METRICS:
        assert func(labels, moved) == pytest.approx(func(labels, emb))


@pytest.mark.parametrize("seed", SEEDS[:5])
def test_embedding_metrics_ignore_label_names_and_item_order(seed: int) -> None:
    rng = np.random.default_rng(seed)
    labels, emb = _clusters(seed, spread=1.5)
    order = rng.permutation(len(labels))
    renamed = (labels * 7 + 3)[order]
    for func in (triplet_accuracy_score, verification_roc_auc_score):
        assert func(renamed, emb[order]) == pytest.approx(func(labels, emb))


@pytest.mark.parametrize("seed", SEEDS[:5])
def test_verification_auc_matches_pairwise_definition(seed: int) -> None:
    labels, emb = _clusters(seed, spread=2.0)
    dist = pairwise_squared_distances(emb)
    iu = np.triu_indices(len(labels), 1)
    same = (labels[:, None] == labels[None, :])[iu]
    pos, neg = dist[iu][same], dist[iu][~same]
    expected = np.mean((pos[:, None] < neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :]))
    assert verification_roc_auc_score(labels, emb) == pytest.approx(expected)


@pytest.mark.parametrize("seed", SEEDS[:5])
def test_triplet_accuracy_matches_brute_force(seed: int) -> None:
    labels, emb = _clusters(seed, n_ids=4, views=3, spread=2.0)
    dist = pairwise_squared_distances(emb)
    wins = []
    for a, p, n in itertools.product(range(len(labels)), repeat=3):
        if a != p and labels[a] == labels[p] and labels[n] != labels[a]:
            wins.append(1.0 if dist[a, p] < dist[a, n] else 0.5 if dist[a, p] == dist[a, n] else 0.0)
    assert triplet_accuracy_score(labels, emb) == pytest.approx(np.mean(wins))


def test_embedding_metrics_known_values() -> None:
    # 1-D encodings: A at 0 and 3, B at 1 and 10.
    labels, emb = np.array([0, 0, 1, 1]), np.array([[0.0], [3.0], [1.0], [10.0]])
    # anchors: 0 (p 3: d 9; n 1: d 1, n 10: d 100) -> 1 of 2; 3 (p 0: 9; n 1: 4, n 10: 49) -> 1 of 2;
    # 1 (p 10: 81; n 0: 1, n 3: 4) -> 0 of 2; 10 (p 1: 81; n 0: 100, n 3: 49) -> 1 of 2
    assert triplet_accuracy_score(labels, emb) == pytest.approx(3 / 8)
    # same pairs: d 9, 81; different pairs: 1, 100, 4, 49 -> 9 beats 100, 49; 81 beats 100
    assert verification_roc_auc_score(labels, emb) == pytest.approx(3 / 8)
    # nearest other: 0 -> 1 (B), 3 -> 1 (B), 1 -> 0 (A), 10 -> 3 (A)
    assert recall_at_k_score(labels, emb) == 0.0
    assert recall_at_k_score(labels, emb, k=2) == pytest.approx(3 / 4)  # all but 1: 0, 3 then 10
    assert recall_at_k_score(labels, emb, k=3) == 1.0


def test_recall_skips_identities_without_a_second_item() -> None:
    labels, emb = np.array([0, 0, 1]), np.array([[0.0], [0.1], [5.0]])
    assert recall_at_k_score(labels, emb) == 1.0


def test_recall_breaks_distance_ties_by_item_order() -> None:
    labels, emb = np.array([1, 0, 0, 1]), np.array([[2.0], [0.0], [-2.0], [10.0]])
    # item 1 (at 0) is 4 from items 0 and 2: the earlier, item 0 of another identity, counts (a miss);
    # item 0 -> item 1 (miss), item 2 -> item 1 (hit), item 3 -> item 0 (hit)
    assert recall_at_k_score(labels, emb) == 0.5


@pytest.mark.parametrize("func", EMBEDDING_METRICS)
def test_embedding_metrics_validate_inputs(func) -> None:
    labels, emb = _clusters(0)
    with pytest.raises(MetricInputError, match=r"2-D \(n_samples, embedding_dim\)"):
        func(labels, emb[:, 0])
    with pytest.raises(MetricInputError, match="different numbers of samples"):
        func(labels[:-1], emb)
    with pytest.raises(MetricInputError, match="NaN or infinite"):
        func(labels, np.where(np.arange(emb.size).reshape(emb.shape) == 3, np.nan, emb))
    with pytest.raises(MetricInputError, match="at least 2 identities"):
        func(np.zeros(len(labels), dtype=int), emb)
    with pytest.raises(MetricInputError, match="at least 2 items"):
        func(np.arange(len(labels)), emb)
    with pytest.raises(MetricInputError, match="integer class labels"):
        func(labels + 0.5, emb)


@pytest.mark.parametrize("k", [0, 24, 1.5, True])
def test_recall_rejects_bad_k(k) -> None:
    labels, emb = _clusters(0)
    with pytest.raises(MetricInputError, match="k must be an integer"):
        recall_at_k_score(labels, emb, k=k)


def test_embedding_metrics_are_registered_higher_is_better() -> None:
    labels, emb = _clusters(1, spread=1.5)
    assert get_metric("triplet_accuracy").func(labels, emb) == triplet_accuracy_score(labels, emb)
    assert get_metric("verification_roc_auc_score").func(labels, emb) == verification_roc_auc_score(
        labels, emb)
    assert get_metric("recall_at_1").func(labels, emb) == recall_at_k_score(labels, emb, k=1)
    for name in ("triplet_accuracy", "verification_roc_auc_score", "recall_at_1"):
        assert get_metric(name).higher_is_better is True
