"""An instructor's own nbgrader course, built in a folder outside the repository (test helper).

``hw1`` has two notebooks and no grading spec: ``arith`` (an autograded answer and its test, a
manually graded markdown answer) and ``strings`` (an autograded answer and its test, a manually
graded code answer, a manually graded task). nbgrader's maximum is 13 points.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

ASSIGNMENT = "hw1"
MAX_POINTS = 13.0
#: a plain nbgrader_config.py: nothing of the autograder in it
CONFIG = 'c = get_config()  # noqa: F821\nc.CourseDirectory.course_id = "own-course"\n'


def _cell(kind: str, source: str, grade_id: str, *, solution=False, grade=False, task=False, points=0,
          locked=False):
    cell = (nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell)(source)
    meta = {"grade_id": grade_id, "solution": solution, "grade": grade, "locked": locked,
            "schema_version": 3}
    if task:
        meta["task"] = True
    if grade or task:
        meta["points"] = points
    cell.metadata["nbgrader"] = meta
    return cell


def _notebook(cells) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = cells
    return nb


def source_notebooks() -> dict[str, nbformat.NotebookNode]:
    arith = _notebook([
        _cell("markdown", "# Arithmetic\nWrite `add(a, b)`.", "intro", locked=True),
        _cell("code", "def add(a, b):\n    ### BEGIN SOLUTION\n    return a + b\n    ### END SOLUTION",
              "add", solution=True),
        _cell("code", "assert add(1, 2) == 3\n### BEGIN HIDDEN TESTS\nassert add(-1, 1) == 0\n"
              "### END HIDDEN TESTS", "test_add", grade=True, points=2, locked=True),
        _cell("markdown", "=== BEGIN MARK SCHEME ===\nCommutativity.\n=== END MARK SCHEME ===\n"
              "YOUR ANSWER HERE", "explain", solution=True, grade=True, points=3),
    ])
    strings = _notebook([
        _cell("code", "def shout(s):\n    ### BEGIN SOLUTION\n    return s.upper() + '!'\n"
              "    ### END SOLUTION", "shout", solution=True),
        _cell("code", "assert shout('hi') == 'HI!'", "test_shout", grade=True, points=4, locked=True),
        _cell("code", "def whisper(s):\n    ### BEGIN SOLUTION\n    return s.lower()\n    ### END SOLUTION",
              "whisper", solution=True, grade=True, points=2),
        _cell("markdown", "Plot the lengths of three words of your choice.", "task_plot", task=True,
              points=2, locked=True),
    ])
    return {"arith": arith, "strings": strings}


#: what each simulated student writes, by notebook and grade id (cells not named stay as released)
STUDENTS: dict[str, dict[str, dict[str, str] | None]] = {
    "correct": {
        "arith": {"add": "def add(a, b):\n    return a + b", "explain": "Because a + b = b + a."},
        "strings": {"shout": "def shout(s):\n    return s.upper() + '!'",
                    "whisper": "def whisper(s):\n    return s.lower()"},
    },
    "partly_wrong": {
        "arith": {"add": "def add(a, b):\n    return a - b", "explain": "No idea."},
        "strings": {"shout": "def shout(s):\n    return s.upper() + '!'"},
    },
    "cell_raises": {
        "arith": {"add": "raise ValueError('oops')\ndef add(a, b):\n    return a + b"},
        "strings": {"shout": "def shout(s):\n    return s.upper() + '!'"},
    },
    "missing_notebook": {
        "arith": {"add": "def add(a, b):\n    return a + b"},
        "strings": None,  # never submitted
    },
    "empty": {"arith": {}, "strings": {}},
}


def write_course(root: Path) -> Path:
    """The course's config and source notebooks, then ``nbgrader generate_assignment`` (stock)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "nbgrader_config.py").write_text(CONFIG)
    source = root / "source" / ASSIGNMENT
    source.mkdir(parents=True)
    for name, nb in source_notebooks().items():
        nbformat.write(nb, source / f"{name}.ipynb")
    nbgrader(root, "generate_assignment", ASSIGNMENT, "--force")
    return root


def submit(root: Path, students=STUDENTS) -> None:
    """Each student's submission in ``submitted/`` (as ``nbgrader collect`` leaves it)."""
    for student, notebooks in students.items():
        folder = root / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        (folder / "timestamp.txt").write_text("2026-12-01 10:00:00.000000 UTC")
        for name, answers in notebooks.items():
            if answers is None:
                continue
            nb = nbformat.read(root / "release" / ASSIGNMENT / f"{name}.ipynb", as_version=4)
            for cell in nb.cells:
                gid = cell.metadata.get("nbgrader", {}).get("grade_id")
                if gid in answers:
                    cell.source = answers[gid]
            nbformat.write(nb, folder / f"{name}.ipynb")


def nbgrader(root: Path, *args: str) -> subprocess.CompletedProcess:
    # nbgrader runs `alembic` and starts kernels by name: this venv's bin first on PATH
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=root, capture_output=True,
                          text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return proc


def stock_copy(root: Path, dest: Path) -> Path:
    """A copy of the course graded by stock ``nbgrader autograde`` (its own gradebook)."""
    shutil.copytree(root, dest)
    nbgrader(dest, "autograde", ASSIGNMENT, "--create", "--force")
    return dest
