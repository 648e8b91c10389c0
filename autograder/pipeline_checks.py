"""Grading a student's ``tf.data`` input pipeline: is it correct, and how fast is it?

The student writes ``make_pipeline(images, labels, batch_size, seed)``: from uint8 images of shape
(n, 28, 28) and integer labels it returns a ``tf.data.Dataset`` of batches ``(x, y)``, ``x``
float32 of shape (batch, 28, 28, 1) in [0, 1], shuffled anew each epoch.

The grader feeds it *id-coded* images (:func:`id_coded_images`): each image carries its own index
in two pixels and its label is that index, so every batch tells which items it holds and whether
images and labels still belong together. Four checks (:data:`CHECKS`) make
``pipeline_correctness`` (the fraction passed). ``throughput_log2_ratio`` is log2 of the pipeline's items per
second over those of a naive Python loop doing the same preprocessing item by item with eager
TensorFlow (:func:`naive_batches`), measured in the same process, best of a few rounds, so the
machine's speed cancels out.

Runs inside the sandbox (train worker): nothing here touches hidden files.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

CHECKS = ("shapes_and_dtypes", "every_item_once", "pairs_intact", "shuffled")
IMAGE_SIZE = 28


def id_coded_images(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` noise images (uint8) whose pixels (0, 0) and (0, 1) hold the index; labels = indices."""
    if n > 256 * 256:
        raise ValueError("at most 65,536 id-coded images")
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, IMAGE_SIZE, IMAGE_SIZE), dtype=np.uint8)
    ids = np.arange(n)
    images[:, 0, 0] = ids % 256
    images[:, 0, 1] = ids // 256
    return images, ids.astype(np.int64)


def decode_ids(x: np.ndarray) -> np.ndarray:
    """The indices held by a batch of preprocessed images (pixels scaled to [0, 1])."""
    low = np.rint(np.asarray(x)[:, 0, 0, 0] * 255.0).astype(np.int64)
    high = np.rint(np.asarray(x)[:, 0, 1, 0] * 255.0).astype(np.int64)
    return low + 256 * high


def preprocess(image, label):
    """The per-item work of the assignment: scale to [0, 1] float32 and add a channel axis."""
    import tensorflow as tf

    x = tf.cast(image, tf.float32) / 255.0
    return tf.expand_dims(x, -1), label


def naive_batches(images: np.ndarray, labels: np.ndarray, batch_size: int, seed: int) -> Iterable:
    """The baseline: a Python loop, shuffled with NumPy, preprocessing each item eagerly."""
    import tensorflow as tf

    order = np.random.default_rng(seed).permutation(len(images))
    for start in range(0, len(order), batch_size):
        items = [preprocess(images[i], labels[i]) for i in order[start:start + batch_size]]
        yield tf.stack([x for x, _ in items]), tf.stack([y for _, y in items])


@dataclass(frozen=True)
class PipelineReport:
    """What the checks found and how fast each way went."""

    checks: dict[str, bool]
    problems: list[str] = field(default_factory=list)
    pipeline_items_per_s: float = 0.0
    naive_items_per_s: float = 0.0

    @property
    def correctness(self) -> float:
        return sum(self.checks.values()) / len(CHECKS)

    @property
    def throughput_ratio(self) -> float:
        return self.pipeline_items_per_s / self.naive_items_per_s if self.naive_items_per_s else 0.0

    @property
    def throughput_log2_ratio(self) -> float:
        """How many times the pipeline doubles the loop's speed (0: as fast; negative: slower).

        On a log scale, timing noise of a loaded machine moves a fast pipeline's score little.
        """
        return math.log2(self.throughput_ratio) if self.throughput_ratio > 0 else -10.0

    def values(self) -> dict[str, float]:
        return {"pipeline_correctness": round(self.correctness, 4),
                "throughput_log2_ratio": round(self.throughput_log2_ratio, 4)}


def _as_arrays(batch) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(batch, tuple | list) or len(batch) != 2:
        raise TypeError(f"each element should be a pair (images, labels), got {type(batch).__name__}")
    return np.asarray(batch[0]), np.asarray(batch[1])


def check_epochs(epochs: list[list[tuple[np.ndarray, np.ndarray]]], n: int, batch_size: int
                 ) -> tuple[dict[str, bool], list[str]]:
    """The four checks on two or more epochs of batches; ``problems`` explains each failure."""
    checks = dict.fromkeys(CHECKS, True)
    problems: list[str] = []

    def fail(check: str, message: str) -> None:
        if checks[check]:
            problems.append(message)
        checks[check] = False

    orders = []
    for e, batches in enumerate(epochs, start=1):
        ids_seen = []
        for x, y in batches:
            if x.ndim != 4 or x.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE, 1) or x.shape[0] > batch_size:
                fail("shapes_and_dtypes", f"a batch of images has shape {x.shape}; expected "
                     f"(at most {batch_size}, {IMAGE_SIZE}, {IMAGE_SIZE}, 1)")
                continue
            if x.dtype != np.float32 or not np.issubdtype(y.dtype, np.integer):
                fail("shapes_and_dtypes", f"images are {x.dtype} and labels {y.dtype}; expected "
                     "float32 images and integer labels")
            if x.size and (x.min() < 0 or x.max() > 1):
                fail("shapes_and_dtypes", "image pixels should be scaled to [0, 1]")
            if y.shape != (x.shape[0],):
                fail("shapes_and_dtypes", f"labels of shape {y.shape} for {x.shape[0]} images")
                continue
            ids = decode_ids(x)
            if not np.array_equal(ids, y):
                fail("pairs_intact", "some images arrive with another image's label")
            ids_seen.append(y)
        seen = np.concatenate(ids_seen) if ids_seen else np.array([], np.int64)
        if len(seen) != n or not np.array_equal(np.sort(seen), np.arange(n)):
            missing = len(set(range(n)) - set(seen.tolist()))
            fail("every_item_once", f"epoch {e} holds {len(seen)} items ({missing} of the {n} "
                 "missing, the others repeated or dropped); each item should come exactly once")
        orders.append(seen)
    if len(orders) >= 2 and all(len(o) == n for o in orders):
        if any(np.array_equal(o, np.arange(n)) for o in orders):
            fail("shuffled", "an epoch comes in the original order: the items are not shuffled")
        elif np.array_equal(orders[0], orders[1]):
            fail("shuffled", "two epochs come in the same order: shuffle anew each epoch")
    elif len(orders) >= 2:
        fail("shuffled", "shuffling cannot be checked when items are missing")
    return checks, problems


def items_per_second(make_epoch: Callable[[], Iterable], n: int, epochs: int = 3, rounds: int = 3) -> float:
    """Best of ``rounds`` timings of ``epochs`` full passes (each batch's arrays materialised)."""
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(epochs):
            for x, _y in make_epoch():
                np.asarray(x)
        best = min(best, time.perf_counter() - start)
    return epochs * n / best


def measure_pipeline(make_pipeline: Callable, images: np.ndarray, labels: np.ndarray, batch_size: int,
                     seed: int) -> PipelineReport:
    """Check and time ``make_pipeline``; errors of the student's code propagate to the caller."""
    dataset = make_pipeline(images, labels, batch_size, seed)
    if not hasattr(dataset, "__iter__"):
        raise TypeError(f"make_pipeline returned {type(dataset).__name__}, not a tf.data.Dataset")
    epochs = [[_as_arrays(b) for b in dataset] for _ in range(2)]
    checks, problems = check_epochs(epochs, len(images), batch_size)
    n = len(images)
    fast = items_per_second(lambda: iter(dataset), n)
    slow = items_per_second(lambda: naive_batches(images, labels, batch_size, seed), n, epochs=1)
    return PipelineReport(checks=checks, problems=problems, pipeline_items_per_s=fast,
                          naive_items_per_s=slow)
