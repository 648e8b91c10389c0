"""Tests for autograder.notebook: reading submissions, graded cells' code, failed cells."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from autograder.errors import NotebookError
from autograder.notebook import cell_failures, cell_sources, grade_id, read_notebook

REPO = Path(__file__).resolve().parents[1]


def graded(cell, gid: str, **nbgrader):
    cell.metadata["nbgrader"] = {"grade_id": gid, "schema_version": 3, **nbgrader}
    return cell


def write(tmp_path: Path, cells, name: str = "nb.ipynb") -> Path:
    path = tmp_path / name
    nbformat.write(new_notebook(cells=cells), path)
    return path


# --- read_notebook ----------------------------------------------------------------------------


def test_read_missing_notebook(tmp_path):
    with pytest.raises(NotebookError) as info:
        read_notebook(tmp_path / "digits.ipynb")
    assert "digits.ipynb" in str(info.value) and "missing" in str(info.value)
    assert info.value.code == "notebook_error"
    assert "digits.ipynb" in info.value.reason


@pytest.mark.parametrize("content", ["{not json", "", '{"cells": 3}', "[1, 2]"],
                         ids=["corrupt", "empty", "bad-cells", "list"])
def test_read_corrupt_notebook(tmp_path, content):
    path = tmp_path / "digits.ipynb"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(NotebookError, match="not a readable notebook"):
        read_notebook(path)


def test_read_directory_is_missing(tmp_path):
    (tmp_path / "digits.ipynb").mkdir()
    with pytest.raises(NotebookError, match="missing"):
        read_notebook(tmp_path / "digits.ipynb")


def test_read_committed_notebook():
    nb = read_notebook(REPO / "release" / "digits" / "digits.ipynb")
    ids = [grade_id(c) for c in nb.cells if grade_id(c)]
    assert "build_model" in ids and "model_quality" in ids


# --- cell_sources -----------------------------------------------------------------------------


def test_cell_sources_in_requested_order(tmp_path):
    path = write(tmp_path, [
        graded(new_code_cell("a = 1"), "first"),
        new_code_cell("ignored = True"),
        graded(new_code_cell("b = 2"), "second"),
        graded(new_code_cell("c = 3"), "third"),
    ])
    assert cell_sources(path, ("third", "first")) == [("third", "c = 3"), ("first", "a = 1")]
    assert cell_sources(path, ()) == []


def test_cell_sources_strip_magics(tmp_path):
    source = "%matplotlib inline\nimport math\n!pip install x\n%time y = 1\nx = math.pi"
    path = write(tmp_path, [graded(new_code_cell(source), "imports")])
    [(gid, code)] = cell_sources(path, ("imports",))
    assert gid == "imports"
    lines = code.splitlines()
    assert lines[1] == "import math" and lines[4] == "x = math.pi"
    for i in (0, 2, 3):
        assert lines[i].lstrip().startswith("pass  # ")
    namespace: dict = {}
    exec(compile(code, "<cell>", "exec"), namespace)  # the stripped code is plain Python
    assert namespace["x"] == pytest.approx(3.14159, abs=1e-4)


def test_cell_sources_indented_magic_keeps_indentation(tmp_path):
    source = "total = 0\nfor i in range(3):\n    %time total += i\n    total += i"
    path = write(tmp_path, [graded(new_code_cell(source), "loop")])
    [(_, code)] = cell_sources(path, ("loop",))
    namespace: dict = {}
    exec(compile(code, "<cell>", "exec"), namespace)
    assert namespace["total"] == 3


def test_cell_sources_missing_grade_id(tmp_path):
    path = write(tmp_path, [graded(new_code_cell("a = 1"), "first")])
    with pytest.raises(NotebookError) as info:
        cell_sources(path, ("first", "build_model"))
    assert "'build_model'" in str(info.value)


def test_cell_sources_ignores_markdown_with_the_grade_id(tmp_path):
    path = write(tmp_path, [graded(new_markdown_cell("# text"), "build_model")])
    with pytest.raises(NotebookError, match="build_model"):
        cell_sources(path, ("build_model",))


def test_cell_sources_of_committed_source_notebook():
    path = REPO / "source" / "digits" / "digits.ipynb"
    [(_, imports), (_, build)] = cell_sources(path, ("imports", "build_model"))
    assert "import keras" in imports
    assert "def build_model" in build


# --- cell_failures ----------------------------------------------------------------------------


def test_cell_failures(tmp_path):
    ansi_tb = ["\x1b[0;31mAssertionError\x1b[0m: boom"]
    path = write(tmp_path, [
        graded(new_code_cell("ok", outputs=[new_output("stream", name="stdout", text="hi\n")]),
               "passes"),
        graded(new_code_cell("assert False", outputs=[
            new_output("stream", name="stdout", text="before\n"),
            new_output("error", ename="AssertionError",
                       evalue="\x1b[0;31maccuracy 0.5 is below 0.8\x1b[0m", traceback=ansi_tb),
        ]), "test_errors", grade=True, points=1),
        graded(new_code_cell("import sys", outputs=[
            new_output("stream", name="stderr", text="\x1b[1mwarning: careful\x1b[0m\nline 2\n"),
        ]), "test_stderr", grade=True, points=1),
        new_code_cell("raise ValueError", outputs=[
            new_output("error", ename="ValueError", evalue="not graded", traceback=[]),
        ]),
        new_code_cell("import sys", outputs=[
            new_output("stream", name="stderr", text="ungraded stderr\n"),
        ]),
    ])
    assert cell_failures(path) == {
        "test_errors": "AssertionError: accuracy 0.5 is below 0.8",
        "test_stderr": "the cell wrote to stderr: warning: careful",
    }


def test_cell_failures_first_failure_wins(tmp_path):
    path = write(tmp_path, [
        graded(new_code_cell("x", outputs=[
            new_output("stream", name="stderr", text="first\n"),
            new_output("error", ename="NameError", evalue="x", traceback=[]),
        ]), "cell"),
    ])
    assert cell_failures(path) == {"cell": "the cell wrote to stderr: first"}


def test_cell_failures_long_messages_are_cut(tmp_path):
    path = write(tmp_path, [
        graded(new_code_cell("x", outputs=[
            new_output("error", ename="ValueError", evalue="v" * 2000, traceback=[]),
        ]), "cell"),
    ])
    reason = cell_failures(path)["cell"]
    assert reason.startswith("ValueError: vvv") and len(reason) <= 500


def test_cell_failures_none(tmp_path):
    path = write(tmp_path, [graded(new_code_cell("x = 1"), "cell")])
    assert cell_failures(path) == {}


def test_cell_failures_missing_notebook(tmp_path):
    with pytest.raises(NotebookError):
        cell_failures(tmp_path / "nope.ipynb")
