"""Writing an assignment's report folder: ``reports/<assignment>/``.

Files: ``report.html`` (self-contained), tables as CSV and/or Parquet (``report``, ``parts``,
``models``, ``failures``, ``runs``), ``figures/*.png``, ``nbgrader_export.csv`` (what
``nbgrader export`` writes, for this assignment) and ``lms.csv`` (student id, total, one column
per assignment of the gradebook).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..course import Course
from ..gradebook import export_grades
from ..pictures import Pictures
from .export import default_formats, lms_frame, write_tables
from .page import render_page
from .report import Report, build_report
from .table import gradebook_totals, load_results


@dataclass(frozen=True)
class WrittenReport:
    """What :func:`write_reports` wrote, and the report it wrote."""

    folder: Path
    files: tuple[Path, ...]
    report: Report

    @property
    def frame(self) -> pd.DataFrame:
        return self.report.scores


def write_reports(course: Course, assignment: str, formats: tuple[str, ...] | None = None,
                  pictures: dict[str, dict[str, Pictures]] | None = None,
                  notes: tuple[str, ...] = ()) -> WrittenReport:
    """Build the report of ``assignment`` from its results and gradebook, and write its files."""
    formats = formats or default_formats()
    report = build_report(assignment, load_results(course, assignment),
                          gradebook_totals(course, assignment), pictures, notes)
    folder = course.report_dir(assignment)
    folder.mkdir(parents=True, exist_ok=True)
    files = write_tables(report.tables(), folder, formats)
    files += write_figures(report, folder / "figures")
    if "html" in formats:
        files.append(folder / "report.html")
        files[-1].write_text(render_page(report), encoding="utf-8")
    if "nbgrader" in formats or "lms" in formats:
        files += write_exports(course, assignment, folder, formats)
    return WrittenReport(folder, tuple(files), report)


def write_figures(report: Report, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.png"):
        stale.unlink()
    out = []
    for fig in report.figures:
        out.append(folder / f"{fig.stem}.png")
        out[-1].write_bytes(fig.png)
    return out


def write_exports(course: Course, assignment: str, folder: Path, formats: tuple[str, ...]) -> list[Path]:
    """nbgrader's own export CSV of this assignment, and the LMS sheet of every assignment."""
    out = []
    everything = folder / ".nbgrader_export_all.csv"
    export_grades(course.db_url, everything)
    try:
        text = everything.read_text(encoding="utf-8")
        if "nbgrader" in formats:
            # nbgrader's lines, untouched: the header and this assignment's rows
            lines = text.splitlines(keepends=True)
            out.append(folder / "nbgrader_export.csv")
            out[-1].write_text(lines[0] + "".join(x for x in lines[1:] if x.split(",")[0] == assignment),
                               encoding="utf-8")
        if "lms" in formats:
            out.append(folder / "lms.csv")
            lms_frame(pd.read_csv(everything, dtype={"student_id": str})).to_csv(out[-1], index=False)
    finally:
        everything.unlink(missing_ok=True)
    return out


def write_report(course: Course, assignment: str) -> tuple[Path, Path, pd.DataFrame]:
    """Write the report in every format; returns ``report.csv``, ``report.html`` and the scores."""
    written = write_reports(course, assignment)
    return written.folder / "report.csv", written.folder / "report.html", written.frame
