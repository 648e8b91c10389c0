"""Small fake graded courses for the report tests: result files plus a matching nbgrader gradebook.

No notebook runs and no model trains: results are built by hand, and the gradebook gets the same
points through nbgrader's own API, as autograding and ``record_model_scores`` would write them.
"""

from __future__ import annotations

from pathlib import Path

from autograder._env import ensure_tools_on_path
from autograder.course import Course
from autograder.results import PartResult, SubmissionResult, write_result

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENT = "toy"
NOTEBOOK = "toy"
# Two models share metric names: reports must keep their columns apart.
MODELS = {"model_quality": 6.0, "second_model": 2.0}


def model_part(grade_id: str, metric: str, value: float | None, points: float, max_points: float,
               extra_credit: bool = False, reason: str = "") -> PartResult:
    return PartResult(name=f"{grade_id}:{metric}", kind="model", points=points, max_points=max_points,
                      reason=reason, metric=metric, value=value, reference=0.95, baseline=0.1,
                      extra_credit=extra_credit)


def fake_result(student: str, test_points: float, accuracy: float | None, second: float | None,
                duration_s: float = 3.0) -> SubmissionResult:
    """A graded submission of the toy assignment (accuracy ``None``: the model failed to load)."""
    def pts(value, max_points):
        return 0.0 if value is None else round(max_points * min(1.0, (value - 0.1) / 0.85), 4)

    reason = "" if accuracy is not None else "the model file toy_model.keras is missing"
    parts = (
        PartResult(name="test_shapes", kind="test", points=test_points, max_points=2.0,
                   reason="" if test_points == 2.0 else "AssertionError: wrong shape"),
        model_part("model_quality", "accuracy", accuracy, pts(accuracy, 6.0), 6.0, reason=reason),
        model_part("model_quality", "top_2_accuracy", accuracy, pts(accuracy, 1.0) if accuracy else 0.0,
                   1.0, extra_credit=True, reason=reason),
        model_part("second_model", "accuracy", second, pts(second, 2.0), 2.0,
                   reason="" if second is not None else "NaN outputs"),
    )
    return SubmissionResult(
        assignment=ASSIGNMENT, student=student, mode="load", parts=parts, device="cpu", seed=0,
        data_fingerprint="f" * 16, reference_version="v1", duration_s=duration_s,
        isolation="bwrap", submitted_at="2026-01-01 10:00:00",
    )


FAKE_STUDENTS = (
    ("perfect", 2.0, 0.97, 0.96, 4.0),
    ("weak", 2.0, 0.5, 0.3, 2.5),
    ("broken_model", 0.0, None, None, 1.0),
)


def fake_course(root: Path, students=FAKE_STUDENTS) -> tuple[Course, list[SubmissionResult]]:
    """A course folder with result files and a gradebook holding the same points."""
    from nbgrader.api import Gradebook

    ensure_tools_on_path()
    root.mkdir(parents=True, exist_ok=True)
    (root / "nbgrader_config.py").write_text("c = get_config()  # noqa: F821\n")
    course = Course.at(root)
    results = [fake_result(*s) for s in students]
    with Gradebook(course.db_url) as gb:
        gb.add_assignment(ASSIGNMENT)
        gb.add_notebook(NOTEBOOK, ASSIGNMENT)
        gb.add_grade_cell("test_shapes", NOTEBOOK, ASSIGNMENT, max_score=2.0, cell_type="code")
        for grade_id, points in MODELS.items():
            gb.add_task_cell(grade_id, NOTEBOOK, ASSIGNMENT, max_score=points, cell_type="markdown")
        for r in results:
            gb.update_or_create_student(r.student)
            gb.add_submission(ASSIGNMENT, r.student)
            for grade_id in ["test_shapes", *MODELS]:
                grade = gb.find_grade(grade_id, NOTEBOOK, ASSIGNMENT, r.student)
                parts = [p for p in r.parts if p.name.split(":")[0] == grade_id]
                if grade_id == "test_shapes":
                    grade.auto_score = parts[0].points
                else:
                    grade.manual_score = sum(p.points for p in parts if not p.extra_credit)
                    grade.extra_credit = sum(p.points for p in parts if p.extra_credit) or None
            gb.db.commit()
    for r in results:
        write_result(r, course.result_path(ASSIGNMENT, r.student))
    return course, results
