"""The instructor guide's "Grade your own course", followed from nothing, command by command, on a
course in a temporary folder: the instructor's own csv data, the hidden split outside the course,
a metric from a plugin package installed into this environment (slow: trains, runs notebooks)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import nbformat
import pytest
from own_course import HW3_CELLS, MODEL_ASSIGNMENT, write_model_course

from autograder.course import Course
from autograder.reports import load_results

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
GUIDE = REPO / "docs" / "instructor-guide.md"
BIN = Path(sys.executable).parent
PLUGIN = "autograder-test-course-metrics"
#: the commands of the guide's model walkthrough, in order
COMMANDS = ["autograder generate hw3", "autograder new hw3", "autograder check hw3",
            "autograder train-reference hw3", "autograder check hw3", "autograder grade hw3",
            "autograder feedback hw3"]
PLUGIN_CODE = '''import numpy as np


def macro_recall_score(y_true, y_pred):
    """The mean over classes of the fraction of each class found (higher is better)."""
    y_true = np.asarray(y_true)
    found = np.argmax(np.asarray(y_pred), axis=1)
    return float(np.mean([np.mean(found[y_true == c] == c) for c in np.unique(y_true)]))
'''


def guide_commands() -> list[str]:
    """The shell commands of the guide's model walkthrough (its ```bash blocks), comments removed."""
    text = GUIDE.read_text(encoding="utf-8")
    section = text.split("### A model graded against your reference", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, flags=re.S)
    lines = [line.split("#", 1)[0].strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line]


def run(command: str, cwd: Path) -> subprocess.CompletedProcess:
    program, *args = command.split()
    return subprocess.run([str(BIN / program), *args], cwd=cwd, capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def plugin_installed(tmp_path_factory):
    """A course's plugin package, pip-installed into this environment for the module's tests."""
    folder = tmp_path_factory.mktemp("plugin")
    (folder / "course_metrics.py").write_text(PLUGIN_CODE)
    (folder / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n\n'
        f'[project]\nname = "{PLUGIN}"\nversion = "0.1"\n\n'
        '[tool.setuptools]\npy-modules = ["course_metrics"]\n\n'
        '[project.entry-points."autograder.metrics"]\n'
        'macro_recall_score = "course_metrics:macro_recall_score"\n')
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    proc = subprocess.run([*pip, "install", "--no-deps", "--no-build-isolation", str(folder)],
                          capture_output=True, text=True, timeout=300, cwd=folder)
    assert proc.returncode == 0, proc.stderr
    yield
    subprocess.run([*pip, "uninstall", "-y", PLUGIN], capture_output=True, timeout=300)


def _student(root: Path, name: str, cells: dict[str, str]) -> None:
    """A student's submission as they leave it: their notebook, run, and the model it saved."""
    from nbclient import NotebookClient

    folder = root / "submitted" / name / MODEL_ASSIGNMENT
    shutil.copytree(root / "release" / MODEL_ASSIGNMENT, folder)
    nb = nbformat.read(folder / f"{MODEL_ASSIGNMENT}.ipynb", as_version=4)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in cells:
            cell.source = cells[gid]
    NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(folder)}}).execute()
    nbformat.write(nb, folder / f"{MODEL_ASSIGNMENT}.ipynb")
    (folder / "timestamp.txt").write_text("2026-12-01 10:00:00.000000 UTC")


def test_the_guide_lists_the_commands_this_test_runs():
    assert guide_commands() == COMMANDS


def test_grade_your_own_course_step_by_step(tmp_path, plugin_installed):
    root, private = tmp_path / "course", tmp_path / "private"
    _train, hidden = write_model_course(root, private)
    outputs = []
    commands = iter(COMMANDS)

    def step(expect_rc: int = 0) -> str:
        command = next(commands)
        proc = run(command, root)
        assert proc.returncode == expect_rc, (command, proc.stdout[-2000:], proc.stderr[-3000:])
        outputs.append(proc.stdout + proc.stderr)
        return proc.stdout

    # 1. release, draft the spec
    step()
    step()
    spec_path = root / "reference_models" / MODEL_ASSIGNMENT / "spec.toml"
    draft = tomllib.loads(spec_path.read_text()) if "TODO" not in spec_path.read_text() else None
    assert draft is None  # the hidden split is marked for the instructor to set
    text = spec_path.read_text()
    for line in ('model_file = "iris_model.keras"', 'model_grade_id = "model_quality"', 'format = "csv"',
                 'train = "source/hw3/data/train.csv"', 'label = "species"', "epochs = 60",
                 'cells = ["imports", "build_model"]', 'training_cell = "train_model"'):
        assert line in text, line

    # 2. check: the hidden file is still to set; set it, with the plugin's metric, and check again
    out = step(expect_rc=1)
    assert out.count("\n") == 1 and "hidden" in out and "no such file" in out
    text = re.sub(r'^hidden = .*$', f'hidden = "{hidden}"', text, flags=re.M)
    text = text.replace('name = "accuracy"', 'name = "macro_recall_score"')
    spec_path.write_text(text)
    out = run("autograder check hw3", root)
    assert out.returncode == 1 and out.stdout.strip() == (
        "reference_models/hw3/metrics.json: no reference yet: run `autograder train-reference hw3`")

    # 3. the reference, then a clean check
    out = step()
    assert "hw3: reference macro_recall_score" in out
    metrics = json.loads((spec_path.parent / "metrics.json").read_text())
    assert metrics["reference"]["macro_recall_score"] > 0.8
    assert metrics["baseline"]["macro_recall_score"]["majority_class"] == pytest.approx(1 / 3)
    assert step().strip() == "hw3: no problems found"

    # 4. students: a good model, a weak one, and one whose code tries to read the hidden file
    good = HW3_CELLS["build_model"].replace("    ### BEGIN SOLUTION\n", "")
    good = good.replace("\n    ### END SOLUTION", "")
    train = HW3_CELLS["train_model"].replace("### BEGIN SOLUTION\n", "").replace("### END SOLUTION\n", "")
    peek = (f"try:\n    print('LEAK', open({str(hidden)!r}).read()[:40])\n"
            "except Exception as e:\n    print(repr(e))")
    _student(root, "good", {"build_model": good, "train_model": train})
    _student(root, "weak", {"build_model": good, "train_model": train.replace("epochs=60", "epochs=1")})
    _student(root, "peeker", {"build_model": good + "\n" + peek, "train_model": train})
    step()
    results = {r.student: r for r in load_results(Course.at(root), MODEL_ASSIGNMENT)}
    value = {s: next(p for p in r.parts if p.kind == "model") for s, r in results.items()}
    assert value["good"].points > 3.0 and value["weak"].points < value["good"].points
    assert value["good"].metric == "macro_recall_score"
    assert value["good"].reference == metrics["reference"]["macro_recall_score"]
    assert all(r.test_points == 1 for r in results.values())
    graded = nbformat.read(root / "autograded" / "peeker" / MODEL_ASSIGNMENT / f"{MODEL_ASSIGNMENT}.ipynb",
                           as_version=4)
    printed = "".join(o.get("text", "") for c in graded.cells for o in c.get("outputs", []))
    assert "PermissionError" in printed and "LEAK" not in printed
    assert "sepal_length" not in printed

    # feedback: the model section of each student
    step()
    feedback = (root / "feedback" / "good" / MODEL_ASSIGNMENT / f"{MODEL_ASSIGNMENT}.html").read_text()
    assert "Your model (model_quality)" in feedback and "macro_recall_score" in feedback
