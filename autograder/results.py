"""Frozen result records and their JSON form.

A :class:`SubmissionResult` is what grading one student's submission produced: one
:class:`PartResult` per graded part (each notebook test cell, each model metric), plus what makes
the result reproducible (seed, data fingerprint, reference version, package versions, device).
Results are written atomically so a crash never leaves a half-written file behind.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .cost import Cost

RESULT_SCHEMA = 1


@dataclass(frozen=True)
class PartResult:
    """The grade of one part of a submission.

    Attributes:
        name: the nbgrader grade id of the cell the points land on, or ``<grade id>:<metric>``
            for a model metric.
        kind: ``"test"`` (a notebook test cell), ``"manual"`` (a cell an instructor grades by
            hand: a manually graded answer or task) or ``"model"`` (a model metric).
        points: points awarded (0 when the part failed).
        max_points: points available (0 for extra credit parts).
        reason: why points were lost, written for the student; empty when all points were earned.
        metric: the metric name for model parts.
        value: the measured metric value, ``None`` when it could not be computed.
        reference: the reference model's value of the metric.
        baseline: the trivial baseline's value of the metric.
        extra_credit: whether the points are extra credit.
        notebook: the notebook the cell is in.
        pending: a manually graded cell nobody has graded yet (its points are still to come;
            never a failure).
        evaluation: how a model part's model was run: ``"safe_mode"`` (loaded by Keras safe mode
            in the grader) or ``"sandbox"`` (run in a sandbox with the notebook's classes, see
            :mod:`autograder.sandboxed_eval`); empty for other parts and older results.
        checked_by: for a test cell whose points a function check decided (``[[checks]]``, see
            :mod:`autograder.check_runs`), the functions checked, comma-separated; else empty.
    """

    name: str
    kind: str
    points: float
    max_points: float
    reason: str = ""
    metric: str | None = None
    value: float | None = None
    reference: float | None = None
    baseline: float | None = None
    extra_credit: bool = False
    notebook: str = ""
    pending: bool = False
    evaluation: str = ""
    checked_by: str = ""


#: the reason of a manually graded cell that nobody has graded yet
AWAITING_MANUAL_GRADE = "awaiting manual grading"


@dataclass(frozen=True)
class SubmissionResult:
    """Everything grading one submission produced."""

    assignment: str
    student: str
    mode: str
    parts: tuple[PartResult, ...]
    device: str
    seed: int
    data_fingerprint: str
    reference_version: str
    duration_s: float
    versions: dict[str, str] = field(default_factory=dict)
    submitted_at: str = ""
    isolation: str = ""  # "bwrap" (namespaces + limits) or "none" (limits only)
    schema: int = RESULT_SCHEMA
    #: what grading it cost (student code, scoring; see :mod:`autograder.cost`); None in results
    #: written before costs were recorded
    cost: Cost | None = None

    @property
    def test_points(self) -> float:
        return sum(p.points for p in self.parts if p.kind == "test")

    @property
    def manual_points(self) -> float:
        """Points of manually graded cells graded so far."""
        return sum(p.points for p in self.parts if p.kind == "manual")

    @property
    def pending_points(self) -> float:
        """Points still to be graded by hand."""
        return sum(p.max_points for p in self.parts if p.pending)

    def failures(self) -> list[PartResult]:
        """Parts that lost points, with a reason (cells awaiting a manual grade are not failures)."""
        return [p for p in self.parts if p.reason and p.points < p.max_points and not p.pending]

    @property
    def model_points(self) -> float:
        return sum(p.points for p in self.parts if p.kind == "model" and not p.extra_credit)

    @property
    def max_model_points(self) -> float:
        return sum(p.max_points for p in self.parts if p.kind == "model" and not p.extra_credit)

    @property
    def extra_credit(self) -> float:
        return sum(p.points for p in self.parts if p.extra_credit)

    @property
    def total(self) -> float:
        return sum(p.points for p in self.parts)

    @property
    def max_total(self) -> float:
        return sum(p.max_points for p in self.parts if not p.extra_credit)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["parts"] = [asdict(p) for p in self.parts]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SubmissionResult:
        if not isinstance(data, dict):
            raise ValueError(f"a result must be a JSON object, got {type(data).__name__}")
        if data.get("schema") != RESULT_SCHEMA:
            raise ValueError(f"unsupported result schema {data.get('schema')!r}")
        fields = dict(data)
        fields["parts"] = tuple(PartResult(**p) for p in data["parts"])
        fields["cost"] = Cost.from_dict(data.get("cost"))
        return cls(**fields)


def write_result(result: SubmissionResult, path: Path) -> None:
    """Write ``result`` to ``path`` atomically (temporary file, fsync, rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(result.to_dict(), fh, indent=2, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_result(path: Path) -> SubmissionResult:
    """Read a result file; raises ``ValueError`` when it is corrupt or partial."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return SubmissionResult.from_dict(data)
    except (json.JSONDecodeError, TypeError, KeyError) as exc:
        raise ValueError(f"corrupt result file {path.name}: {exc}") from exc
