"""Next-character models: ids of a text in, a distribution over the next character out.

The model reads sequences of character ids, shape ``(batch, seq_length)``, and outputs for every
position the probabilities of the next character over the fixed vocabulary of
:mod:`autograder.data.text_rnn`, shape ``(batch, seq_length, vocab_size)`` (a softmax). On the
hidden passages the grader measures, over every position:

* ``log_loss``: the per-character cross-entropy in nats (``perplexity`` is its exponential);
* ``accuracy``: how often the most likely character is the true next one.

Baselines (0 points): ``unigram``, every position predicts the training text's character
frequencies (add-one smoothed, so no character is impossible); ``uniform``, every character
equally likely.
"""

from __future__ import annotations

import numpy as np

from ..data import Split
from ..data.text_rnn import VOCAB_SIZE
from ..errors import ModelShapeError, SpecError
from ..metrics import get_metric
from ..models import predict

METRICS = ("log_loss", "perplexity", "accuracy")
BASELINES = ("unigram", "uniform")


def check_probabilities(probs: np.ndarray) -> None:
    """The outputs are distributions: values in [0, 1], each position summing to 1."""
    sums = probs.sum(axis=-1, dtype=np.float64)
    if probs.min() < 0 or probs.max() > 1 + 1e-4 or not np.allclose(sums, 1.0, atol=1e-3):
        raise ModelShapeError(
            "the model's outputs are not probabilities (each position's values should lie in [0, 1] "
            "and sum to 1): end the model with a softmax, e.g. Dense(vocab_size, activation='softmax')"
        )


def unigram_probabilities(ids: np.ndarray, vocab_size: int = VOCAB_SIZE) -> np.ndarray:
    """Add-one smoothed frequencies of the ids (float32, shape ``(vocab_size,)``)."""
    counts = np.bincount(np.asarray(ids).ravel(), minlength=vocab_size)[:vocab_size] + 1.0
    return (counts / counts.sum()).astype(np.float32)


class CharModelTask:
    name = "char_model"

    def expected_output_shape(self, test: Split) -> tuple[int, ...]:
        return (*test.x.shape, VOCAB_SIZE)

    def run_model(self, model, test: Split) -> np.ndarray:
        probs = predict(model, test.x, expected_shape=self.expected_output_shape(test))
        check_probabilities(probs)
        return probs

    def measure(self, metric: str, outputs: np.ndarray, test: Split) -> float:
        if metric not in METRICS:
            raise SpecError(f"the char_model task does not measure {metric!r}; it measures {METRICS}")
        if metric == "accuracy":
            return get_metric(metric).func(test.y.ravel(), outputs.reshape(-1, outputs.shape[-1]))
        return get_metric(metric).func(test.y, outputs)

    def baseline_outputs(self, kind: str, train: Split, test: Split) -> np.ndarray:
        if kind == "unigram":
            probs = unigram_probabilities(train.y)
        elif kind == "uniform":
            probs = np.full(VOCAB_SIZE, 1.0 / VOCAB_SIZE, dtype=np.float32)
        else:
            raise SpecError(f"unknown char_model baseline {kind!r}; use one of {BASELINES}")
        return np.broadcast_to(probs, self.expected_output_shape(test))


TASK = CharModelTask()
