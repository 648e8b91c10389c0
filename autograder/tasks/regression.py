"""Regression: the model outputs an array shaped like the target (a number, an image, ...).

Used by ``sinx`` (one number per point) and ``denoiser`` (a clean image per noisy image).

Baselines (0 points):

* ``train_mean``: predict the mean training target for every input (e.g. the mean of sin(x)).
* ``input``: return the input unchanged (e.g. the noisy image itself, for a denoiser); only
  meaningful when inputs and targets have the same shape.
"""

from __future__ import annotations

import numpy as np

from ..data import Split
from ..errors import SpecError
from . import measure_y_pred

METRICS = ("mean_squared_error", "peak_signal_noise_ratio")


class RegressionTask:
    name = "regression"

    def expected_output_shape(self, test: Split) -> tuple[int, ...]:
        return tuple(test.y.shape)

    def measure(self, metric: str, outputs: np.ndarray, test: Split) -> float:
        return measure_y_pred(self.name, METRICS, metric, test.y, outputs)

    def baseline_outputs(self, kind: str, train: Split, test: Split) -> np.ndarray:
        if kind == "train_mean":
            mean = np.asarray(train.y, dtype=np.float64).mean(axis=0)
            return np.broadcast_to(mean, test.y.shape).astype(np.float32)
        if kind == "input":
            if test.x.shape != test.y.shape:
                raise SpecError(
                    f"baseline 'input' needs inputs shaped like targets; got {test.x.shape} "
                    f"inputs for {test.y.shape} targets"
                )
            return np.asarray(test.x, dtype=np.float32)
        raise SpecError(f"unknown regression baseline {kind!r}; use train_mean or input")


TASK = RegressionTask()
