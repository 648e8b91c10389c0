"""Evaluation metrics for autograded submissions, implemented in pure numpy.

The public functions mirror the names and signatures of their scikit-learn
counterparts (``accuracy_score``, ``top_k_accuracy_score``,
``mean_squared_error``) so that course material can refer to either one, but
they validate their inputs more strictly and report problems with messages
aimed at students: every :class:`MetricInputError` states what was expected
and what was received.

A small registry (:data:`METRICS`, :func:`get_metric`) maps the metric names
used in assignment configuration files to the function that computes them and
to the direction in which the metric improves.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "METRICS",
    "MetricInfo",
    "MetricInputError",
    "accuracy_score",
    "gan_dynamics_checks",
    "gan_dynamics_score",
    "gaussian_kl_divergence",
    "get_metric",
    "known_metric",
    "known_metrics",
    "inception_score",
    "kl_in_range_score",
    "log_loss",
    "mean_squared_error",
    "pairwise_squared_distances",
    "peak_signal_noise_ratio",
    "perplexity",
    "recall_at_k_score",
    "top_k_accuracy_score",
    "triplet_accuracy_score",
    "valid_sample_score",
    "valid_text_sample_score",
    "verification_roc_auc_score",
]


class MetricInputError(ValueError):
    """Raised when the inputs to a metric have the wrong shape, type or values."""


# ---------------------------------------------------------------------------
# Validation helpers
# ---------------------------------------------------------------------------


def _as_numeric_array(x: Any, name: str) -> np.ndarray:
    """Convert ``x`` to a numpy array and check that it is real-valued and non-empty.

    Args:
        x: Array-like input.
        name: Argument name used in error messages.

    Returns:
        The input as a numpy array (no copy if already an array).

    Raises:
        MetricInputError: If the input is not numeric or has no elements.
    """
    try:
        arr = np.asarray(x)
    except (TypeError, ValueError) as exc:  # e.g. ragged nested lists
        raise MetricInputError(f"{name} could not be converted to a numeric array: {exc}") from exc
    if arr.dtype.kind not in "biuf":
        raise MetricInputError(f"{name} must contain real numbers, got array of dtype {arr.dtype}")
    if arr.ndim == 0:
        raise MetricInputError(f"{name} must be an array, got a scalar")
    if arr.shape[0] == 0:
        raise MetricInputError(f"{name} is empty: no samples (shape {arr.shape})")
    if arr.size == 0:
        raise MetricInputError(f"{name} has no elements (shape {arr.shape})")
    return arr


def _check_finite(arr: np.ndarray, name: str) -> None:
    """Raise if ``arr`` contains NaN or infinite values."""
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        n_bad = int(np.count_nonzero(~np.isfinite(arr)))
        raise MetricInputError(
            f"{name} contains NaN or infinite values ({n_bad} of {arr.size} entries)"
        )


def _as_labels(x: Any, name: str) -> np.ndarray:
    """Validate a 1-D array of integer class labels.

    Floating-point arrays are accepted when every entry is a whole number
    (e.g. ``[0.0, 2.0]``); they are converted to ``int64``.

    Args:
        x: Array-like of class labels.
        name: Argument name used in error messages.

    Returns:
        A 1-D integer array.

    Raises:
        MetricInputError: If the labels are not 1-D, empty, non-finite or not
            integer-valued.
    """
    arr = _as_numeric_array(x, name)
    if arr.ndim != 1:
        raise MetricInputError(f"{name} must be 1-D class labels, got shape {arr.shape}")
    if arr.dtype.kind == "f":
        _check_finite(arr, name)
        if not np.all(arr == np.round(arr)):
            bad = arr[arr != np.round(arr)][0]
            raise MetricInputError(
                f"{name} must contain integer class labels, got non-integer value {bad!r}"
            )
        return arr.astype(np.int64)
    if arr.dtype.kind == "b":
        raise MetricInputError(f"{name} must contain integer class labels, got boolean array")
    return arr


def _check_same_n_samples(
    a: np.ndarray, b: np.ndarray, name_a: str = "y_true", name_b: str = "y_pred"
) -> None:
    """Raise if ``a`` and ``b`` disagree on the number of samples (first axis)."""
    if a.shape[0] != b.shape[0]:
        raise MetricInputError(
            f"{name_a} and {name_b} have different numbers of samples: {a.shape[0]} vs {b.shape[0]}"
        )


def _as_scores(x: Any, name: str) -> np.ndarray:
    """Validate a finite 2-D score matrix of shape (n_samples, n_classes)."""
    arr = _as_numeric_array(x, name)
    if arr.ndim != 2:
        raise MetricInputError(
            f"{name} must be 2-D scores of shape (n_samples, n_classes), got shape {arr.shape}"
        )
    _check_finite(arr, name)
    return arr


# ---------------------------------------------------------------------------
# Metrics
# ---------------------------------------------------------------------------


def accuracy_score(y_true: Any, y_pred: Any) -> float:
    """Fraction of samples whose predicted class equals the true class.

    Args:
        y_true: Integer class labels of shape ``(n_samples,)``.
        y_pred: Either predicted labels of shape ``(n_samples,)`` or class
            scores / probabilities of shape ``(n_samples, n_classes)``; in the
            latter case the prediction is the argmax over the class axis
            (first maximum on ties).

    Returns:
        Accuracy in ``[0, 1]`` as a Python float.

    Raises:
        MetricInputError: If the inputs are empty, have mismatched sample
            counts, contain NaN/inf, or ``y_true`` (or 1-D ``y_pred``) are not
            integer labels.
    """
    y_true_arr = _as_labels(y_true, "y_true")
    y_pred_arr = _as_numeric_array(y_pred, "y_pred")
    if y_pred_arr.ndim == 1:
        y_pred_arr = _as_labels(y_pred_arr, "y_pred")
        pred_labels = y_pred_arr
    elif y_pred_arr.ndim == 2:
        y_pred_arr = _as_scores(y_pred_arr, "y_pred")
        pred_labels = np.argmax(y_pred_arr, axis=1)
    else:
        raise MetricInputError(
            "y_pred must be 1-D labels (n_samples,) or 2-D scores "
            f"(n_samples, n_classes), got shape {y_pred_arr.shape}"
        )
    _check_same_n_samples(y_true_arr, y_pred_arr)
    return float(np.mean(y_true_arr == pred_labels))


def top_k_accuracy_score(y_true: Any, y_score: Any, k: int = 2) -> float:
    """Fraction of samples whose true class is among the ``k`` highest scores.

    Ties are broken deterministically: among equal scores the class with the
    smaller index ranks higher (``np.argsort(-y_score, kind="stable")``).

    Args:
        y_true: Integer class labels of shape ``(n_samples,)`` with values in
            ``[0, n_classes)``.
        y_score: Class scores / probabilities of shape
            ``(n_samples, n_classes)``.
        k: Number of top-ranked classes that count as a hit; an integer in
            ``[1, n_classes]``.

    Returns:
        Top-k accuracy in ``[0, 1]`` as a Python float.

    Raises:
        MetricInputError: If the inputs are malformed, ``k`` is out of range
            or not an integer, or a label lies outside ``[0, n_classes)``.
    """
    y_true_arr = _as_labels(y_true, "y_true")
    y_score_arr = _as_scores(y_score, "y_score")
    _check_same_n_samples(y_true_arr, y_score_arr, "y_true", "y_score")
    n_classes = y_score_arr.shape[1]

    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise MetricInputError(f"k must be an integer, got {type(k).__name__} {k!r}")
    if not 1 <= k <= n_classes:
        raise MetricInputError(f"k must be in [1, n_classes] = [1, {n_classes}], got k={k}")

    out_of_range = (y_true_arr < 0) | (y_true_arr >= n_classes)
    if np.any(out_of_range):
        bad = int(y_true_arr[out_of_range][0])
        raise MetricInputError(
            f"y_true contains label {bad} outside the valid range [0, {n_classes}) "
            f"implied by y_score with {n_classes} columns"
        )

    top_k = np.argsort(-y_score_arr, axis=1, kind="stable")[:, : int(k)]
    hits = np.any(top_k == y_true_arr[:, None], axis=1)
    return float(np.mean(hits))


def mean_squared_error(y_true: Any, y_pred: Any) -> float:
    """Mean of the squared differences over all elements.

    Args:
        y_true: Target values, any shape with at least one element.
        y_pred: Predicted values with exactly the same shape as ``y_true``.

    Returns:
        The mean squared error (``>= 0``) as a Python float.

    Raises:
        MetricInputError: If the inputs are empty, non-numeric, differ in
            shape, or contain NaN/inf.
    """
    y_true_arr = _as_numeric_array(y_true, "y_true")
    y_pred_arr = _as_numeric_array(y_pred, "y_pred")
    _check_same_n_samples(y_true_arr, y_pred_arr)
    if y_true_arr.shape != y_pred_arr.shape:
        raise MetricInputError(
            f"y_true and y_pred must have the same shape, got {y_true_arr.shape} "
            f"vs {y_pred_arr.shape}"
        )
    _check_finite(y_true_arr, "y_true")
    _check_finite(y_pred_arr, "y_pred")
    diff = y_true_arr.astype(np.float64) - y_pred_arr.astype(np.float64)
    return float(np.mean(diff * diff))


def peak_signal_noise_ratio(y_true: Any, y_pred: Any, *, data_range: float = 1.0) -> float:
    """Peak signal-to-noise ratio in decibels: ``10 * log10(data_range**2 / MSE)``.

    The name and meaning follow scikit-image's ``peak_signal_noise_ratio(image_true,
    image_test, data_range=...)``: one value over all elements of the arrays (not a mean of
    per-image values). Higher is better.

    Args:
        y_true: Clean target values, any shape with at least one element.
        y_pred: Predicted values with exactly the same shape as ``y_true``.
        data_range: The range of valid values (1.0 for images scaled to ``[0, 1]``).

    Returns:
        The PSNR in dB as a Python float; ``inf`` when the arrays are identical.

    Raises:
        MetricInputError: As :func:`mean_squared_error`, or if ``data_range`` is not a
            positive finite number.
    """
    if not (isinstance(data_range, (int, float, np.integer, np.floating))
            and np.isfinite(data_range) and data_range > 0):
        raise MetricInputError(f"data_range must be a positive finite number, got {data_range!r}")
    mse = mean_squared_error(y_true, y_pred)
    if mse == 0.0:
        return float("inf")
    return float(10.0 * np.log10(float(data_range) ** 2 / mse))


def gaussian_kl_divergence(mu: Any, log_var: Any) -> np.ndarray:
    """Per-sample KL divergence of ``N(mu, diag(exp(log_var)))`` from ``N(0, I)``, in nats.

    ``KL_i = 0.5 * sum_j (mu_ij**2 + exp(log_var_ij) - 1 - log_var_ij)``, the KL term of a
    variational autoencoder whose encoder outputs ``mu`` and ``log_var``.

    Args:
        mu: Posterior means, shape ``(n_samples, latent_dim)``.
        log_var: Posterior log-variances, the same shape.

    Returns:
        A float64 array of shape ``(n_samples,)``, each entry ``>= 0``; NaN or infinite where the
        inputs are (e.g. an overflowing ``exp(log_var)``).

    Raises:
        MetricInputError: If the inputs are empty, non-numeric, not 2-D or of different shapes.
    """
    mu_arr = _as_numeric_array(mu, "mu")
    lv_arr = _as_numeric_array(log_var, "log_var")
    if mu_arr.ndim != 2:
        raise MetricInputError(
            f"mu must be 2-D (n_samples, latent_dim), got shape {mu_arr.shape}"
        )
    if mu_arr.shape != lv_arr.shape:
        raise MetricInputError(
            f"mu and log_var must have the same shape, got {mu_arr.shape} vs {lv_arr.shape}"
        )
    mu64, lv64 = mu_arr.astype(np.float64), lv_arr.astype(np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        return 0.5 * np.sum(mu64 * mu64 + np.exp(lv64) - 1.0 - lv64, axis=1)


def kl_in_range_score(
    mu: Any, log_var: Any, *, low: float = 0.1, high: float = 100.0
) -> float:
    """Fraction of samples whose posterior KL from ``N(0, I)`` is finite and in ``[low, high]``.

    A validity check of a variational encoder rather than a "lower is better" metric: a KL near 0
    means the code carries no information about the input (posterior collapse), a very large KL
    means the posterior is nearly a point (the model is a plain autoencoder that ignores the KL
    term). A VAE trained with the usual loss (summed reconstruction loss plus KL) on 28x28 digits
    with a few latent dimensions has KL values of a few to a few tens of nats per image, well inside
    the default range ``[0.1, 100]`` nats.

    Args:
        mu: Posterior means, shape ``(n_samples, latent_dim)``.
        log_var: Posterior log-variances, the same shape.
        low: Smallest KL (nats) that counts as valid.
        high: Largest KL (nats) that counts as valid.

    Returns:
        The fraction in ``[0, 1]`` as a Python float; NaN or infinite KL values count as invalid.

    Raises:
        MetricInputError: As :func:`gaussian_kl_divergence`, or if ``0 <= low <= high`` fails.
    """
    if not (np.isfinite(low) and np.isfinite(high) and 0 <= low <= high):
        raise MetricInputError(f"need finite 0 <= low <= high, got low={low!r}, high={high!r}")
    kl = gaussian_kl_divergence(mu, log_var)
    valid = np.isfinite(kl) & (kl >= low) & (kl <= high)
    return float(np.mean(valid))


def valid_sample_score(
    samples: Any, *, low: float = 0.0, high: float = 1.0, min_spread: float = 1e-3
) -> float:
    """Fraction of generated samples that are valid and not all the same.

    A sample (one row along the first axis, e.g. an image decoded from a random code) is valid when
    every value is finite and within ``[low, high]`` (pixels in ``[0, 1]`` by default), and it
    differs from the mean of the valid samples by more than ``min_spread`` somewhere. A generator
    that ignores its random input (every sample the same image) therefore scores 0, and so does a
    lone valid sample, which cannot show that the samples vary.

    Args:
        samples: Generated samples, shape ``(n_samples, ...)`` with ``n_samples >= 2``.
        low: Smallest valid value.
        high: Largest valid value.
        min_spread: How far (largest absolute difference) a sample must lie from the mean sample.

    Returns:
        The fraction of valid samples in ``[0, 1]`` as a Python float.

    Raises:
        MetricInputError: If the samples are empty, non-numeric or fewer than two, or the bounds
            are not finite with ``low <= high``.
    """
    if not (np.isfinite(low) and np.isfinite(high) and low <= high):
        raise MetricInputError(f"need finite low <= high, got low={low!r}, high={high!r}")
    arr = _as_numeric_array(samples, "samples")
    if arr.shape[0] < 2:
        raise MetricInputError(
            f"need at least 2 samples to tell whether they vary, got shape {arr.shape}"
        )
    flat = arr.reshape(arr.shape[0], -1).astype(np.float64)
    with np.errstate(invalid="ignore"):
        in_range = np.all(np.isfinite(flat) & (flat >= low) & (flat <= high), axis=1)
    if not np.any(in_range):
        return 0.0
    mean = flat[in_range].mean(axis=0)
    spread = np.max(np.abs(flat - mean), axis=1)
    return float(np.mean(in_range & (spread > min_spread)))


def inception_score(probabilities: Any) -> float:
    """Inception score of generated samples from a classifier's class probabilities.

    ``IS = exp(mean_i KL(p(y | x_i) || p(y)))`` with ``p(y)`` the mean of the rows (Salimans et al.,
    2016). It is high when each sample is classified confidently *and* the samples cover the
    classes: from 1 (every sample gets the same distribution, e.g. one class for all, or noise that
    the classifier always calls the same digits) to ``n_classes`` (confident and evenly spread).

    Args:
        probabilities: Class probabilities of shape ``(n_samples, n_classes)``: non-negative
            rows that sum to 1.

    Returns:
        The score in ``[1, n_classes]`` as a Python float.

    Raises:
        MetricInputError: If the input is not a finite 2-D array of probability rows.
    """
    p = _as_scores(probabilities, "probabilities").astype(np.float64)
    if np.any(p < 0) or not np.allclose(p.sum(axis=1), 1.0, atol=1e-3):
        raise MetricInputError("probabilities must be non-negative rows that sum to 1 (a softmax output)")
    marginal = p.mean(axis=0, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * (np.log(p) - np.log(marginal)), 0.0)
    return float(np.clip(np.exp(terms.sum(axis=1).mean()), 1.0, p.shape[1]))


def gan_dynamics_checks(
    d_loss: Any, g_loss: Any, *, collapse_below: float = 0.05, blowup_above: float = 20.0,
    min_change: float = 1e-4,
) -> dict[str, bool]:
    """Checks of a GAN's training dynamics from its per-epoch discriminator and generator losses.

    * ``finite``: no loss is NaN or infinite;
    * ``discriminator_not_collapsed``: at the last epoch the discriminator has not won outright
      (its loss is at least ``collapse_below``, while the generator's is at most ``blowup_above``):
      a discriminator that separates real from fake perfectly gives the generator no gradient;
    * ``losses_move``: both losses change during training by more than ``min_change`` (a frozen
      network, e.g. weights never updated, keeps its loss constant).

    Args:
        d_loss: Discriminator loss per epoch (mean of its losses on real and on fake images).
        g_loss: Generator loss per epoch, the same length.

    Returns:
        The outcome of each check, by name.

    Raises:
        MetricInputError: If the series are not 1-D, of the same length, with at least 2 values.
    """
    d = np.asarray(d_loss, dtype=np.float64)
    g = np.asarray(g_loss, dtype=np.float64)
    if d.ndim != 1 or d.shape != g.shape or d.size < 2:
        raise MetricInputError(
            f"d_loss and g_loss must be 1-D of the same length >= 2, got shapes {d.shape} and {g.shape}"
        )
    finite = bool(np.all(np.isfinite(d)) and np.all(np.isfinite(g)))
    return {
        "finite": finite,
        "discriminator_not_collapsed": finite and bool(d[-1] >= collapse_below and g[-1] <= blowup_above),
        "losses_move": finite and bool(np.ptp(d) > min_change and np.ptp(g) > min_change),
    }


def gan_dynamics_score(d_loss: Any, g_loss: Any) -> float:
    """Fraction of :func:`gan_dynamics_checks` passed, in ``[0, 1]``."""
    checks = gan_dynamics_checks(d_loss, g_loss)
    return float(np.mean(list(checks.values())))


def log_loss(y_true: Any, y_prob: Any, *, eps: float = 1e-7) -> float:
    """Mean cross-entropy ``-log p(true class)`` in nats, like scikit-learn's ``log_loss``.

    For a next-character model this is the per-character cross-entropy: ``y_true`` holds the
    next characters' ids and ``y_prob`` the model's distributions over the vocabulary; leading
    axes (e.g. ``(n_sequences, seq_length)``) are flattened. Probabilities are clipped to
    ``[eps, 1]`` so that one impossible character costs ``-log(eps)``, not infinity; rows are not
    renormalised (a model must output probabilities itself).

    Args:
        y_true: Integer class labels, shape ``(...)``.
        y_prob: Probabilities, shape ``(..., n_classes)``, the leading axes as ``y_true``'s.
        eps: Smallest probability counted, in ``(0, 1)``.

    Returns:
        The mean cross-entropy (``>= 0``) as a Python float.

    Raises:
        MetricInputError: If the shapes disagree, a label lies outside ``[0, n_classes)``, the
            probabilities are NaN/inf or outside ``[0, 1]``, or ``eps`` is out of range.
    """
    if not 0 < eps < 1:
        raise MetricInputError(f"eps must be in (0, 1), got {eps!r}")
    prob = _as_numeric_array(y_prob, "y_prob")
    labels = _as_numeric_array(y_true, "y_true")
    if prob.shape[:-1] != labels.shape:
        raise MetricInputError(
            f"y_prob must have shape y_true.shape + (n_classes,) = {labels.shape} + (n_classes,), "
            f"got {prob.shape}"
        )
    labels = _as_labels(labels.reshape(-1), "y_true")
    prob = _as_scores(prob.reshape(-1, prob.shape[-1]), "y_prob").astype(np.float64)
    if prob.min() < 0 or prob.max() > 1 + 1e-6:
        raise MetricInputError(
            f"y_prob must hold probabilities in [0, 1], got values from {prob.min():.3g} to {prob.max():.3g}"
        )
    n_classes = prob.shape[1]
    if labels.min() < 0 or labels.max() >= n_classes:
        bad = int(labels[(labels < 0) | (labels >= n_classes)][0])
        raise MetricInputError(f"y_true contains label {bad} outside [0, {n_classes})")
    picked = np.clip(prob[np.arange(len(labels)), labels], eps, 1.0)
    return float(-np.mean(np.log(picked)))


def perplexity(y_true: Any, y_prob: Any, *, eps: float = 1e-7) -> float:
    """``exp(log_loss)``: the number of equally likely characters the model hesitates between.

    A model that knows nothing (uniform over ``V`` characters) has perplexity ``V``; a perfect one
    1. Lower is better. Arguments and errors as :func:`log_loss`.
    """
    return float(np.exp(log_loss(y_true, y_prob, eps=eps)))


def valid_text_sample_score(
    samples: Any, alphabet: str, corpus: str, *, max_length: int = 280, copy_length: int = 40
) -> float:
    """Fraction of generated texts (e.g. tweets) that are valid and not copies of the corpus.

    A sample is valid when it is not empty, at most ``max_length`` characters long, uses only the
    characters of ``alphabet``, and is not a copy of ``corpus`` (the training text): it is not one
    of the corpus's lines, and no run of ``copy_length`` consecutive characters of it appears in
    the corpus. A sampler that never ends its text should hand over its first ``max_length + 1``
    characters, which then count as too long.

    Args:
        samples: A sequence of strings, at least one.
        alphabet: The characters a sample may use.
        corpus: The text samples must not copy (lines separated by newlines).
        max_length: The longest valid sample, in characters.
        copy_length: The shortest run of characters that counts as copied.

    Returns:
        The fraction of valid samples in ``[0, 1]`` as a Python float.

    Raises:
        MetricInputError: If ``samples`` is empty or holds a non-string, or a length is not positive.
    """
    if isinstance(samples, str) or not hasattr(samples, "__len__") or len(samples) == 0:
        raise MetricInputError("samples must be a non-empty sequence of strings")
    if not all(isinstance(s, str) for s in samples):
        raise MetricInputError("every sample must be a string")
    if max_length < 1 or copy_length < 1:
        raise MetricInputError(
            f"max_length and copy_length must be positive, got {max_length} and {copy_length}"
        )
    allowed = set(alphabet)
    lines = set(corpus.split("\n"))
    runs = {corpus[i:i + copy_length] for i in range(len(corpus) - copy_length + 1)}

    def valid(text: str) -> bool:
        if not 0 < len(text) <= max_length or not set(text) <= allowed or text in lines:
            return False
        return not any(text[i:i + copy_length] in runs for i in range(len(text) - copy_length + 1))

    return float(np.mean([valid(s) for s in samples]))


# ---------------------------------------------------------------------------
# Embeddings (face recognition): distances between encodings of labelled items
# ---------------------------------------------------------------------------


def _as_embeddings(y_true: Any, embeddings: Any) -> tuple[np.ndarray, np.ndarray]:
    """Validate identity labels ``(n,)`` and finite embeddings ``(n, dim)``; float64 embeddings."""
    labels = _as_labels(y_true, "y_true")
    emb = _as_numeric_array(embeddings, "embeddings")
    if emb.ndim != 2:
        raise MetricInputError(
            f"embeddings must be 2-D (n_samples, embedding_dim), got shape {emb.shape}"
        )
    _check_same_n_samples(labels, emb, "y_true", "embeddings")
    _check_finite(emb, "embeddings")
    return labels, emb.astype(np.float64)


def pairwise_squared_distances(embeddings: Any) -> np.ndarray:
    """Squared Euclidean distances ``||f_i - f_j||^2`` between all rows, shape ``(n, n)``.

    Computed from differences (not the ``|a|^2 + |b|^2 - 2ab`` expansion) so that equal rows are
    exactly 0 apart and ties stay ties.
    """
    emb = np.asarray(embeddings, dtype=np.float64)
    out = np.empty((len(emb), len(emb)))
    for i in range(len(emb)):  # row by row: n x n x dim at once would not fit for large n
        diff = emb - emb[i]
        out[i] = np.einsum("ij,ij->i", diff, diff)
    return out


def _ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks of ``values``, ties given their average rank."""
    order = np.argsort(values, kind="stable")
    sorted_vals = values[order]
    starts = np.flatnonzero(np.r_[True, sorted_vals[1:] != sorted_vals[:-1]])
    ends = np.r_[starts[1:], len(values)]
    avg = (starts + ends + 1) / 2.0  # mean of ranks start+1 .. end
    ranks = np.empty(len(values))
    ranks[order] = np.repeat(avg, ends - starts)
    return ranks


def _check_identities(labels: np.ndarray, need_pairs: bool = True) -> None:
    counts = np.unique(labels, return_counts=True)[1]
    if len(counts) < 2:
        raise MetricInputError("y_true must hold at least 2 identities (a negative needs another one)")
    if need_pairs and not np.any(counts >= 2):
        raise MetricInputError("y_true must hold an identity with at least 2 items (a positive pair)")


def triplet_accuracy_score(y_true: Any, embeddings: Any) -> float:
    """Fraction of triplets whose positive is closer to the anchor than the negative.

    Every triplet is counted: each anchor ``a``, each other item ``p`` of its identity, each item
    ``n`` of another identity. A triplet counts 1 when ``||f_a - f_p||^2 < ||f_a - f_n||^2``, 0.5 on
    a tie (so embeddings that are all the same score 0.5, like a coin), 0 otherwise. This is the
    triplet loss' own criterion with margin 0.

    Args:
        y_true: Identity labels, shape ``(n_samples,)``.
        embeddings: Encodings, shape ``(n_samples, embedding_dim)``.

    Returns:
        The accuracy in ``[0, 1]`` as a Python float.

    Raises:
        MetricInputError: malformed inputs, fewer than 2 identities or no identity with 2 items.
    """
    labels, emb = _as_embeddings(y_true, embeddings)
    _check_identities(labels)
    dist = pairwise_squared_distances(emb)
    wins = total = 0.0
    for a in range(len(labels)):
        same = labels == labels[a]
        same[a] = False
        if not same.any():
            continue
        pos = np.sort(dist[a, same])
        neg = np.sort(dist[a, labels != labels[a]])
        # for each positive distance: negatives farther (wins), equal (ties)
        farther = len(neg) - np.searchsorted(neg, pos, side="right")
        equal = np.searchsorted(neg, pos, side="right") - np.searchsorted(neg, pos, side="left")
        wins += float(farther.sum() + 0.5 * equal.sum())
        total += float(len(pos) * len(neg))
    return wins / total


def verification_roc_auc_score(y_true: Any, embeddings: Any) -> float:
    """ROC AUC of "same person?" decided by the distance between two encodings.

    Every unordered pair of items is a verification trial, positive when both have the same
    identity, scored by minus their squared distance. The AUC is the probability that a random
    same-identity pair is closer than a random different-identity pair (ties count half),
    computed exactly from ranks (the Mann-Whitney statistic), as ``sklearn.metrics.roc_auc_score``.

    Args:
        y_true: Identity labels, shape ``(n_samples,)``.
        embeddings: Encodings, shape ``(n_samples, embedding_dim)``.

    Returns:
        The AUC in ``[0, 1]`` as a Python float (0.5 for embeddings that are all the same).

    Raises:
        MetricInputError: malformed inputs, fewer than 2 identities or no identity with 2 items.
    """
    labels, emb = _as_embeddings(y_true, embeddings)
    _check_identities(labels)
    iu = np.triu_indices(len(labels), k=1)
    scores = -pairwise_squared_distances(emb)[iu]
    same = (labels[:, None] == labels[None, :])[iu]
    n_pos, n_neg = int(same.sum()), int((~same).sum())
    ranks = _ranks(scores)
    return float((ranks[same].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def recall_at_k_score(y_true: Any, embeddings: Any, k: int = 1) -> float:
    """Fraction of items whose ``k`` closest other items include one of the same identity.

    Each item is a query against all the others (leave-one-out); with ``k=1`` this is the
    accuracy of "identify a person by the nearest stored encoding". Distance ties are broken by
    item order (the earlier item counts as closer). Queries whose identity has no other item
    are skipped.

    Args:
        y_true: Identity labels, shape ``(n_samples,)``.
        embeddings: Encodings, shape ``(n_samples, embedding_dim)``.
        k: How many neighbours count; an integer in ``[1, n_samples - 1]``.

    Returns:
        Recall@k in ``[0, 1]`` as a Python float.

    Raises:
        MetricInputError: malformed inputs, ``k`` out of range, fewer than 2 identities or no
            identity with 2 items.
    """
    labels, emb = _as_embeddings(y_true, embeddings)
    _check_identities(labels)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= len(labels) - 1:
        raise MetricInputError(f"k must be an integer in [1, n_samples - 1] = [1, {len(labels) - 1}], "
                               f"got {k!r}")
    dist = pairwise_squared_distances(emb)
    np.fill_diagonal(dist, np.inf)
    nearest = np.argsort(dist, axis=1, kind="stable")[:, : int(k)]
    hits = np.any(labels[nearest] == labels[:, None], axis=1)
    counts = np.unique(labels, return_counts=True)
    has_pair = np.isin(labels, counts[0][counts[1] >= 2])
    return float(np.mean(hits[has_pair]))


# ---------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MetricInfo:
    """Description of a registered metric.

    Attributes:
        name: Registry key used in assignment configuration.
        func: Callable ``func(y_true, y_pred) -> float``.
        higher_is_better: ``True`` for scores (accuracy), ``False`` for
            errors and losses.
    """

    name: str
    func: Callable[..., float]
    higher_is_better: bool


def _higher_is_better(name: str) -> bool:
    """Infer the direction of a metric from its name.

    ``*_score`` and ``*accuracy`` metrics improve upwards; ``*_error`` and
    ``*_loss`` metrics improve downwards.

    Raises:
        ValueError: If the name follows neither convention.
    """
    if name.endswith(("_error", "_loss")):
        return False
    if name.endswith(("_score", "accuracy")):
        return True
    raise ValueError(f"cannot infer the direction of metric {name!r} from its name")


def _measured_in_sandbox(y_true, y_pred) -> float:
    raise MetricInputError("this metric is measured by its task in the sandbox, not from model outputs")


def _register(name: str, func: Callable[..., float]) -> MetricInfo:
    return MetricInfo(name=name, func=func, higher_is_better=_higher_is_better(name))


METRICS: dict[str, MetricInfo] = {
    info.name: info
    for info in (
        _register("accuracy", accuracy_score),
        _register("top_2_accuracy", functools.partial(top_k_accuracy_score, k=2)),
        _register("mean_squared_error", mean_squared_error),
        # scikit-image's name, which follows no direction rule: PSNR in dB, higher is better.
        MetricInfo("peak_signal_noise_ratio", peak_signal_noise_ratio, higher_is_better=True),
        # Validity checks of generative models (fractions of valid items): higher is better.
        _register("kl_in_range_score", kl_in_range_score),
        _register("valid_sample_score", valid_sample_score),
        # GANs: the samples as a classifier sees them, and the training dynamics (autograder/tasks/gan.py).
        _register("inception_score", inception_score),
        _register("gan_dynamics_score", gan_dynamics_score),


        # Next-character models: per-character cross-entropy (nats) and its exponential, both lower
        # is better ("perplexity" is the usual name, which follows no direction rule); generated
        # texts that are valid and not copies, higher is better.
        _register("log_loss", log_loss),
        MetricInfo("perplexity", perplexity, higher_is_better=False),
        _register("valid_text_sample_score", valid_text_sample_score),
        # Input pipelines (autograder/pipeline_checks.py measures them in the sandbox, so these
        # are never computed from model outputs): the fraction of checks passed, and items per
        # second over a naive loop's. Both higher is better.
        MetricInfo("pipeline_correctness", _measured_in_sandbox, higher_is_better=True),
        MetricInfo("throughput_log2_ratio", _measured_in_sandbox, higher_is_better=True),
        # Embeddings, ``func(identities, embeddings)``: higher is better.
        _register("triplet_accuracy", triplet_accuracy_score),
        _register("verification_roc_auc_score", verification_roc_auc_score),
        MetricInfo("recall_at_1", functools.partial(recall_at_k_score, k=1), higher_is_better=True),
    )
}
"""Registered metrics, keyed by the name used in assignment configuration."""


def plugin_metric(name: str) -> MetricInfo | None:
    """The metric a course plugin registers as ``name`` (``autograder.metrics`` entry points), or None.

    The entry point's object is a :class:`MetricInfo`, or a function ``func(y_true, y_pred)`` whose
    direction follows from the entry point's name (``*_score``/``*accuracy`` higher is better,
    ``*_error``/``*_loss`` lower is better).

    Raises:
        ValueError: the plugin clashes with a built-in metric, or its direction cannot be inferred.
    """
    from . import plugins

    plugin = plugins.find(plugins.METRICS, name)
    if plugin is None:
        return None
    if name in METRICS:  # silently grading with another function than the spec's author meant: no
        raise ValueError(f"{plugin.distribution} registers metric {name!r}, a built-in metric's name; "
                         "rename its entry point")
    obj = plugin.load()
    if isinstance(obj, MetricInfo):
        return obj if obj.name == name else MetricInfo(name, obj.func, obj.higher_is_better)
    if not callable(obj):
        raise ValueError(f"{plugin.distribution} registers metric {name!r} as {plugin.value!r}, which "
                         "is neither a function nor an autograder.metrics.MetricInfo")
    try:
        return _register(name, obj)
    except ValueError as exc:
        raise ValueError(f"{exc}: {plugin.distribution} should register a MetricInfo(name, func, "
                         "higher_is_better) or name the metric *_score or *_error") from None


def known_metrics() -> list[str]:
    """Every metric name a spec may use: the built-in ones and the course plugins'."""
    from . import plugins

    return sorted({*METRICS, *plugins.names(plugins.METRICS)})


def known_metric(name: str) -> bool:
    """Whether ``name`` is a built-in metric or one a course plugin registers."""
    return name in METRICS or name in known_metrics()


def get_metric(name: str) -> MetricInfo:
    """Look up a metric by name: built-in (:data:`METRICS`) or a course plugin's.

    Args:
        name: Registry key, e.g. ``"accuracy"``.

    Returns:
        The matching :class:`MetricInfo`.

    Raises:
        KeyError: If no metric of that name is registered; the message lists
            the known names.
        ValueError: If a plugin registers the name wrongly (see :func:`plugin_metric`).
    """
    from . import plugins

    if name in METRICS and name not in plugins.registered(plugins.METRICS):
        return METRICS[name]
    info = plugin_metric(name)  # raises for a plugin that reuses a built-in name
    if info is None:
        known = ", ".join(known_metrics())
        raise KeyError(f"unknown metric {name!r}; known metrics: {known}")
    return info
