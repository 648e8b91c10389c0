"""The only module that talks to nbgrader's gradebook database.

Model scores land on the notebook's *task cell* (``spec.model_grade_id``) as the cell's manual
score, extra credit in nbgrader's own ``extra_credit`` column, and the explanation as the cell's
comment. So ``nbgrader export`` and formgrader show model points next to the test-cell points.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._env import ensure_tools_on_path
from .errors import AutograderError
from .results import PartResult, SubmissionResult
from .spec import GradingSpec


@dataclass(frozen=True)
class GradeRow:
    """One grade of one student's submission, as nbgrader stores it."""

    student: str
    assignment: str
    notebook: str
    cell: str
    score: float
    max_score: float
    extra_credit: float
    auto_score: float | None
    manual_score: float | None


def record_model_scores(db_url: str, spec: GradingSpec, result: SubmissionResult) -> None:
    """Write a result's model points (and extra credit) into the gradebook, one task cell per model."""
    from nbgrader.api import Gradebook

    ensure_tools_on_path()
    ensure_submission(db_url, result.assignment, result.student)
    with Gradebook(db_url) as gb:
        for model in spec.models():
            prefix = f"{model.model_grade_id}:"
            parts = [p for p in result.parts if p.kind == "model" and p.name.startswith(prefix)]
            _record_cell(gb, model, result, parts)
        gb.db.commit()


def record_check_scores(db_url: str, result: SubmissionResult) -> None:
    """Write the points of the test cells that function checks decided (``PartResult.checked_by``)
    onto those cells, as their manual score, with the check's reason as the cell's comment.

    nbgrader's own score of the cell (what the cell did in the student's kernel) stays in
    ``auto_score``; the manual score is what nbgrader then counts."""
    from nbgrader.api import Gradebook, MissingEntry

    parts = [p for p in result.parts if p.checked_by]
    if not parts:
        return
    ensure_tools_on_path()
    with Gradebook(db_url) as gb:
        for p in parts:
            cell = p.name.rsplit("/", 1)[-1]
            try:
                grade = gb.find_grade(cell, p.notebook, result.assignment, result.student)
            except MissingEntry:
                continue  # the cell is not in this submission's gradebook: nothing to correct
            grade.manual_score = round(p.points, 4)
            grade.needs_manual_grade = False
            try:
                comment = gb.find_comment(cell, p.notebook, result.assignment, result.student)
            except MissingEntry:
                continue
            comment.auto_comment = (f"Points from a function check of {p.checked_by}, called "
                                    "outside your notebook on inputs drawn by the grader: "
                                    f"{p.points:g}/{p.max_points:g}." + (f" {p.reason}" if p.reason else ""))
        gb.db.commit()


def _comment_line(p: PartResult) -> str:
    measured = (f"{p.metric}: {p.value:.4f} (reference {p.reference:.4f}, baseline {p.baseline:.4f})"
                if p.value is not None else f"{p.metric}: not measured")
    return (measured + f" -> {p.points:.2f}/{p.max_points:g}{' extra credit' if p.extra_credit else ''}"
            + (f". {p.reason}" if p.reason and p.value is None else ""))


def _record_cell(gb, model: GradingSpec, result: SubmissionResult, parts: list[PartResult]) -> None:
    from nbgrader.api import MissingEntry

    points = sum(p.points for p in parts if not p.extra_credit)
    extra = sum(p.points for p in parts if p.extra_credit)
    try:
        grade = gb.find_grade(model.model_grade_id, model.notebook, result.assignment, result.student)
    except MissingEntry as exc:
        raise AutograderError(
            f"the gradebook has no cell {model.model_grade_id!r} for {result.student}: the "
            f"notebook needs a task cell with that grade id (and nbgrader autograde must run "
            f"first): {exc}"
        ) from exc
    grade.manual_score = round(points, 4)
    grade.extra_credit = round(extra, 4) if extra else None
    grade.needs_manual_grade = False
    try:
        comment = gb.find_comment(model.model_grade_id, model.notebook, result.assignment,
                                  result.student)
        comment.auto_comment = "Model graded on hidden data (" + result.device + "):\n" + (
            "\n".join(_comment_line(p) for p in parts))
    except MissingEntry:
        pass


def read_grades(db_url: str, assignment: str, student: str | None = None) -> list[GradeRow]:
    """Every grade of every submission of ``assignment`` (only ``student``'s, when given)."""
    from nbgrader.api import Gradebook, MissingEntry

    ensure_tools_on_path()

    rows: list[GradeRow] = []
    with Gradebook(db_url) as gb:
        try:
            assignment_obj = gb.find_assignment(assignment)
            submissions = (gb.assignment_submissions(assignment) if student is None
                           else [gb.find_submission(assignment, student)])
        except MissingEntry:
            return rows
        for sub in submissions:
            for nb in sub.notebooks:
                for g in nb.grades:
                    rows.append(GradeRow(
                        student=sub.student_id, assignment=assignment_obj.name,
                        notebook=nb.name, cell=g.name, score=float(g.score),
                        max_score=float(g.max_score), extra_credit=float(g.extra_credit or 0.0),
                        auto_score=g.auto_score, manual_score=g.manual_score,
                    ))
    return rows


@dataclass(frozen=True)
class GradedCell:
    """A cell of a released notebook that carries points, as nbgrader's gradebook knows it.

    ``kind`` is ``"test"`` (autograder tests: nbgrader scores them by running them), ``"manual"``
    (a manually graded answer, code or markdown) or ``"task"`` (a manually graded task cell).
    """

    name: str
    max_points: float
    kind: str


def notebook_cells(db_url: str, assignment: str, notebook: str) -> list[GradedCell]:
    """The cells with points of a released notebook, in nbgrader's order."""
    from nbgrader.api import Gradebook, MissingEntry

    ensure_tools_on_path()

    with Gradebook(db_url) as gb:
        try:
            nb = gb.find_notebook(notebook, assignment)
        except MissingEntry as exc:
            raise AutograderError(
                f"the gradebook does not know notebook {notebook!r} of {assignment!r}: run "
                f"`nbgrader generate_assignment {assignment}` first"
            ) from exc
        answers = {c.name for c in nb.solution_cells}
        cells = [GradedCell(c.name, float(c.max_score),
                            "manual" if c.name in answers or c.cell_type == "markdown" else "test")
                 for c in nb.grade_cells]
        cells += [GradedCell(c.name, float(c.max_score), "task") for c in nb.task_cells]
        return cells


def ensure_submission(db_url: str, assignment: str, student: str) -> None:
    """Create the student and an (ungraded) submission when autograding could not."""
    from nbgrader.api import Gradebook, MissingEntry

    ensure_tools_on_path()

    with Gradebook(db_url) as gb:
        gb.update_or_create_student(student)
        try:
            gb.find_submission(assignment, student)
        except MissingEntry:
            gb.add_submission(assignment, student)


@dataclass(frozen=True)
class AutogradeRows:
    """What ``nbgrader autograde`` wrote into a gradebook for one submission, to copy it into
    another: a Ray worker autogrades against its own copy of the course's SQLite gradebook, and the
    driver writes these rows into the real one (:func:`write_autograde_rows`).

    Attributes:
        timestamp: the submission's time (None: nbgrader found no timestamp.txt).
        late_penalties: ``notebook -> late_submission_penalty``.
        grades: ``(notebook, cell, auto_score, needs_manual_grade)`` of every graded cell.
        comments: ``(notebook, cell, auto_comment)`` of every answer and task cell.
    """

    assignment: str
    student: str
    timestamp: object | None
    late_penalties: tuple[tuple[str, float | None], ...]
    grades: tuple[tuple[str, str, float | None, bool], ...]
    comments: tuple[tuple[str, str, str | None], ...]


def autograde_rows(db_url: str, assignment: str, student: str) -> AutogradeRows | None:
    """The rows autograde wrote for ``student``'s submission (None: no submission in the gradebook)."""
    from nbgrader.api import Gradebook, MissingEntry

    ensure_tools_on_path()
    with Gradebook(db_url) as gb:
        try:
            sub = gb.find_submission(assignment, student)
        except MissingEntry:
            return None
        return AutogradeRows(
            assignment=assignment, student=student, timestamp=sub.timestamp,
            late_penalties=tuple((nb.name, nb.late_submission_penalty) for nb in sub.notebooks),
            grades=tuple((nb.name, g.name, g.auto_score, bool(g.needs_manual_grade))
                         for nb in sub.notebooks for g in nb.grades),
            comments=tuple((nb.name, c.name, c.auto_comment) for nb in sub.notebooks for c in nb.comments),
        )


def write_autograde_rows(db_url: str, rows: AutogradeRows) -> None:
    """Write ``rows`` (read from another gradebook by :func:`autograde_rows`) into this one, as
    autograde would have: the submission and its time, auto scores, review flags, auto comments,
    late penalties. Manual scores and the instructor's comments are left as they are."""
    from nbgrader.api import Gradebook

    ensure_tools_on_path()
    with Gradebook(db_url) as gb:
        gb.update_or_create_student(rows.student)
        stamp = {"timestamp": rows.timestamp} if rows.timestamp is not None else {}
        gb.update_or_create_submission(rows.assignment, rows.student, **stamp)
        for notebook, penalty in rows.late_penalties:
            submitted = gb.find_submission_notebook(notebook, rows.assignment, rows.student)
            submitted.late_submission_penalty = penalty
        for notebook, cell, auto_score, review in rows.grades:
            grade = gb.find_grade(cell, notebook, rows.assignment, rows.student)
            grade.auto_score, grade.needs_manual_grade = auto_score, review
        for notebook, cell, auto_comment in rows.comments:
            gb.find_comment(cell, notebook, rows.assignment, rows.student).auto_comment = auto_comment
        gb.db.commit()


def snapshot_sqlite(db_url: str, dest) -> bool:
    """Copy a SQLite gradebook to ``dest`` consistently (SQLite's backup API); False when the
    gradebook is not a SQLite file (e.g. a PostgreSQL server)."""
    import sqlite3

    from sqlalchemy.engine import make_url

    url = make_url(db_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return False
    source = sqlite3.connect(f"file:{url.database}?mode=ro", uri=True)
    try:
        target = sqlite3.connect(str(dest))
        try:
            source.backup(target)
        finally:
            target.close()
    finally:
        source.close()
    return True


def export_grades(db_url: str, path, assignments: list[str] | None = None) -> None:
    """Write ``nbgrader export``'s CSV of ``assignments`` (all when empty) to ``path``.

    nbgrader's own ``CsvExportPlugin`` writes it, so the file is what ``nbgrader export`` gives.
    """
    from nbgrader.api import Gradebook
    from nbgrader.plugins import CsvExportPlugin

    ensure_tools_on_path()

    plugin = CsvExportPlugin(to=str(path), assignment=list(assignments or []))
    with Gradebook(db_url) as gb:
        plugin.export(gb)
