"""What grading one submission cost, and the per-submission budget an instructor may set.

A submission's :class:`Cost` has two :class:`Usage` records:

* ``student``: the student's code: the notebook's kernels during ``nbgrader autograde``, the
  training child of ``train`` mode, a task's own sandboxed runs of notebook code;
* ``scoring``: the grader's evaluation of the model: loading it and computing its metrics in the
  grading process, and the sandboxes that run models needing the notebook's own classes.

What each number means (see :mod:`autograder.runner.metering` for how it is measured):

* ``cpu_s``: CPU seconds (user + system) of the processes involved;
* ``wall_s``: seconds from start to end of those processes (kernels' lives, the training child,
  the time the grader spent scoring);
* ``peak_memory_mb``: the largest resident memory seen, in MB (the sum over a sandbox's process
  tree; for in-process scoring the grading process's own peak, which includes its TensorFlow and
  the hidden split it keeps loaded);
* ``gpu_s``: wall seconds during which the processes held a GPU (a sandbox's process had a GPU
  device open; in-process scoring on a worker that owns a GPU); ``None`` where no GPU was in play.

Pure: dataclasses and arithmetic, no measuring here.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

#: what a budget overrun does: ``zero`` gives the model parts 0 points with the overrun as the
#: reason (as a training that exceeds a limit does); ``flag`` keeps the points and only records it
BUDGET_ACTIONS = ("zero", "flag")


@dataclass(frozen=True)
class Usage:
    """Resources one kind of work used (CPU and wall seconds, peak memory, GPU seconds)."""

    cpu_s: float = 0.0
    wall_s: float = 0.0
    peak_memory_mb: float = 0.0
    gpu_s: float | None = None

    def plus(self, other: Usage, *, wall: bool = True) -> Usage:
        """Both together: seconds add up, the peak is the larger one; ``wall=False`` keeps this
        wall time (``other`` ran while this was being timed)."""
        gpu = None
        if self.gpu_s is not None or other.gpu_s is not None:
            gpu = (self.gpu_s or 0.0) + (other.gpu_s or 0.0)
        return Usage(
            cpu_s=round(self.cpu_s + other.cpu_s, 3),
            wall_s=round(self.wall_s + (other.wall_s if wall else 0.0), 3),
            peak_memory_mb=round(max(self.peak_memory_mb, other.peak_memory_mb), 1),
            gpu_s=None if gpu is None else round(gpu, 3),
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Usage:
        data = data or {}
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})


@dataclass(frozen=True)
class Cost:
    """What grading one submission cost: its student code and its scoring.

    Attributes:
        student: the student's code (kernels, training).
        scoring: evaluating the model and computing its metrics.
        over_budget: why the submission went over the assignment's ``[cost]`` budget, or ''.
    """

    student: Usage = field(default_factory=Usage)
    scoring: Usage = field(default_factory=Usage)
    over_budget: str = ""

    @property
    def total(self) -> Usage:
        return self.student.plus(self.scoring)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Cost | None:
        """The cost of a result file; ``None`` for results written before costs were recorded."""
        if not data:
            return None
        return cls(student=Usage.from_dict(data.get("student")),
                   scoring=Usage.from_dict(data.get("scoring")),
                   over_budget=str(data.get("over_budget", "")))


@dataclass(frozen=True)
class CostBudget:
    """``[cost]`` in spec.toml: what one submission may cost in total (student code + scoring).

    Every key is optional; an unset key is no budget. The hard, per-process limits stay in
    ``[limits]`` (they stop the code); this budget is checked once the submission is graded.

    Attributes:
        cpu_s: CPU seconds.
        wall_s: wall seconds.
        memory_mb: peak resident memory (MB).
        gpu_s: GPU seconds.
        action: ``zero`` (default) or ``flag``, see :data:`BUDGET_ACTIONS`.
    """

    cpu_s: float | None = None
    wall_s: float | None = None
    memory_mb: float | None = None
    gpu_s: float | None = None
    action: str = "zero"

    @property
    def is_set(self) -> bool:
        return any(v is not None for v in (self.cpu_s, self.wall_s, self.memory_mb, self.gpu_s))


def budget_overrun(budget: CostBudget, cost: Cost) -> str:
    """Why ``cost`` is over ``budget``, written for the student, or '' when it is within it."""
    total = cost.total
    checks = (
        ("CPU time", total.cpu_s, budget.cpu_s, "s"),
        ("wall time", total.wall_s, budget.wall_s, "s"),
        ("peak memory", total.peak_memory_mb, budget.memory_mb, "MB"),
        ("GPU time", total.gpu_s, budget.gpu_s, "s"),
    )
    over = [f"{what} {used:.1f} {unit} > {limit:g} {unit}" for what, used, limit, unit in checks
            if limit is not None and used is not None and used > limit]
    if not over:
        return ""
    return f"over the assignment's cost budget per submission: {', '.join(over)}"
