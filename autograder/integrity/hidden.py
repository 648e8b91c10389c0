"""Possible training on the hidden data: a model's hidden-split score against its public-split one.

A model trained honestly does about as well, or worse, on data it never saw (the hidden split)
than on the data it was trained on (the students' public split): its *gap*, hidden score minus
public score in the metric's better direction, sits with the class's. A model that saw the hidden
split while training (for instance, rows of a public file the hidden split was drawn from) has a
gap far above the class's. Flagged: a gap above

    median + max(K * 1.4826 * MAD, K * 0.1 * |median|, REL_FLOOR * median |public score|)

where median and MAD (median absolute deviation) are those of the class's gaps, each distinct
model counted once (copies of one model count once). The floors keep a class whose models all
score alike (a MAD of zero) from flagging noise. This is a
signal for an instructor to look into, not proof.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

#: how many robust standard deviations above the class's median gap is flagged
K = 3.0
#: the smallest flagged excess over the median gap, relative to the class's typical public score
REL_FLOOR = 0.05
#: distinct models needed to estimate the class's gaps
MIN_MODELS = 5


@dataclass(frozen=True)
class ScoreGap:
    """One model's metric on the public split and on the hidden split.

    Attributes:
        student: whose model.
        model: the model's name.
        metric: the task metric (the spec's first graded metric).
        higher_is_better: the metric's direction.
        public: the value on the students' own (public) split.
        hidden: the value on the hidden split.
        weights_sha256: the model's weights hash (copies of one model count once in the class).
    """

    student: str
    model: str
    metric: str
    higher_is_better: bool
    public: float
    hidden: float
    weights_sha256: str = ""

    @property
    def gap(self) -> float:
        """How much better the model does on the hidden split than on the public one."""
        diff = self.hidden - self.public
        return diff if self.higher_is_better else -diff


@dataclass(frozen=True)
class HiddenFlag:
    """A model whose hidden-split score is better than its public one by more than the class's
    spread."""

    student: str
    model: str
    metric: str
    public: float
    hidden: float
    gap: float
    median_gap: float
    threshold: float


@dataclass(frozen=True)
class GapStats:
    """The class's gaps of one model: their median, robust spread and the flagging threshold."""

    model: str
    models: int
    median: float
    spread: float
    threshold: float


def gap_stats(gaps: Iterable[ScoreGap], k: float = K, rel_floor: float = REL_FLOOR) -> GapStats | None:
    """The class's median gap and threshold (None with fewer than :data:`MIN_MODELS` distinct
    models, or no finite scores)."""
    gaps = [g for g in gaps if np.isfinite(g.public) and np.isfinite(g.hidden)]
    distinct = {g.weights_sha256 or g.student: g for g in gaps}
    if len(distinct) < MIN_MODELS:
        return None
    values = np.array([g.gap for g in distinct.values()])
    median = float(np.median(values))
    mad = 1.4826 * float(np.median(np.abs(values - median)))
    typical = float(np.median(np.abs([g.public for g in distinct.values()])))
    spread = max(mad, 0.1 * abs(median), rel_floor * typical / k, 1e-12)
    model = next(iter(distinct.values())).model
    return GapStats(model=model, models=len(distinct), median=median, spread=spread,
                    threshold=median + k * spread)


def hidden_data_flags(gaps: Iterable[ScoreGap], k: float = K,
                      rel_floor: float = REL_FLOOR) -> tuple[list[HiddenFlag], list[GapStats]]:
    """Models whose gap is above their class's threshold, per model name; and each model's
    class statistics."""
    by_model: dict[str, list[ScoreGap]] = {}
    for g in gaps:
        by_model.setdefault(g.model, []).append(g)
    flags, stats = [], []
    for _model, group in sorted(by_model.items()):
        found = gap_stats(group, k, rel_floor)
        if found is None:
            continue
        stats.append(found)
        for g in sorted(group, key=lambda g: g.student):
            if np.isfinite(g.gap) and g.gap > found.threshold:
                flags.append(HiddenFlag(g.student, g.model, g.metric, g.public, g.hidden,
                                        round(g.gap, 6), round(found.median, 6), round(found.threshold, 6)))
    return flags, stats
