"""An instructor's own two-notebook nbgrader course, outside the repository, with no grading spec:
`autograder grade` gives every cell stock `nbgrader autograde`'s score, manually graded cells
pending (slow: runs ten notebooks twice)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from own_course import ASSIGNMENT, MAX_POINTS, STUDENTS, stock_copy, submit, write_course

from autograder.course import Course
from autograder.gradebook import read_grades
from autograder.reports import load_results

pytestmark = pytest.mark.slow


def autograder(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).parent / "autograder"
    return subprocess.run([str(exe), *args], cwd=cwd, capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = write_course(tmp_path_factory.mktemp("own") / "course")
    submit(root)
    stock = stock_copy(root, tmp_path_factory.mktemp("stock") / "course")
    proc = autograder("grade", ASSIGNMENT, "--no-pictures", cwd=root)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    results = {r.student: r for r in load_results(Course.at(root), ASSIGNMENT)}
    return root, stock, results, proc


def test_every_submission_is_graded_out_of_nbgraders_maximum(graded):
    _root, _stock, results, _proc = graded
    assert set(results) == set(STUDENTS)
    for r in results.values():
        assert r.max_total == MAX_POINTS
        assert {p.notebook for p in r.parts} == {"arith", "strings"}


def test_every_cell_scores_as_stock_nbgrader(graded):
    root, stock, results, _proc = graded
    stock_grades = read_grades(Course(stock).db_url, ASSIGNMENT)
    assert len(stock_grades) == len(STUDENTS) * 5
    for g in stock_grades:
        part = next(p for p in results[g.student].parts if p.name == f"{g.notebook}/{g.cell}")
        assert part.points == g.score, (g.student, part)
        assert part.max_points == g.max_score
        pending = g.auto_score is None and g.manual_score is None
        assert part.pending == pending, (g.student, part)
    # ... and our gradebook holds the same scores as stock's.
    ours = {(g.student, g.notebook, g.cell): g.score for g in read_grades(Course(root).db_url, ASSIGNMENT)}
    assert ours == {(g.student, g.notebook, g.cell): g.score for g in stock_grades}


def test_manual_cells_await_grading_and_are_not_failures(graded):
    _root, _stock, results, _proc = graded
    correct = results["correct"]
    assert correct.total == 6 and correct.failures() == []
    assert correct.pending_points == 3 + 2 + 2  # explain, whisper, task_plot
    pending = {p.name: p.reason for p in correct.parts if p.pending}
    assert set(pending) == {"arith/explain", "strings/whisper", "strings/task_plot"}
    assert set(pending.values()) == {"awaiting manual grading"}
    # An answer left as released is 0 points (nbgrader's rule), with that reason; not pending.
    empty = {p.name: p for p in results["empty"].parts}
    assert not empty["arith/explain"].pending and empty["arith/explain"].points == 0
    assert "as it was released" in empty["arith/explain"].reason
    assert empty["strings/task_plot"].pending


def test_failures_have_reasons(graded):
    _root, _stock, results, _proc = graded
    wrong = {p.name: p for p in results["partly_wrong"].failures()}
    assert set(wrong) == {"arith/test_add", "strings/whisper"}
    assert "AssertionError" in wrong["arith/test_add"].reason
    assert wrong["strings/whisper"].reason == "no answer: the cell is as it was released"
    raises = {p.name: p for p in results["cell_raises"].failures()}
    assert "arith/test_add" in raises and "NameError" in raises["arith/test_add"].reason
    missing = {p.name: p.reason for p in results["missing_notebook"].parts}
    assert missing["strings/test_shout"] == "the notebook 'strings.ipynb' is missing from the submission"
    assert results["missing_notebook"].test_points == 2


def test_table_and_report_show_pending_points(graded):
    root, _stock, _results, proc = graded
    assert "pending_manual" in proc.stdout and "to grade by hand" in proc.stderr
    assert "awaiting manual grading" not in proc.stdout  # never listed as a first failure
    page = (root / "reports" / ASSIGNMENT / "report.html").read_text()
    assert "awaiting manual grading (not counted in the totals yet)" in page
    failures = (root / "reports" / ASSIGNMENT / "failures.csv").read_text()
    assert "awaiting manual grading" not in failures


def test_feedback_marks_cells_awaiting_a_grade_in_their_notebook(graded):
    root, _stock, _results, _proc = graded
    proc = autograder("feedback", ASSIGNMENT, "--no-pictures", cwd=root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    arith = (root / "feedback" / "correct" / ASSIGNMENT / "arith.html").read_text()
    strings = (root / "feedback" / "correct" / ASSIGNMENT / "strings.html").read_text()
    assert arith.count("Awaiting manual grading") == 1
    assert strings.count("Awaiting manual grading") == 2
