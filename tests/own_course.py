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


# --- hw3: a classifier on the instructor's own csv data, the hidden split outside the course -----

MODEL_ASSIGNMENT = "hw3"
FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
HW3_CELLS = {
    "imports": "import numpy as np\nimport keras",
    "load_data": ('data = np.loadtxt("data/train.csv", delimiter=",", skiprows=1)\n'
                  "x, y = data[:, :4].astype('float32'), data[:, 4].astype('int64')"),
    "build_model": ("def build_model():\n    ### BEGIN SOLUTION\n"
                    "    model = keras.Sequential([keras.Input((4,)),\n"
                    "                              keras.layers.Dense(16, activation='relu'),\n"
                    "                              keras.layers.Dense(3, activation='softmax')])\n"
                    "    model.compile('adam', 'sparse_categorical_crossentropy', metrics=['accuracy'])\n"
                    "    return model\n    ### END SOLUTION"),
    "train_model": ("### BEGIN SOLUTION\nkeras.utils.set_random_seed(0)\nmodel = build_model()\n"
                    "model.fit(x, y, epochs=60, batch_size=16, verbose=0)\n### END SOLUTION\n"
                    "model.save('iris_model.keras')"),
}


def write_csv_data(root: Path, private: Path) -> tuple[Path, Path]:
    """scikit-learn's iris as the instructor's own files: 120 rows for students (in the course),
    30 hidden rows in ``private`` (outside it)."""
    import numpy as np
    from sklearn.datasets import load_iris

    iris = load_iris()
    order = np.random.default_rng(7).permutation(len(iris.target))
    x, y = iris.data[order], iris.target[order]
    header = ",".join([*FEATURES, "species"])
    train = root / "source" / MODEL_ASSIGNMENT / "data" / "train.csv"
    hidden = private / "hidden.csv"
    for path, rows in ((train, slice(0, 120)), (hidden, slice(120, None))):
        path.parent.mkdir(parents=True, exist_ok=True)
        table = np.column_stack([x[rows], y[rows]])
        np.savetxt(path, table, delimiter=",", header=header, comments="", fmt=["%.1f"] * 4 + ["%d"])
    return train, hidden


def hw3_notebook() -> nbformat.NotebookNode:
    return _notebook([
        _cell("markdown", "# Iris\nTrain a classifier; save it as `iris_model.keras`.", "intro",
              locked=True),
        _cell("code", HW3_CELLS["imports"], "imports", locked=True),
        _cell("code", HW3_CELLS["load_data"], "load_data", locked=True),
        _cell("code", HW3_CELLS["build_model"], "build_model", solution=True),
        _cell("code", "assert build_model().output_shape == (None, 3)", "test_build_model", grade=True,
              points=1, locked=True),
        _cell("code", HW3_CELLS["train_model"], "train_model", solution=True),
        _cell("markdown", "## Model quality (4 points, graded by the autograder)", "model_quality", task=True,
              points=4, locked=True),
    ])


def write_model_course(root: Path, private: Path) -> tuple[Path, Path]:
    """A course with the ``hw3`` source notebook and its data; returns (train csv, hidden csv)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "nbgrader_config.py").write_text(CONFIG)
    files = write_csv_data(root, private)
    nbformat.write(hw3_notebook(), root / "source" / MODEL_ASSIGNMENT / f"{MODEL_ASSIGNMENT}.ipynb")
    return files
