"""Model similarity from saved weights: pure numpy, no TensorFlow.

Each saved model is reduced to a :class:`ModelSummary` (hashes, the ordered list of weight shapes,
and each weight array, sampled to at most :data:`MAX_VALUES` values), so the pass over pairs keeps
one summary per student, never a matrix of pairs. Four kinds of shared models are told apart:

* ``identical_file``: the same bytes (SHA-256 of the file);
* ``same_weights``: different files holding the same weight arrays, in order (names ignored: a
  model re-saved, or its weights copied into a new model with renamed layers);
* ``near_identical_weights``: the same architecture and a pair distance under :data:`NEAR`;
* ``fine_tuned``: the same architecture and a pair distance under ``ratio`` times the class's
  median distance between independently trained models (a model trained on from another one
  stays far closer to it than two independent trainings ever are).

The distance of two models is the median, over their weight arrays, of the normalized distance
``||a - b|| / sqrt(||a||^2 + ||b||^2)``: 0 for equal arrays, about 1 for independent ones
(uncorrelated values), at most sqrt(2). The median keeps one array that independent trainings
agree on (a classifier's output biases learn the same class frequencies) from deciding.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

#: weight values kept per array (a fixed sample of larger arrays, the same positions for everyone)
MAX_VALUES = 4096
#: distances at or below this are "near identical" (re-saved at lower precision, tiny noise)
NEAR = 1e-3
#: a pair closer than RATIO x the class's median distance of independent models is "fine_tuned"
RATIO = 0.5
#: the median distance of independent models when the class has too few of them to measure it
INDEPENDENT = 1.0
#: pairs of independent models needed to use the class's own median
MIN_PAIRS = 3
#: histogram bins of pair distances in [0, sqrt(2)] (the streaming median)
BINS = 2048
KINDS = ("identical_file", "same_weights", "near_identical_weights", "fine_tuned")


@dataclass(frozen=True)
class ModelSummary:
    """What the pair pass keeps of one student's saved model.

    Attributes:
        student: whose model.
        model: the model's name (its task cell's grade id, or its part).
        file_sha256: the file's hash.
        weights_sha256: a hash of the weight arrays in order (shapes, dtypes, values; no names).
        shapes: each weight array's shape, in order: the architecture, as far as weights tell.
        samples: each array's values (float32, flattened, sampled to :data:`MAX_VALUES`).
    """

    student: str
    model: str
    file_sha256: str
    weights_sha256: str
    shapes: tuple[tuple[int, ...], ...]
    samples: tuple[np.ndarray, ...]


@dataclass(frozen=True)
class ModelPair:
    """Two students' models of one model part that look shared.

    Attributes:
        model: the model's name.
        kind: one of :data:`KINDS`.
        student_a: the first student (in name order).
        student_b: the second.
        distance: the pair's distance (0 for identical files and weights).
        threshold: the distance under which ``kind`` is flagged (0 for exact matches).
        reference: the class's median distance of independent models of that architecture.
        layers: each weight array's normalized distance, in order.
    """

    model: str
    kind: str
    student_a: str
    student_b: str
    distance: float
    threshold: float
    reference: float
    layers: tuple[float, ...] = ()


@dataclass(frozen=True)
class Nearest:
    """A student's closest classmate by weights (same architecture), for the report."""

    model: str
    student: str
    nearest: str
    distance: float
    reference: float


def weights_hash(arrays: Sequence[np.ndarray]) -> str:
    """SHA-256 of weight arrays in order: shapes, dtypes and bytes (layer names play no part)."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.shape}{a.dtype};".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def sample(array: np.ndarray, max_values: int = MAX_VALUES) -> np.ndarray:
    """``array`` flattened as float32, or a fixed sample of it: the same positions for every array
    of the same shape, so two students' samples line up."""
    flat = np.asarray(array, dtype=np.float32).ravel()
    if flat.size <= max_values:
        return flat.copy()
    rng = np.random.default_rng(zlib.crc32(repr(np.shape(array)).encode()))
    return flat[np.sort(rng.choice(flat.size, max_values, replace=False))]


def summarize(student: str, model: str, file_sha256: str, arrays: Sequence[np.ndarray],
              max_values: int = MAX_VALUES) -> ModelSummary:
    """The summary of one model from its file's hash and its weight arrays (``get_weights()``)."""
    arrays = [np.asarray(a) for a in arrays]
    return ModelSummary(student=student, model=model, file_sha256=file_sha256,
                        weights_sha256=weights_hash(arrays),
                        shapes=tuple(tuple(int(d) for d in a.shape) for a in arrays),
                        samples=tuple(sample(a, max_values) for a in arrays))


def layer_distances(a: Sequence[np.ndarray], b: Sequence[np.ndarray]) -> np.ndarray:
    """The normalized distance of each pair of arrays (0 where both are all zeros)."""
    out = []
    for x, y in zip(a, b, strict=True):
        x, y = np.asarray(x, dtype=np.float64).ravel(), np.asarray(y, dtype=np.float64).ravel()
        scale = float(np.dot(x, x) + np.dot(y, y))
        out.append(0.0 if scale == 0 else float(np.sqrt(max(0.0, np.sum((x - y) ** 2) / scale))))
    return np.array(out)


def shared_models(summaries: Iterable[ModelSummary], *, ratio: float = RATIO, near: float = NEAR,
                  min_pairs: int = MIN_PAIRS) -> tuple[list[ModelPair], list[Nearest]]:
    """Every pair of models (of the same model name) that looks shared, and each student's nearest
    classmate.

    Two passes over the pairs of each architecture, one row of distances at a time: the first
    builds a histogram of the distances of pairs with different weights (its median is the
    class's distance of independent trainings), the second flags pairs under the thresholds.
    Memory: the summaries, a histogram and one row; never a matrix of pairs.
    """
    pairs: list[ModelPair] = []
    nearest: list[Nearest] = []
    by_model: dict[str, list[ModelSummary]] = {}
    for s in summaries:
        by_model.setdefault(s.model, []).append(s)
    for model, group in sorted(by_model.items()):
        group = sorted(group, key=lambda s: s.student)
        pairs += exact_pairs(model, group)
        by_arch: dict[tuple, list[ModelSummary]] = {}
        for s in group:
            by_arch.setdefault(s.shapes, []).append(s)
        for members in by_arch.values():
            found, near_by = _close_pairs(model, members, ratio=ratio, near=near, min_pairs=min_pairs)
            pairs += found
            nearest += near_by
    order = {k: i for i, k in enumerate(KINDS)}
    pairs.sort(key=lambda p: (p.model, order[p.kind], p.distance, p.student_a, p.student_b))
    nearest.sort(key=lambda n: (n.model, n.student))
    return pairs, nearest


def exact_pairs(model: str, group: Sequence[ModelSummary]) -> list[ModelPair]:
    """Pairs with the same file bytes (``identical_file``) or, in different files, the same
    weights (``same_weights``)."""
    out = []
    by_weights: dict[str, list[ModelSummary]] = {}
    for s in group:
        by_weights.setdefault(s.weights_sha256, []).append(s)
    for same in by_weights.values():
        for i, j in _upper(len(same)):
            a, b = same[i], same[j]
            kind = "identical_file" if a.file_sha256 == b.file_sha256 else "same_weights"
            out.append(ModelPair(model, kind, a.student, b.student, 0.0, 0.0, 0.0))
    # the same file bytes with different weights cannot happen; files are compared by hash only
    return out


def _close_pairs(model: str, members: Sequence[ModelSummary], *, ratio: float, near: float,
                 min_pairs: int) -> tuple[list[ModelPair], list[Nearest]]:
    n = len(members)
    if n < 2:
        return [], []
    stacks = [np.stack([m.samples[layer] for m in members]) for layer in range(len(members[0].shapes))]
    norms = [np.einsum("ij,ij->i", s, s).astype(np.float64) for s in stacks]
    hashes = np.array([m.weights_sha256 for m in members])
    hist = np.zeros(BINS, dtype=np.int64)
    best = np.full(n, np.inf)
    best_at = np.full(n, -1)
    for i, row in _rows(stacks, norms):
        others = np.arange(i + 1, n)
        hist += np.histogram(row[hashes[others] != hashes[i]], bins=BINS, range=(0.0, np.sqrt(2.0)))[0]
        k = int(np.argmin(row))
        if row[k] < best[i]:
            best[i], best_at[i] = row[k], others[k]
        closer = row < best[others]
        best[others[closer]], best_at[others[closer]] = row[closer], i
    counted = int(hist.sum())
    reference = _hist_median(hist) if counted >= min_pairs else INDEPENDENT
    threshold = ratio * reference
    out = []
    for i, row in _rows(stacks, norms):
        others = np.arange(i + 1, n)
        # the row (dot products in float32) screens; the flagged pairs' distances are recomputed
        for j in others[(row < threshold * 1.01 + 1e-3) & (hashes[others] != hashes[i])]:
            layers = layer_distances([s[i] for s in stacks], [s[j] for s in stacks])
            d = float(np.median(layers))
            if d >= threshold:
                continue
            kind = "near_identical_weights" if d <= near else "fine_tuned"
            out.append(ModelPair(model, kind, members[i].student, members[j].student, round(d, 6),
                                 round(near if kind == "near_identical_weights" else threshold, 6),
                                 round(reference, 6), tuple(round(float(x), 6) for x in layers)))
    nearest = []
    for i in range(n):  # the distance recomputed exactly (the rows' dot products are float32)
        j = int(best_at[i])
        exact = float(np.median(layer_distances([s[i] for s in stacks], [s[j] for s in stacks])))
        nearest.append(Nearest(model, members[i].student, members[j].student, round(exact, 6),
                               round(reference, 6)))
    return out, nearest


def _rows(stacks: list[np.ndarray], norms: list[np.ndarray]) -> Iterator[tuple[int, np.ndarray]]:
    """For each model ``i``, the pair distances to models ``i+1 ..`` (median over arrays)."""
    n = len(norms[0])
    for i in range(n - 1):
        per_layer = []
        for stack, norm in zip(stacks, norms, strict=True):
            dots = stack[i + 1:] @ stack[i]
            scale = norm[i + 1:] + norm[i]
            sq = np.where(scale > 0, (scale - 2 * dots) / np.where(scale > 0, scale, 1.0), 0.0)
            per_layer.append(np.sqrt(np.clip(sq, 0.0, None)))
        yield i, np.median(np.stack(per_layer), axis=0)


def _hist_median(hist: np.ndarray) -> float:
    """The median of values counted in ``hist`` (bins over [0, sqrt(2)]), at a bin's centre."""
    cumulative = np.cumsum(hist)
    k = int(np.searchsorted(cumulative, cumulative[-1] / 2.0))
    width = np.sqrt(2.0) / len(hist)
    return float((k + 0.5) * width)


def _upper(n: int) -> Iterator[tuple[int, int]]:
    for i in range(n):
        for j in range(i + 1, n):
            yield i, j
