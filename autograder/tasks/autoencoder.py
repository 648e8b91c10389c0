"""Autoencoders: a saved model holding an ``encoder`` and a ``decoder`` sub-model.

The grader never calls the saved model end to end. It calls the encoder on the hidden images,
checks the latent codes are at most :data:`MAX_LATENT` values per image (the bottleneck the
assignment asks for), then calls the decoder on those codes and measures the reconstruction. So
nothing can flow around the bottleneck, and a model without the two sub-models, or with a wide
code, gets 0 points with a reason.

Baseline (0 points): ``mean_image``, the mean training image as every reconstruction.
"""

from __future__ import annotations

import numpy as np

from ..data import Split
from ..errors import ModelShapeError, SpecError
from . import measure_y_pred
from ._submodels import check_finite, check_shape, get_submodel, latent_width, run_submodel

MAX_LATENT = 32
METRICS = ("mean_squared_error", "peak_signal_noise_ratio")


def encode(model, x: np.ndarray, max_latent: int = MAX_LATENT) -> np.ndarray:
    """The latent codes of ``x`` from the model's ``encoder``, checked against the bottleneck."""
    outs = run_submodel(get_submodel(model, "encoder"), x, "encoder")
    if len(outs) != 1:
        raise ModelShapeError(
            f"the encoder returns {len(outs)} outputs; it should return one array of latent codes"
        )
    codes = outs[0]
    width = latent_width(codes)
    if width > max_latent:
        raise ModelShapeError(
            f"the encoder outputs {width} values per image; the bottleneck must be at most "
            f"{max_latent} wide"
        )
    check_finite(codes, "the encoder's output")
    return codes


def decode(model, codes: np.ndarray, expected_shape: tuple[int, ...]) -> np.ndarray:
    """The model's ``decoder`` run on ``codes``: one finite output of ``expected_shape``."""
    outs = run_submodel(get_submodel(model, "decoder"), codes, "decoder")
    if len(outs) != 1:
        raise ModelShapeError(
            f"the decoder returns {len(outs)} outputs; it should return one array of images"
        )
    check_shape(outs[0], expected_shape, "the decoder's output")
    check_finite(outs[0], "the decoder's output")
    return outs[0]


class AutoencoderTask:
    name = "autoencoder"

    def expected_output_shape(self, test: Split) -> tuple[int, ...]:
        return tuple(test.y.shape)

    def run_model(self, model, test: Split) -> np.ndarray:
        """Encoder, bottleneck check, then decoder: the reconstructions of ``test.x``."""
        codes = encode(model, test.x)
        return decode(model, codes, self.expected_output_shape(test))

    def measure(self, metric: str, outputs: np.ndarray, test: Split) -> float:
        return measure_y_pred(self.name, METRICS, metric, test.y, outputs)

    def baseline_outputs(self, kind: str, train: Split, test: Split) -> np.ndarray:
        if kind != "mean_image":
            raise SpecError(f"unknown autoencoder baseline {kind!r}; use mean_image")
        mean = np.asarray(train.y, dtype=np.float64).mean(axis=0)
        return np.broadcast_to(mean, test.y.shape).astype(np.float32)


TASK = AutoencoderTask()
