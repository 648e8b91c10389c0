"""Embedding models (face recognition): the model maps each image to an encoding (a vector).

The grader embeds the hidden identities' images (people the student never saw) and measures how
well distances between encodings separate identities (:mod:`autograder.metrics`):

* ``triplet_accuracy``: anchor-positive closer than anchor-negative, over every triplet;
* ``verification_roc_auc_score``: "same person?" decided by the distance of two encodings;
* ``recall_at_1``: the nearest other encoding belongs to the same person.

The output must be one flat encoding per image, ``(batch, dim)`` with ``dim`` at most
:data:`MAX_EMBEDDING_DIM`, finite. Baseline (0 points): ``raw_pixels``, the flattened images
themselves used as encodings.
"""

from __future__ import annotations

import numpy as np

from ..data import Split
from ..errors import ModelShapeError, SpecError
from . import measure_y_pred
from ._submodels import check_finite, run_submodel

MAX_EMBEDDING_DIM = 128
METRICS = ("triplet_accuracy", "verification_roc_auc_score", "recall_at_1")
BASELINES = ("raw_pixels",)


def embed(model, x: np.ndarray, max_dim: int = MAX_EMBEDDING_DIM) -> np.ndarray:
    """The encodings of ``x``: one finite vector of at most ``max_dim`` values per image.

    Raises:
        ModelShapeError: the model cannot run on ``x``, returns several outputs, or its output is
            not ``(batch, dim)`` with ``dim <= max_dim``.
        NonFiniteOutputError: an encoding holds NaN or infinite values.
    """
    outs = run_submodel(model, x, "embedding model")
    if len(outs) != 1:
        raise ModelShapeError(
            f"the embedding model returns {len(outs)} outputs; it should return one array of "
            "encodings, shape (batch, embedding_dim)"
        )
    enc = outs[0]
    if enc.ndim != 2:
        raise ModelShapeError(
            f"the embedding model's output has shape (batch, {', '.join(map(str, enc.shape[1:]))}); "
            "it should be one flat encoding per image, (batch, embedding_dim): end the model "
            "with Flatten/Dense layers"
        )
    if enc.shape[1] > max_dim:
        raise ModelShapeError(
            f"the embedding model outputs {enc.shape[1]} values per image; encodings must have at "
            f"most {max_dim}"
        )
    check_finite(enc, "the embedding model's output")
    return enc.astype(np.float32)


class EmbeddingTask:
    name = "embedding"

    def expected_output_shape(self, test: Split) -> tuple[int, ...]:
        # The encoding's width is the student's choice; run_model checks it.
        return (len(test), MAX_EMBEDDING_DIM)

    def run_model(self, model, test: Split) -> np.ndarray:
        return embed(model, test.x)

    def measure(self, metric: str, outputs: np.ndarray, test: Split) -> float:
        return measure_y_pred(self.name, METRICS, metric, test.y, outputs)

    def baseline_outputs(self, kind: str, train: Split, test: Split) -> np.ndarray:
        if kind != "raw_pixels":
            raise SpecError(f"unknown embedding baseline {kind!r}; use one of {BASELINES}")
        return np.asarray(test.x, dtype=np.float32).reshape(len(test), -1)


TASK = EmbeddingTask()
