"""`autograder check`: each kind of mistake in a course's assignment, one clear line with its fix."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from own_course import MODEL_ASSIGNMENT, nbgrader, write_model_course

from autograder.check import check_assignment
from autograder.course import Course
from autograder.data import load_dataset

SPEC = '''assignment = "hw3"
notebook = "hw3"
task = "classifier"
mode = "load"
seed = 1234
model_file = "iris_model.keras"
model_grade_id = "model_quality"

[dataset]
format = "csv"
train = "source/hw3/data/train.csv"
hidden = "{hidden}"
label = "species"

[train]
cells = ["imports", "build_model"]

[[metrics]]
name = "accuracy"
points = 4
baseline = "majority_class"
'''


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A correct course: released, spec written, reference metrics measured (no training here)."""
    base = tmp_path_factory.mktemp("check")
    root = base / "course"
    _train, hidden = write_model_course(root, base / "private")
    nbgrader(root, "generate_assignment", MODEL_ASSIGNMENT, "--force")
    ref = root / "reference_models" / MODEL_ASSIGNMENT
    ref.mkdir(parents=True)
    (ref / "spec.toml").write_text(SPEC.format(hidden=hidden))
    spec = Course.at(root).spec(MODEL_ASSIGNMENT)
    (ref / "metrics.json").write_text(json.dumps({
        "reference": {"accuracy": 0.93}, "baseline": {"accuracy": {"majority_class": 0.2}},
        "data_fingerprint": load_dataset(spec.dataset, "test").fingerprint, "version": "x"}))
    return root, hidden


@pytest.fixture
def course(template, tmp_path):
    root, hidden = template
    shutil.copytree(root, tmp_path / "course")
    return Course.at(tmp_path / "course"), hidden


def _edit_spec(course: Course, old: str, new: str) -> None:
    path = course.reference_dir(MODEL_ASSIGNMENT) / "spec.toml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_a_correct_assignment_has_no_problems(course):
    assert check_assignment(course[0], MODEL_ASSIGNMENT) == []


def _problems(course: Course) -> list[str]:
    return [str(p) for p in check_assignment(course, MODEL_ASSIGNMENT)]


MISTAKES = {
    "unknown metric": (('name = "accuracy"', 'name = "acuracy"'),
                       "reference_models/hw3/spec.toml: metrics[0]: unknown metric 'acuracy'"),
    "unknown task": (('task = "classifier"', 'task = "clasifier"'), "unknown task 'clasifier'"),
    "notebook missing": (('notebook = "hw3"', 'notebook = "homework3"'),
                         "notebook 'homework3' is not in source/hw3/"),
    "no such task cell": (('model_grade_id = "model_quality"', 'model_grade_id = "quality"'),
                          "model_grade_id 'quality' is not a cell of hw3.ipynb: add a task cell"),
    "not a task cell": (('model_grade_id = "model_quality"', 'model_grade_id = "test_build_model"'),
                        "model_grade_id 'test_build_model' is not a task cell in hw3.ipynb"),
    "model file never saved": (('model_file = "iris_model.keras"', 'model_file = "model.keras"'),
                               "no cell of hw3.ipynb saves model_file 'model.keras' (the notebook saves "
                               "iris_model.keras)"),
    "train cell missing": (('cells = ["imports", "build_model"]', 'cells = ["imports", "make_model"]'),
                           "cell 'make_model' (named in [train] or [autograde]) is not in hw3.ipynb"),
    "label column": (('label = "species"', 'label = "class"'),
                     "train.csv has no column 'class'; its columns are"),
    "not TOML": (('seed = 1234', 'seed = '), "not valid TOML"),
}


@pytest.mark.parametrize("kind", sorted(MISTAKES))
def test_each_spec_mistake_is_one_line_with_its_fix(course, kind):
    (old, new), expected = MISTAKES[kind]
    _edit_spec(course[0], old, new)
    problems = _problems(course[0])
    assert len(problems) == 1, problems
    assert expected in problems[0]


def test_a_hidden_split_students_get_is_caught(course, tmp_path):
    c, hidden = course
    # under release/: refused as the spec is read
    moved = c.release_dir(MODEL_ASSIGNMENT) / "hidden.csv"
    shutil.copy(hidden, moved)
    _edit_spec(c, str(hidden), str(moved))
    [problem] = _problems(c)
    assert "hidden" in problem and "release" in problem
    # a copy of the private file in the assignment's folders: found by its bytes
    _edit_spec(c, str(moved), str(hidden))
    moved.unlink()
    shutil.copy(hidden, c.source_dir(MODEL_ASSIGNMENT) / "data" / "more.csv")
    [problem] = _problems(c)
    assert "source/hw3/data/more.csv is a copy of the hidden file" in problem


def test_reference_and_release_problems(course):
    c, hidden = course
    metrics = c.reference_dir(MODEL_ASSIGNMENT) / "metrics.json"
    data = json.loads(metrics.read_text())
    metrics.write_text(json.dumps({**data, "data_fingerprint": "0000"}))
    assert _problems(c) == ["reference_models/hw3/metrics.json: the hidden data changed since the reference "
                            f"was measured (0000 then, {data['data_fingerprint']} now): run `autograder "
                            "train-reference hw3`"]
    metrics.unlink()
    (c.release_dir(MODEL_ASSIGNMENT) / "hw3.ipynb").unlink()
    assert _problems(c) == [
        "release/hw3: hw3.ipynb not released: run `autograder generate hw3` (nbgrader generate_assignment)",
        "reference_models/hw3/metrics.json: no reference yet: run `autograder train-reference hw3`"]


def test_a_course_without_the_assignment(course):
    [problem] = [str(p) for p in check_assignment(course[0], "hw9")]
    assert "no assignment 'hw9'" in problem


def test_the_command_prints_one_line_each_and_fails(course):
    c, _hidden = course
    exe = Path(sys.executable).parent / "autograder"
    ok = subprocess.run([str(exe), "check", MODEL_ASSIGNMENT], cwd=c.root, capture_output=True, text=True)
    assert ok.returncode == 0 and ok.stdout == "hw3: no problems found\n"
    _edit_spec(c, 'task = "classifier"', 'task = "clasifier"')
    _edit_spec(c, 'model_file = "iris_model.keras"', 'model_file = "model.keras"')
    bad = subprocess.run([str(exe), "check", MODEL_ASSIGNMENT], cwd=c.root, capture_output=True, text=True)
    assert bad.returncode == 1 and len(bad.stdout.splitlines()) == 2, bad.stdout + bad.stderr


def test_the_bundled_course_has_no_problems(repo_root):
    course = Course.at(repo_root)
    assert {a: [str(p) for p in check_assignment(course, a)] for a in course.assignments()} == {
        a: [] for a in course.assignments()}
