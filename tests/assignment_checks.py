"""Shared pieces of the per-assignment end-to-end tests (tests/test_assignment_*.py)."""

from __future__ import annotations

import csv

import pytest

from autograder.demo import DemoOutcome, run_demo
from autograder.gradebook import read_grades
from autograder.results import PartResult, SubmissionResult


def assignment_fixtures(assignment: str):
    """The module-scoped ``demo`` and ``results`` fixtures of one assignment's end-to-end test:
    ``demo, results = assignment_fixtures(ASSIGNMENT)`` at the top of the test module."""

    @pytest.fixture(scope="module")
    def demo(tmp_path_factory) -> DemoOutcome:
        return run_assignment_demo(tmp_path_factory, assignment)

    @pytest.fixture(scope="module")
    def results(demo) -> dict[str, SubmissionResult]:
        return by_student(demo, assignment)

    return demo, results


def metric_part(result: SubmissionResult, metric: str) -> PartResult:
    """The model part of ``result`` that measured ``metric``."""
    return next(p for p in result.parts if p.metric == metric)


def run_assignment_demo(tmp_path_factory, assignment: str) -> DemoOutcome:
    """The whole cycle (release, exchange, collect, grade, report) for one assignment."""
    return run_demo(tmp_path_factory.mktemp(assignment) / "course", [assignment], log=print)


def by_student(demo: DemoOutcome, assignment: str) -> dict[str, SubmissionResult]:
    return {r.student: r for r in demo.results[assignment]}


def check_gradebook_and_report(demo: DemoOutcome, assignment: str, results: dict[str, SubmissionResult],
                               model_cells: tuple[str, ...] = ("model_quality",)) -> None:
    """Every score is in nbgrader's gradebook (model points on each model's task cell), and the
    report's totals match it."""
    grades = read_grades(demo.course.db_url, assignment)
    for r in results.values():
        mine = {g.cell: g for g in grades if g.student == r.student}
        for p in r.parts:
            if p.kind == "test":
                assert mine[p.name].score == pytest.approx(p.points)
        for cell in model_cells:
            points = sum(p.points for p in r.parts
                         if p.name.startswith(cell + ":") and not p.extra_credit)
            assert mine[cell].manual_score == pytest.approx(points, abs=1e-3)
        assert sum(mine[c].manual_score for c in model_cells) == pytest.approx(r.model_points, abs=1e-3)
        assert sum(g.score for g in mine.values()) == pytest.approx(r.total, abs=1e-3)
    check_correct_submission_was_not_trained_again(demo, assignment)
    csv_path, _ = demo.reports[assignment]
    rows = {row["student"]: row for row in csv.DictReader(csv_path.open())}
    assert set(rows) == set(results)
    for r in results.values():
        assert float(rows[r.student]["gradebook_total"]) == pytest.approx(round(r.total, 2))


def check_correct_submission_was_not_trained_again(demo: DemoOutcome, assignment: str) -> None:
    """Never train twice: autograde served every training cell of the correct submission from its
    saved model, and the graded notebook shows the student's own code again."""
    from autograder.notebook import grade_id, read_notebook

    spec = demo.course.spec(assignment)
    cells = {m.autograde.training_cell: m.model_file for m in spec.models() if m.autograde.training_cell}
    if not cells:
        return
    folder = demo.course.autograded_dir(assignment, "correct")
    nb = read_notebook(folder / f"{spec.notebook}.ipynb")
    served = {grade_id(c): c for c in nb.cells if grade_id(c) in cells}
    assert set(served) == set(cells), f"training cells missing from the graded notebook: {cells}"
    for cell_id, cell in served.items():
        output = "".join(o.get("text", "") for o in cell.get("outputs", []))
        assert f"autograder: loaded {cells[cell_id]}, the model you saved" in output, (cell_id, output)
        assert "autograder" not in cell.source
