"""Score tables: one row per student, for the terminal and the report."""

from __future__ import annotations

import pandas as pd

from ..course import Course
from ..gradebook import read_grades
from ..results import SubmissionResult, read_result


def load_results(course: Course, assignment: str) -> list[SubmissionResult]:
    """Every readable result of ``assignment`` (corrupt files are skipped, to be regraded)."""
    folder = course.results_dir(assignment)
    out = []
    for path in sorted(folder.glob("*.json")):
        try:
            out.append(read_result(path))
        except ValueError:
            continue
    return out


def results_frame(results: list[SubmissionResult], gradebook_totals: dict[str, float] | None = None):
    """One row per student: totals, each part's points, each metric's value, failures."""
    rows = []
    for r in results:
        row: dict[str, object] = {
            "student": r.student,
            "total": round(r.total, 2),
            "max_total": r.max_total,
            "tests": round(r.test_points, 2),
            "model": round(r.model_points, 2),
            "extra_credit": round(r.extra_credit, 2),
            "manual": round(r.manual_points, 2),
            "pending_manual": round(r.pending_points, 2),
        }
        for p in r.parts:
            row[f"points:{p.name}"] = round(p.points, 2)
            if p.kind == "model":
                # keyed by part name (<grade id>:<metric>): several models may share a metric
                row[f"value:{p.name}"] = None if p.value is None else round(p.value, 4)
        row["failures"] = "; ".join(f"{p.name}: {p.reason}" for p in r.failures())
        row["mode"] = r.mode
        row["device"] = r.device
        row["duration_s"] = r.duration_s
        if gradebook_totals is not None:
            row["gradebook_total"] = round(gradebook_totals.get(r.student, float("nan")), 2)
        rows.append(row)
    return pd.DataFrame(rows)


def gradebook_totals(course: Course, assignment: str) -> dict[str, float]:
    """Each student's total score (including extra credit) as nbgrader's gradebook holds it."""
    totals: dict[str, float] = {}
    for g in read_grades(course.db_url, assignment):
        totals[g.student] = totals.get(g.student, 0.0) + g.score
    return totals


def terminal_table(frame: pd.DataFrame, width: int = 60) -> str:
    """A compact score table for the terminal (the first failure of each student, shortened)."""
    if frame.empty:
        return "(no results)"
    cols = ["student", "total", "max_total", "tests", "model", "extra_credit"]
    cols += [c for c in ("manual", "pending_manual") if c in frame.columns and frame[c].any()]
    cols += [c for c in frame.columns if c.startswith("value:")]
    view = frame[cols].copy()
    first = frame["failures"].fillna("").map(lambda f: f.split("; ")[0] if f else "")
    view["first failure"] = first.map(lambda f: f if len(f) <= width else f[: width - 3] + "...")
    return view.to_string(index=False)
