"""Long and summary tables of one assignment's results (pandas), keyed by part name.

Model parts are named ``<grade id>:<metric>``, so an assignment with several models that share
metric names keeps one column, row and plot per model metric.
"""

from __future__ import annotations

import pandas as pd

from ..results import SubmissionResult

PART_COLUMNS = ["student", "part", "kind", "notebook", "metric", "value", "reference", "baseline",
                "points", "max_points", "extra_credit", "pending", "reason"]


def parts_frame(results: list[SubmissionResult]) -> pd.DataFrame:
    """One row per (student, part): points, and for model parts the metric next to its targets."""
    rows = [
        {"student": r.student, "part": p.name, "kind": p.kind, "notebook": p.notebook,
         "metric": p.metric, "value": p.value, "reference": p.reference, "baseline": p.baseline,
         "points": p.points, "max_points": p.max_points, "extra_credit": p.extra_credit,
         "pending": p.pending, "reason": p.reason}
        for r in results for p in r.parts
    ]
    return pd.DataFrame(rows, columns=PART_COLUMNS)


def model_parts_summary(parts: pd.DataFrame) -> pd.DataFrame:
    """Per model part: its reference and baseline, and the class's measured values."""
    columns = ["part", "metric", "reference", "baseline", "max_points", "extra_credit", "measured",
               "median", "best", "worst"]
    model = parts[parts["kind"] == "model"]
    rows = []
    for name, group in model.groupby("part", sort=True):
        values = group["value"].dropna().astype(float)
        first = group.iloc[0]
        rows.append({
            "part": name, "metric": first["metric"], "reference": first["reference"],
            "baseline": first["baseline"], "max_points": first["max_points"],
            "extra_credit": bool(first["extra_credit"]), "measured": len(values),
            "median": values.median() if len(values) else None,
            "best": _best(values, first), "worst": _best(values, first, worst=True),
        })
    return pd.DataFrame(rows, columns=columns)


def _best(values: pd.Series, part: pd.Series, worst: bool = False) -> float | None:
    if not len(values):
        return None
    ref, base = part["reference"], part["baseline"]
    higher_is_better = ref is None or base is None or ref >= base
    return values.max() if higher_is_better != worst else values.min()


def failures_frame(parts: pd.DataFrame) -> pd.DataFrame:
    """Every part that lost points, with the reason the student reads (cells awaiting a manual
    grade are not failures)."""
    lost = parts[(parts["points"] < parts["max_points"]) & (parts["reason"] != "") & ~parts["pending"]]
    return lost[["student", "part", "points", "max_points", "reason"]].reset_index(drop=True)


def runs_frame(results: list[SubmissionResult]) -> pd.DataFrame:
    """How each submission was graded: time, device, mode, isolation."""
    rows = [{"student": r.student, "duration_s": round(r.duration_s, 2), "device": r.device,
             "mode": r.mode, "isolation": r.isolation, "submitted_at": r.submitted_at}
            for r in results]
    return pd.DataFrame(rows, columns=["student", "duration_s", "device", "mode", "isolation",
                                       "submitted_at"])


#: the columns of one kind of work's usage in :func:`costs_frame`
USAGE_COLUMNS = ("cpu_s", "wall_s", "peak_memory_mb", "gpu_s")
_KINDS = ("total", "student", "scoring")
_USAGE = [f"{kind}_{c}" for kind in _KINDS for c in USAGE_COLUMNS]
COST_COLUMNS = ["student", *_USAGE, "over_budget"]


def costs_frame(results: list[SubmissionResult]) -> pd.DataFrame:
    """What grading each submission cost (its student code, its scoring, both), most expensive
    first (total CPU seconds, then wall seconds); results written before costs were recorded have
    no row."""
    rows = []
    for r in results:
        if r.cost is None:
            continue
        row: dict = {"student": r.student, "over_budget": r.cost.over_budget}
        for kind, usage in zip(_KINDS, (r.cost.total, r.cost.student, r.cost.scoring), strict=True):
            row.update({f"{kind}_{c}": getattr(usage, c) for c in USAGE_COLUMNS})
        rows.append(row)
    frame = pd.DataFrame(rows, columns=COST_COLUMNS)
    frame = frame.sort_values(["total_cpu_s", "total_wall_s"], ascending=False, kind="stable")
    return frame.reset_index(drop=True)


def cost_totals(costs: pd.DataFrame) -> pd.DataFrame:
    """One row: the assignment's cost over all its submissions (seconds summed, the largest peak
    memory, GPU seconds only where a GPU was in play) and how many went over the budget."""
    columns = ["submissions", *_USAGE, "over_budget"]
    if costs.empty:
        return pd.DataFrame([], columns=columns)
    row: dict = {"submissions": len(costs), "over_budget": int((costs["over_budget"] != "").sum())}
    for kind in _KINDS:
        for c in USAGE_COLUMNS:
            values = costs[f"{kind}_{c}"].dropna().astype(float)
            row[f"{kind}_{c}"] = (None if not len(values) else
                                  round(values.max() if c == "peak_memory_mb" else values.sum(), 3))
    return pd.DataFrame([row], columns=columns)
