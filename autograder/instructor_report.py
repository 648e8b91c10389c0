"""The instructor report of an assignment: results, gradebook and (optionally) model pictures.

Joins :mod:`autograder.pictures` (which runs saved models, TensorFlow) with
:mod:`autograder.reports` (which knows nothing of TensorFlow).
"""

from __future__ import annotations

from .course import Course
from .reports import WrittenReport, load_results, write_reports


def make_report(course: Course, assignment: str, formats: tuple[str, ...] | None = None,
                pictures: bool = True) -> WrittenReport:
    """Write ``reports/<assignment>/``; with ``pictures``, run each saved model on hidden data."""
    by_model, notes = None, ()
    if pictures:
        from .pictures import class_pictures

        students = [r.student for r in load_results(course, assignment)]
        found = class_pictures(course, assignment, students) if students else None
        if found is not None:
            by_model, notes = found.by_model, ((found.note,) if found.note else ())
    return write_reports(course, assignment, formats, by_model, notes)
