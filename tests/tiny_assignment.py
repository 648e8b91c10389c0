"""A tiny tests-only nbgrader assignment (no model, no TensorFlow) for the hub's end-to-end tests."""

from __future__ import annotations

from pathlib import Path

import nbformat

NAME = "hello"
#: points of the test cells: 2 for ``test_square`` (one visible, one hidden check), 1 for ``test_zero``
MAX_POINTS = 3.0
#: what a student types into the solution cell (one line: the editor auto-indents)
SOLUTION = "def square(x): return x * x"

SPEC = f'''# A tests-only assignment: only the notebook's test cells are graded (no model).
assignment = "{NAME}"
notebook = "{NAME}"
tests_only = true
feedback_on_submit = true
'''


def _cell(kind: str, source: str, grade_id: str, *, solution=False, grade=False, points=0, locked=False):
    new = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
    cell = new(source)
    meta = {"grade_id": grade_id, "solution": solution, "grade": grade, "locked": locked,
            "schema_version": 3}
    if grade:
        meta["points"] = points
    cell.metadata["nbgrader"] = meta
    return cell


def source_notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        _cell("markdown", "# Hello\nWrite `square(x)`, the square of `x`.", "intro", locked=True),
        _cell("code", "def square(x):\n    ### BEGIN SOLUTION\n    return x * x\n    ### END SOLUTION",
              "square", solution=True),
        _cell("code", "assert square(3) == 9\n### BEGIN HIDDEN TESTS\nassert square(-2) == 4\n"
              "### END HIDDEN TESTS", "test_square", grade=True, points=2, locked=True),
        _cell("code", "assert square(0) == 0", "test_zero", grade=True, points=1, locked=True),
    ]
    return nb


def set_feedback_on_submit(course_root: Path, on: bool) -> None:
    """Switch the spec's ``feedback_on_submit``."""
    path = Path(course_root) / "reference_models" / NAME / "spec.toml"
    path.write_text(SPEC.replace("feedback_on_submit = true", f"feedback_on_submit = {str(on).lower()}"))


def write_tiny_assignment(course_root: Path) -> str:
    """Write the assignment's source notebook and tests-only spec into a course; returns its name."""
    source = Path(course_root) / "source" / NAME
    source.mkdir(parents=True, exist_ok=True)
    nbformat.write(source_notebook(), source / f"{NAME}.ipynb")
    ref = Path(course_root) / "reference_models" / NAME
    ref.mkdir(parents=True, exist_ok=True)
    (ref / "spec.toml").write_text(SPEC)
    return NAME


def tiny_course_copy(template: Path, dest: Path):
    """A private copy of a released course (exchange, gradebook and all)."""
    import shutil

    from autograder.course import Course

    shutil.copytree(template, dest)
    return Course.at(dest)
