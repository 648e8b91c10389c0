"""Student feedback: nbgrader's generate_feedback with our preprocessors, on a tiny real course.

The autograded notebook holds the hidden tests (autograding restores them): the feedback must not.
"""

from __future__ import annotations

import shutil

import nbformat
import numpy as np
import pytest
from report_helpers import REPO, fake_result

from autograder.course import Course
from autograder.nbgrader_feedback import HIDDEN_NOTICE
from autograder.pictures import ClassifierPictures
from autograder.results import write_result
from autograder.student_feedback import generate_feedback, section_markdown

SECRET = "hidden-value-7391"
STUDENT = "weak"


def _cell(kind, source, **nbgrader):
    meta = {"grade": False, "solution": False, "locked": True, "task": False, "schema_version": 3,
            **nbgrader}
    make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
    return make(source, metadata={"nbgrader": meta})


def toy_notebook():
    return nbformat.v4.new_notebook(cells=[
        _cell("code", "### BEGIN SOLUTION\nx = 2\n### END SOLUTION", grade_id="answer", solution=True,
              locked=False),
        _cell("code", "assert x == 2\n### BEGIN HIDDEN TESTS\n"
              f"print('{SECRET}')\nassert x * 3 == 7, '{SECRET}'\n### END HIDDEN TESTS",
              grade_id="test_shapes", grade=True, points=2),
        _cell("markdown", "Your model is graded on hidden data.", grade_id="model_quality", task=True,
              points=6),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})


@pytest.fixture(scope="module")
def feedback(tmp_path_factory):
    """A course whose one student was autograded by nbgrader, then given feedback by us."""
    root = tmp_path_factory.mktemp("feedback") / "course"
    (root / "source" / "toy").mkdir(parents=True)
    shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    nbformat.write(toy_notebook(), root / "source" / "toy" / "toy.ipynb")
    course = Course.at(root)
    api = course.nbgrader_api(**{"Exchange.root": str(root / "exchange")})
    api.gradebook.update_or_create_student(STUDENT)
    assert api.generate_assignment("toy")["success"]
    submitted = course.submitted_dir("toy", STUDENT)
    submitted.mkdir(parents=True)
    answered = (course.release_dir("toy") / "toy.ipynb").read_text(encoding="utf-8")
    (submitted / "toy.ipynb").write_text(answered.replace("raise NotImplementedError()", "x = 2"))
    assert api.autograde("toy", STUDENT)["success"]
    result = fake_result(STUDENT, 0.0, 0.5, 0.3)
    write_result(result, course.result_path("toy", STUDENT))
    pictures = ClassifierPictures(np.eye(3, dtype=int) * 5, np.zeros((1, 28, 28)), np.array([1]),
                                  np.array([[2, 1]]))
    import autograder.student_feedback as sf

    original = sf.student_pictures
    sf.student_pictures = lambda course, r: {"model_quality": pictures}
    try:
        outcome = generate_feedback(course, "toy", [result])
    finally:
        sf.student_pictures = original
    assert outcome["success"], outcome
    html = (root / "feedback" / STUDENT / "toy" / "toy.html").read_text(encoding="utf-8")
    autograded = (course.autograded_dir("toy", STUDENT) / "toy.ipynb").read_text(encoding="utf-8")
    return html, autograded


def test_hidden_tests_never_reach_feedback(feedback):
    html, autograded = feedback
    # nbgrader restores the hidden tests before grading, and their output names the secret too
    assert autograded.count(SECRET) >= 3
    assert SECRET not in html
    assert "BEGIN HIDDEN TESTS" not in html
    assert HIDDEN_NOTICE in html
    assert "AssertionError: a test failed (details are hidden)" in html  # the student learns it failed


def test_feedback_has_the_model_section_with_pictures(feedback):
    html, _ = feedback
    assert "Your model (model_quality)" in html
    section = html[html.index("Your model (model_quality)"):]
    assert "0.5000" in section and "0.9500" in section and "2.82 / 6" in section
    assert section.count('src="data:image/png;base64,') == 2  # confusion matrix and mistakes
    # the second model of the assignment has no task cell here: its section goes at the end
    assert "Your model (second_model)" in html
    assert html.index("Your model (model_quality)") < html.index("Your model (second_model)")


def test_section_says_why_a_metric_was_not_measured():
    result = fake_result("broken_model", 0.0, None, None)
    parts = [p for p in result.parts if p.name.startswith("model_quality:")]
    text = section_markdown("model_quality", parts, [])
    assert "not measured" in text
    assert "the model file toy_model.keras is missing" in text
    assert "Pictures" not in text


def test_hide_hidden_tests_leaves_other_cells_alone():
    from autograder.nbgrader_feedback import HideHiddenTests

    passing = _cell("code", "assert True\n### BEGIN HIDDEN TESTS\nassert secret()\n### END HIDDEN TESTS",
                    grade_id="t1", grade=True, points=1)
    passing.outputs = [nbformat.v4.new_output("stream", name="stdout", text="secret value 42\n")]
    visible = _cell("code", "assert 1 == 1", grade_id="t2", grade=True, points=1)
    visible.outputs = [nbformat.v4.new_output("stream", name="stdout", text="fine\n")]
    nb, _ = HideHiddenTests().preprocess(nbformat.v4.new_notebook(cells=[passing, visible]), {})
    assert nb.cells[0].source == "assert True"
    assert [o["text"] for o in nb.cells[0].outputs] == [HIDDEN_NOTICE + "\n"]  # passed: no error shown
    assert nb.cells[1].source == "assert 1 == 1" and nb.cells[1].outputs[0]["text"] == "fine\n"


def test_model_sections_need_a_results_folder(tmp_path):
    from autograder.nbgrader_feedback import AddModelFeedback

    resources = {"nbgrader": {"assignment": "toy", "student": STUDENT}}
    nb, _ = AddModelFeedback().preprocess(toy_notebook(), resources)
    assert len(nb.cells) == 3
    nb, _ = AddModelFeedback(results_root=str(tmp_path)).preprocess(toy_notebook(), resources)
    assert len(nb.cells) == 3  # nothing prepared for this student


def test_feedback_command_reports_nbgrader_failure(tmp_path, capsys, monkeypatch):
    import autograder.student_feedback as sf
    from autograder.cli import main

    (tmp_path / "nbgrader_config.py").write_text("c = get_config()  # noqa: F821\n")
    write_result(fake_result(STUDENT, 0.0, 0.5, 0.3), Course.at(tmp_path).result_path("toy", STUDENT))
    monkeypatch.setattr(sf, "generate_feedback", lambda *a, **k: {"success": False, "error": "boom"})
    assert main(["feedback", "toy", "--course-dir", str(tmp_path)]) == 2
    assert "generate_feedback toy failed" in capsys.readouterr().err
