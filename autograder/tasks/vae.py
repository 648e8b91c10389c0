"""Variational autoencoders: a saved model holding an ``encoder`` -> [mu, log_var] and a ``decoder``.

As for :mod:`autograder.tasks.autoencoder`, the grader calls the two sub-models itself and never
the saved model end to end (whatever the student trained with, a custom loop or a subclassed
model, is not needed: only the two functional sub-models, which load in Keras safe mode). On the
hidden images it measures:

* ``mean_squared_error``: the reconstruction ``decoder(mu)`` against the images (the decoder
  gets the posterior mean, so grading is deterministic);
* ``kl_in_range_score``: the fraction of hidden images whose posterior KL from N(0, I) lies in a
  sane range (see :func:`autograder.metrics.kl_in_range_score`): a validity check, because a
  lower KL is not simply better (KL 0 is a posterior that ignores the image);
* ``valid_sample_score``: :data:`N_SAMPLES` codes drawn from N(0, I) with the grader's seed are
  decoded; the fraction of samples that are images (right shape, finite, pixels in [0, 1]) and
  not all the same.

Baseline (0 points for every metric): ``mean_image``, a "model" whose posterior is the prior
(mu = 0, log_var = 0: KL 0) and whose decoder returns the mean training image for every code.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data import Split
from ..errors import ModelShapeError, SpecError
from ..metrics import get_metric
from ._submodels import check_finite, check_shape, get_submodel, latent_width, run_submodel
from .autoencoder import MAX_LATENT, decode

N_SAMPLES = 256
SAMPLE_SEED = 2021
METRICS = ("mean_squared_error", "kl_in_range_score", "valid_sample_score")


@dataclass(frozen=True)
class VAEOutputs:
    """What the grader gets from a VAE on the hidden images."""

    reconstruction: np.ndarray  # decoder(mu), shaped like the images
    mu: np.ndarray  # (n, latent_dim)
    log_var: np.ndarray  # (n, latent_dim)
    samples: np.ndarray  # decoder(z) for z ~ N(0, I), (N_SAMPLES, *image shape)


def encode_posterior(model, x: np.ndarray, max_latent: int = MAX_LATENT):
    """``mu`` and ``log_var`` of ``x`` from the model's ``encoder``, checked."""
    outs = run_submodel(get_submodel(model, "encoder"), x, "encoder")
    if len(outs) != 2:
        raise ModelShapeError(
            f"the encoder returns {len(outs)} output{'s' if len(outs) != 1 else ''}; a VAE's "
            "encoder should return two arrays, [mu, log_var]"
        )
    mu, log_var = outs
    if mu.ndim != 2 or mu.shape != log_var.shape:
        raise ModelShapeError(
            f"the encoder's mu and log_var have shapes {mu.shape} and {log_var.shape}; both "
            "should be (batch, latent_dim)"
        )
    width = latent_width(mu)
    if width > max_latent:
        raise ModelShapeError(
            f"the encoder outputs {width} values per image; the bottleneck must be at most "
            f"{max_latent} wide"
        )
    # A non-finite log_var only fails the KL check; a non-finite mu cannot be decoded.
    check_finite(mu, "the encoder's mu")
    return mu, log_var


def decode_samples(model, latent_dim: int, image_shape: tuple[int, ...]) -> np.ndarray:
    """Decode :data:`N_SAMPLES` codes drawn from N(0, I) with the grader's fixed seed."""
    z = np.random.default_rng(SAMPLE_SEED).standard_normal((N_SAMPLES, latent_dim))
    outs = run_submodel(get_submodel(model, "decoder"), z.astype(np.float32), "decoder")
    check_shape(outs[0], (N_SAMPLES, *image_shape), "the decoder's output")
    return outs[0]  # NaN or out-of-range samples are judged by valid_sample_score, not refused


class VAETask:
    name = "vae"

    def expected_output_shape(self, test: Split) -> tuple[int, ...]:
        return tuple(test.y.shape)

    def run_model(self, model, test: Split) -> VAEOutputs:
        mu, log_var = encode_posterior(model, test.x)
        reconstruction = decode(model, mu, self.expected_output_shape(test))
        samples = decode_samples(model, mu.shape[1], tuple(test.y.shape[1:]))
        return VAEOutputs(reconstruction, mu, log_var, samples)

    def measure(self, metric: str, outputs: VAEOutputs, test: Split) -> float:
        if metric == "mean_squared_error":
            return get_metric(metric).func(test.y, outputs.reconstruction)
        if metric == "kl_in_range_score":
            return get_metric(metric).func(outputs.mu, outputs.log_var)
        if metric == "valid_sample_score":
            return get_metric(metric).func(outputs.samples)
        raise SpecError(f"the vae task does not measure {metric!r}; it measures {METRICS}")

    def baseline_outputs(self, kind: str, train: Split, test: Split) -> VAEOutputs:
        if kind != "mean_image":
            raise SpecError(f"unknown vae baseline {kind!r}; use mean_image")
        mean = np.asarray(train.y, dtype=np.float64).mean(axis=0).astype(np.float32)
        prior = np.zeros((len(test), 1), dtype=np.float32)
        return VAEOutputs(
            reconstruction=np.broadcast_to(mean, test.y.shape),
            mu=prior,
            log_var=prior,
            samples=np.broadcast_to(mean, (N_SAMPLES, *mean.shape)),
        )


TASK = VAETask()
