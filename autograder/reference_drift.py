"""How far a retrained reference moved from the committed one, at each level of reproducibility.

Three levels, each checked at its own strictness:

- **byte-identical everywhere**: the students' data files and the data fingerprints (the hidden
  split's and the training split's) are computed from bundled data by integer or exact float
  operations, and so are the scores of a *given* model file;
- **identical on one machine**: a retrained reference's weights (TensorFlow's deterministic ops
  give the same weights run after run on one machine, but its CPU kernels are chosen by
  instruction set, so another CPU generation gives other weights, hence another ``version``);
- **equal within a tolerance across machines**: a retrained reference's metrics.

Grading never retrains the reference: every result records the committed file's ``version``.
Pure functions, no TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: The most a retrained reference's metric may move, as a fraction of the distance between the
#: committed reference and its baseline (the scale students' points are measured on): 0.03 moves
#: a student's points by at most about 3 % of the metric's points.
DRIFT_TOLERANCE = 0.03


@dataclass(frozen=True)
class MetricDrift:
    """One metric of a retrained reference against the committed one."""

    name: str
    committed: float
    rebuilt: float
    #: |committed reference - its nearest baseline|: the scale points are measured on
    span: float

    @property
    def change(self) -> float:
        return self.rebuilt - self.committed

    @property
    def fraction(self) -> float:
        """|change| as a fraction of the points scale (0 when nothing moved)."""
        if self.change == 0:
            return 0.0
        return abs(self.change) / self.span if self.span > 0 else float("inf")

    def within(self, tolerance: float = DRIFT_TOLERANCE) -> bool:
        return self.fraction <= tolerance


@dataclass(frozen=True)
class ReferenceDrift:
    """A retrained reference's ``metrics.json`` against the committed one."""

    metrics: tuple[MetricDrift, ...]
    #: names of fingerprints that differ (data files: must never happen on any machine)
    data_changed: tuple[str, ...]
    #: the retrained weights are the committed ones (expected on the machine that trained them)
    weights_identical: bool
    #: metrics of one file and not of the other
    missing: tuple[str, ...] = ()
    #: training settings of the spec that changed (seed, budget): a new reference is expected then
    settings_changed: tuple[str, ...] = ()

    def within(self, tolerance: float = DRIFT_TOLERANCE) -> bool:
        """The data is unchanged and every metric moved at most ``tolerance`` of its scale."""
        return not self.problems(tolerance)

    def problems(self, tolerance: float = DRIFT_TOLERANCE) -> list[str]:
        """One sentence per thing outside its level's tolerance (empty when all is well)."""
        out = [f"{name} changed: the data the reference is measured on is not the committed data"
               for name in self.data_changed]
        out += [f"metric {name!r} is in only one of the two metrics files" for name in self.missing]
        out += [f"{m.name} moved {m.change:+.4g} ({m.fraction:.1%} of the baseline-to-reference "
                f"scale, tolerance {tolerance:.0%})" for m in self.metrics if not m.within(tolerance)]
        return out

    def summary(self, tolerance: float = DRIFT_TOLERANCE) -> str:
        """One line for ``autograder train-reference``."""
        moves = ", ".join(f"{m.name} {m.change:+.4f} ({m.fraction:.1%} of its scale)" for m in self.metrics)
        weights = ("weights identical to the previous ones" if self.weights_identical else
                   "weights differ from the previous ones (expected on another CPU generation or a GPU)")
        if self.settings_changed:
            return (f"against the previous metrics: {moves or 'no metrics'}; the spec's "
                    f"{' and '.join(self.settings_changed)} changed, so a new reference was expected")
        problems = self.problems(tolerance)
        verdict = "within tolerance" if not problems else "OUTSIDE tolerance: " + "; ".join(problems)
        return f"against the previous metrics: {moves or 'no metrics'}; {weights}; {verdict}"


FINGERPRINTS = ("data_fingerprint", "train_fingerprint")


def compare_metrics(committed: dict[str, Any], rebuilt: dict[str, Any]) -> ReferenceDrift:
    """Compare two ``metrics.json`` payloads (as written by ``train-reference``)."""
    data_changed = tuple(k for k in FINGERPRINTS if committed.get(k) != rebuilt.get(k))
    if committed.get("student_files") != rebuilt.get("student_files"):
        data_changed += ("student_files",)
    old, new = committed.get("reference", {}), rebuilt.get("reference", {})
    drifts = []
    for name in sorted(set(old) & set(new)):
        baselines = committed.get("baseline", {}).get(name, {}).values()
        span = min((abs(old[name] - b) for b in baselines), default=abs(old[name]))
        drifts.append(MetricDrift(name, float(old[name]), float(new[name]), float(span)))
    return ReferenceDrift(
        metrics=tuple(drifts), data_changed=data_changed,
        weights_identical=committed.get("version") == rebuilt.get("version"),
        missing=tuple(sorted(set(old) ^ set(new))),
        settings_changed=tuple(k for k in ("seed", "budget") if committed.get(k) != rebuilt.get(k)),
    )
