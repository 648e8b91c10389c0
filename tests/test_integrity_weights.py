"""Shared models from weights: identical files, same weights, near-identical and fine-tuned ones."""

from __future__ import annotations

import numpy as np

from autograder.integrity.weights import (
    INDEPENDENT,
    layer_distances,
    sample,
    shared_models,
    summarize,
    weights_hash,
)


def trained(seed: int, width: int = 16) -> list[np.ndarray]:
    """Weights of an independently trained dense net (random, as different initialisations are)."""
    rng = np.random.default_rng(seed)
    return [rng.normal(0, 0.3, (8, width)).astype("float32"), rng.normal(0, 0.1, width).astype("float32"),
            rng.normal(0, 0.3, (width, 3)).astype("float32"), rng.normal(0, 0.1, 3).astype("float32")]


def nudged(weights: list[np.ndarray], scale: float, seed: int = 99) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [(w + rng.normal(0, scale * float(np.std(w)), w.shape)).astype("float32") for w in weights]


def test_hashes_ignore_names_and_sampling_lines_up():
    w = trained(0)
    assert weights_hash(w) == weights_hash([a.copy() for a in w]) != weights_hash(trained(1))
    big = np.arange(10_000, dtype="float32").reshape(100, 100)
    assert np.array_equal(sample(big, 50), sample(big.copy(), 50)) and len(sample(big, 50)) == 50
    assert np.allclose(layer_distances(w, w), 0)
    assert np.all(layer_distances(trained(0), trained(1)) > 0.8)


def test_each_kind_is_found_and_independent_models_are_not():
    honest = {f"honest{i}": trained(i) for i in range(8)}
    honest["wide"] = trained(50, width=32)  # another architecture: compared with nobody
    summaries = [summarize(s, "m", f"file-{s}", w) for s, w in honest.items()]
    summaries += [
        summarize("copier", "m", "file-honest0", honest["honest0"]),           # the same file
        summarize("resaver", "m", "file-resaved", honest["honest1"]),          # other bytes, same weights
        summarize("rounder", "m", "file-rounded", nudged(honest["honest2"], 1e-5)),
        summarize("tuner", "m", "file-tuned", nudged(honest["honest3"], 0.05)),  # trained on a little
    ]
    pairs, nearest = shared_models(summaries)
    found = {(p.kind, p.student_a, p.student_b) for p in pairs}
    assert found == {("identical_file", "copier", "honest0"), ("same_weights", "honest1", "resaver"),
                     ("near_identical_weights", "honest2", "rounder"), ("fine_tuned", "honest3", "tuner")}
    tuned = next(p for p in pairs if p.kind == "fine_tuned")
    assert tuned.distance < tuned.threshold < tuned.reference and len(tuned.layers) == 4
    assert 0.8 < tuned.reference < 1.2  # the class's independent trainings
    near = {n.student: n for n in nearest}
    assert near["tuner"].nearest == "honest3" and "wide" not in near  # alone in its architecture


def test_models_are_compared_per_model_name():
    w = trained(0)
    pairs, _ = shared_models([summarize("a", "encoder", "f1", w), summarize("b", "decoder", "f2", w)])
    assert pairs == []


def test_a_small_class_uses_the_independence_distance():
    pairs, nearest = shared_models([summarize("a", "m", "f1", trained(0)),
                                    summarize("b", "m", "f2", nudged(trained(0), 0.05))])
    assert [p.kind for p in pairs] == ["fine_tuned"] and pairs[0].reference == INDEPENDENT
    assert {n.student: n.nearest for n in nearest} == {"a": "b", "b": "a"}


def test_all_zero_arrays_have_distance_zero():
    zeros = [np.zeros((2, 2), "float32")]
    assert layer_distances(zeros, zeros).tolist() == [0.0]
