"""Classifiers: the model outputs one probability (or score) per class."""

from __future__ import annotations

import numpy as np

from ..data import Split
from ..errors import SpecError
from . import measure_y_pred

METRICS = ("accuracy", "top_2_accuracy")


class ClassifierTask:
    name = "classifier"

    def n_classes(self, test: Split) -> int:
        return int(test.y.max()) + 1

    def expected_output_shape(self, test: Split) -> tuple[int, ...]:
        return (len(test), self.n_classes(test))

    def measure(self, metric: str, outputs: np.ndarray, test: Split) -> float:
        return measure_y_pred(self.name, METRICS, metric, test.y, outputs)

    def baseline_outputs(self, kind: str, train: Split, test: Split) -> np.ndarray:
        n_classes = self.n_classes(test)
        if kind == "majority_class":
            # Class frequencies of the training split: argmax is the majority class, and the
            # ranking gives the most frequent classes for top-k metrics.
            freq = np.bincount(train.y, minlength=n_classes).astype(np.float64)
            scores = freq / freq.sum()
        elif kind == "uniform":
            scores = np.full(n_classes, 1.0 / n_classes)
        else:
            raise SpecError(f"unknown classifier baseline {kind!r}; use majority_class or uniform")
        return np.tile(scores, (len(test), 1))


TASK = ClassifierTask()
