"""The input-pipeline checks on hand-made epochs (fast), and one real tf.data pipeline."""

from __future__ import annotations

import numpy as np
import pytest

from autograder.pipeline_checks import (
    CHECKS,
    PipelineReport,
    check_epochs,
    decode_ids,
    id_coded_images,
)

N, BATCH = 10, 4


def batches(order, *, dtype=np.float32, shape=(28, 28, 1), labels=None):
    images, ids = id_coded_images(N, seed=0)
    x = (images[..., None] / 255.0).astype(dtype)
    out = []
    for start in range(0, len(order), BATCH):
        idx = np.asarray(order[start:start + BATCH])
        xb = x[idx].reshape((len(idx), *shape))
        yb = ids[idx] if labels is None else np.asarray(labels[start:start + BATCH])
        out.append((xb, yb))
    return out


def test_ids_round_trip_beyond_256_items():
    images, ids = id_coded_images(1000, seed=1)
    assert np.array_equal(decode_ids(images[..., None] / 255.0), ids)


def test_a_correct_pipeline_passes_everything():
    rng = np.random.default_rng(0)
    checks, problems = check_epochs([batches(rng.permutation(N)), batches(rng.permutation(N))], N, BATCH)
    assert checks == dict.fromkeys(CHECKS, True) and problems == []


@pytest.mark.parametrize(
    ("epochs", "failed", "says"),
    [
        (lambda: [batches(range(N)), batches(range(N))], {"shuffled"}, "original order"),
        (lambda: [batches([3, 1, 2, 0, 4, 5, 6, 7, 8, 9])] * 2, {"shuffled"}, "same order"),
        (lambda: [batches([3, 1, 2, 0, 4, 5, 6, 7])] * 2, {"every_item_once", "shuffled"}, "2 of the 10"),
        (lambda: [batches([3, 3, 2, 0, 4, 5, 6, 7, 8, 9])] * 2, {"every_item_once", "shuffled"}, "repeated"),
        (lambda: [batches([9, 1, 2, 0, 4, 5, 6, 7, 8, 3], dtype=np.float64)] * 2,
         {"shapes_and_dtypes", "shuffled"}, "float64"),
        (lambda: [batches([9, 1, 2, 0, 4, 5, 6, 7, 8, 3], shape=(28, 28))] * 2,
         {"shapes_and_dtypes", "every_item_once", "shuffled"}, "(4, 28, 28)"),
        (lambda: [batches([9, 1, 2, 0, 4, 5, 6, 7, 8, 3], labels=[1, 9, 2, 0, 4, 5, 6, 7, 8, 3]),
                  batches([2, 9, 1, 0, 4, 5, 6, 7, 8, 3])], {"pairs_intact"}, "another image's label"),
    ],
)
def test_each_failure_is_caught_and_explained(epochs, failed, says):
    checks, problems = check_epochs(epochs(), N, BATCH)
    assert {c for c, ok in checks.items() if not ok} == failed
    assert any(says in p for p in problems), problems


def test_report_values():
    report = PipelineReport(checks=dict.fromkeys(CHECKS, True) | {"shuffled": False},
                            pipeline_items_per_s=800.0, naive_items_per_s=100.0)
    assert report.values() == {"pipeline_correctness": 0.75, "throughput_log2_ratio": 3.0}
    assert PipelineReport(checks=dict.fromkeys(CHECKS, False)).values()["throughput_log2_ratio"] == -10.0


def test_a_real_pipeline_is_measured_faster_than_the_naive_loop():
    import tensorflow as tf

    from autograder.pipeline_checks import measure_pipeline, preprocess

    def make_pipeline(images, labels, batch_size, seed):
        ds = tf.data.Dataset.from_tensor_slices((images, labels)).map(preprocess).cache()
        return ds.shuffle(len(images), seed=seed).batch(batch_size)

    images, ids = id_coded_images(300, seed=2)
    report = measure_pipeline(make_pipeline, images, ids, 32, seed=0)
    assert report.correctness == 1.0 and report.throughput_ratio > 1.5
    with pytest.raises(TypeError, match="not a tf.data.Dataset"):
        measure_pipeline(lambda *a: 42, images, ids, 32, seed=0)
