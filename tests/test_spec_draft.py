"""`autograder new`: a commented spec drafted from the source notebooks, which parses once the
hidden split is named."""

from __future__ import annotations

import tomllib

import nbformat
import pytest
from own_course import MODEL_ASSIGNMENT, source_notebooks, write_model_course

from autograder.course import Course
from autograder.errors import AutograderError
from autograder.spec import parse_spec
from autograder.spec_draft import draft_spec, write_draft


@pytest.fixture
def course(tmp_path):
    _train, hidden = write_model_course(tmp_path / "course", tmp_path / "private")
    return Course.at(tmp_path / "course"), hidden


def test_a_model_assignment_is_drafted_from_its_notebook(course):
    c, hidden = course
    text = draft_spec(c, MODEL_ASSIGNMENT)
    assert 'hidden = "TODO' in text
    data = tomllib.loads(text.replace(text.split('hidden = "', 1)[1].split('"', 1)[0], str(hidden)))
    spec = parse_spec(data, base=c.root)
    assert (spec.notebook, spec.model_file) == ("hw3", "iris_model.keras")
    assert spec.model_grade_id == "model_quality"
    assert spec.train.cells == ("imports", "build_model") and spec.autograde.training_cell == "train_model"
    assert (spec.budget.epochs, spec.budget.batch_size) == (60, 16)
    assert spec.dataset.label == "species" and spec.dataset.train.name == "train.csv"
    assert [(m.name, m.points) for m in spec.metrics] == [("accuracy", 4.0)]
    assert "tests test_build_model (1); graded by hand or by the model: model_quality (4)" in text


def test_an_assignment_that_saves_no_model_is_tests_only(tmp_path):
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()  # noqa: F821\n")
    for name, nb in source_notebooks().items():
        (tmp_path / "source" / "hw1").mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, tmp_path / "source" / "hw1" / f"{name}.ipynb")
    spec = parse_spec(tomllib.loads(draft_spec(Course.at(tmp_path), "hw1")))
    assert spec.tests_only and spec.notebooks == ("arith", "strings")


def test_two_saved_models_give_two_parts(course):
    c, hidden = course
    path = c.source_dir(MODEL_ASSIGNMENT) / "hw3.ipynb"
    nb = nbformat.read(path, as_version=4)
    extra = nbformat.v4.new_code_cell("model.save('second_model.keras')")
    extra.metadata["nbgrader"] = {"grade_id": "save_again", "solution": True, "grade": False, "locked": False,
                                  "schema_version": 3}
    task = nbformat.v4.new_markdown_cell("The second model (2 points)")
    task.metadata["nbgrader"] = {"grade_id": "second_quality", "task": True, "points": 2, "solution": False,
                                 "grade": False, "locked": True, "schema_version": 3}
    nb.cells += [extra, task]
    nbformat.write(nb, path)
    text = draft_spec(c, MODEL_ASSIGNMENT).replace(
        "TODO: the hidden split's .csv file, outside source/ and release/", str(hidden))
    spec = parse_spec(tomllib.loads(text), base=c.root)
    assert [p.part for p in spec.parts] == ["iris_model", "second_model"]
    assert [p.model_file for p in spec.parts] == ["iris_model.keras", "second_model.keras"]
    assert [p.model_grade_id for p in spec.parts] == ["model_quality", "second_quality"]
    assert [p.metrics[0].points for p in spec.parts] == [4, 2]


def test_an_existing_spec_is_kept_unless_forced(course):
    c, _hidden = course
    path = write_draft(c, MODEL_ASSIGNMENT)
    path.write_text("# mine\n")
    with pytest.raises(AutograderError, match="exists; pass --force"):
        write_draft(c, MODEL_ASSIGNMENT)
    assert path.read_text() == "# mine\n"
    write_draft(c, MODEL_ASSIGNMENT, force=True)
    assert "drafted by `autograder new hw3`" in path.read_text()


def test_no_notebooks_no_draft(tmp_path):
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()  # noqa: F821\n")
    with pytest.raises(AutograderError, match="no notebooks in"):
        draft_spec(Course.at(tmp_path), "hw7")
