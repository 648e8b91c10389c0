"""Score tables: one row per student, written as CSV and a self-contained HTML page."""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from ..course import Course
from ..gradebook import read_grades
from ..results import PartResult, SubmissionResult, read_result


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


def metric_label(result: SubmissionResult, part: PartResult) -> str:
    """A model part's metric name, prefixed by its grade id when the assignment has several models."""
    grade_ids = {p.name.split(":")[0] for p in result.parts if p.kind == "model"}
    return part.name if len(grade_ids) > 1 else str(part.metric)


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
        }
        for p in r.parts:
            row[f"points:{p.name}"] = round(p.points, 2)
            if p.kind == "model":
                row[f"value:{metric_label(r, p)}"] = None if p.value is None else round(p.value, 4)
        row["failures"] = "; ".join(f"{p.name}: {p.reason}" for p in r.parts
                                    if p.reason and p.points < p.max_points)
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
    cols += [c for c in frame.columns if c.startswith("value:")]
    view = frame[cols].copy()
    first = frame["failures"].fillna("").map(lambda f: f.split("; ")[0] if f else "")
    view["first failure"] = first.map(lambda f: f if len(f) <= width else f[: width - 3] + "...")
    return view.to_string(index=False)


def _html_page(assignment: str, frame: pd.DataFrame, results: list[SubmissionResult]) -> str:
    refs = {}
    for r in results:
        for p in r.parts:
            if p.kind == "model" and metric_label(r, p) not in refs:
                refs[metric_label(r, p)] = (p.reference, p.baseline, p.max_points, p.extra_credit)
    ref_rows = "".join(
        f"<tr><td>{html.escape(m)}</td><td>{ref:.4f}</td><td>{base:.4f}</td>"
        f"<td>{pts:g}{' (extra credit)' if ec else ''}</td></tr>"
        for m, (ref, base, pts, ec) in refs.items()
    )
    table = frame.to_html(index=False, na_rep="", classes="scores", border=0, escape=True)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Grading report: {html.escape(assignment)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; margin-bottom: 2em; }}
th, td {{ padding: 4px 10px; border-bottom: 1px solid #ddd; text-align: left; font-size: 14px; }}
th {{ background: #f3f3f3; }}
</style></head><body>
<h1>Grading report: {html.escape(assignment)}</h1>
<p>{len(results)} submissions graded.</p>
<h2>Model metrics: reference and baseline</h2>
<table><tr><th>metric</th><th>reference</th><th>baseline</th><th>points</th></tr>{ref_rows}</table>
<h2>Scores</h2>
{table}
</body></html>
"""


def write_report(course: Course, assignment: str) -> tuple[Path, Path, pd.DataFrame]:
    """Write ``report.csv`` and ``report.html`` into ``reports/<assignment>/``."""
    results = load_results(course, assignment)
    frame = results_frame(results, gradebook_totals(course, assignment))
    out = course.report_dir(assignment)
    out.mkdir(parents=True, exist_ok=True)
    csv_path, html_path = out / "report.csv", out / "report.html"
    frame.to_csv(csv_path, index=False)
    html_path.write_text(_html_page(assignment, frame, results), encoding="utf-8")
    return csv_path, html_path, frame
