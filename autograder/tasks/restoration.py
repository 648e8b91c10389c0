"""Image restoration: the model outputs a clean image shaped like the target.

Used by the four parts of ``restoration``. Measured like :mod:`.regression` (MSE, PSNR against the
hidden targets), with the baselines of image restoration (0 points):

* ``input``: the input unchanged (the grey copy for colorization, the masked image for in-painting).
* ``nearest_upsample``: the input resized to the target's size with ``NEAREST_NEIGHBOR`` (up-res).
* ``frame_average``: the mean of the frames stacked on the input's channel axis (interpolation).
"""

from __future__ import annotations

import numpy as np

from ..data import Split
from ..errors import SpecError
from .regression import RegressionTask

BASELINES = ("input", "nearest_upsample", "frame_average")


def nearest_upsample(x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Each image of ``x`` resized to ``shape``'s height and width by nearest neighbour."""
    import tensorflow as tf

    resized = tf.image.resize(x, shape[1:3], method=tf.image.ResizeMethod.NEAREST_NEIGHBOR)
    return np.asarray(resized, dtype=np.float32)


def frame_average(x: np.ndarray, channels: int) -> np.ndarray:
    """The mean of the frames stacked on the last axis, ``channels`` values each."""
    if x.shape[-1] % channels:
        raise SpecError(f"baseline 'frame_average' needs a multiple of {channels} input channels; "
                        f"got {x.shape[-1]}")
    frames = np.split(np.asarray(x, dtype=np.float32), x.shape[-1] // channels, axis=-1)
    return np.mean(frames, axis=0).astype(np.float32)


class RestorationTask(RegressionTask):
    name = "restoration"

    def baseline_outputs(self, kind: str, train: Split, test: Split) -> np.ndarray:
        if kind == "nearest_upsample":
            return nearest_upsample(test.x, test.y.shape)
        if kind == "frame_average":
            return frame_average(test.x, test.y.shape[-1])
        if kind == "input":
            return super().baseline_outputs(kind, train, test)
        raise SpecError(f"unknown restoration baseline {kind!r}; use one of {BASELINES}")


TASK = RestorationTask()
