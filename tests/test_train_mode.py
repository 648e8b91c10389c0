"""Train mode: rebuilding a student's model from notebook cells in a child process.

Each test writes a tiny notebook with nbformat. Runs that reach the child process import TensorFlow
there (several seconds each), so the number of such runs is kept small.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest
from process_helpers import processes_named

from autograder.errors import NotebookError, StudentCodeError, SubmissionError, TimeLimitError
from autograder.models import load_model_safely
from autograder.runner.train import train_model_from_notebook
from autograder.spec import parse_spec

pytestmark = pytest.mark.slow

IMPORTS = """\
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import keras
from keras import layers
"""

GOOD_BUILDER = """\
def build_model():
    model = keras.Sequential(
        [
            keras.Input(shape=(28, 28)),
            layers.Flatten(),
            layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
"""


def make_spec(time_limit_s: float = 120.0, cells=("imports", "build_model")):
    return parse_spec(
        {
            "assignment": "digits",
            "notebook": "digits",
            "task": "classifier",
            "dataset": "digits",
            "mode": "train",
            "model_file": "digits_model.keras",
            "model_grade_id": "model_quality",
            "seed": 1234,
            "budget": {
                "epochs": 1,
                "batch_size": 256,
                "time_limit_s": time_limit_s,
                "max_model_mb": 5,
            },
            "train": {"cells": list(cells), "builder": "build_model"},
            "metrics": [{"name": "accuracy", "points": 6, "baseline": "majority_class"}],
        }
    )


def solution_cell(grade_id: str, source: str, *, locked: bool = False):
    return nbformat.v4.new_code_cell(
        source,
        metadata={
            "nbgrader": {
                "grade_id": grade_id,
                "solution": not locked,
                "grade": False,
                "locked": locked,
                "schema_version": 3,
                "task": False,
            }
        },
    )


def write_notebook(path: Path, cells: dict[str, str]) -> Path:
    """A notebook with one markdown cell, then a graded code cell per ``grade_id: source``."""
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_markdown_cell("# Digits (test notebook)"))
    for gid, source in cells.items():
        nb.cells.append(solution_cell(gid, source, locked=gid == "imports"))
    nb.cells.append(nbformat.v4.new_code_cell("print('an ungraded cell')"))
    nbformat.validate(nb)
    nbformat.write(nb, path)
    return path


def run(tmp_path: Path, cells: dict[str, str], **spec_kw) -> Path:
    notebook = write_notebook(tmp_path / "digits.ipynb", cells)
    return train_model_from_notebook(notebook, make_spec(**spec_kw), tmp_path / "work")


def assert_reason(exc: SubmissionError, *fragments: str) -> None:
    reason = exc.reason
    assert reason and reason == str(exc)
    assert "\n" not in reason, f"reason should be one line: {reason!r}"
    assert "Traceback" not in reason
    for fragment in fragments:
        assert fragment in reason, f"{fragment!r} not in reason {reason!r}"


# ---------------------------------------------------------------------------
# Runs that train
# ---------------------------------------------------------------------------


def _check_trained(path: Path, workdir: Path) -> None:
    assert path.suffix == ".keras"
    assert path.is_file()
    assert path.parent == workdir
    model = load_model_safely(path, max_mb=5)
    out = model.predict(np.zeros((3, 28, 28), dtype=np.float32), verbose=0)
    assert out.shape == (3, 10)
    status = json.loads((workdir / "status.json").read_text())
    assert status["ok"] is True
    assert status["n_train"] == 4000  # the training split only, never the hidden test split


def test_correct_model_trains_and_loads_safely(tmp_path: Path) -> None:
    # Only the spec's cells run: the notebook's own training cell would fail if it did.
    trained = run(
        tmp_path,
        {
            "imports": IMPORTS,
            "build_model": GOOD_BUILDER,
            "train_model": "raise RuntimeError('the train_model cell must not run')\n",
        },
    )
    _check_trained(trained, tmp_path / "work")


def test_ipython_magic_lines_are_ignored(tmp_path: Path) -> None:
    imports = "%matplotlib inline\n!echo shell escapes are skipped too\n" + IMPORTS
    builder = "%load_ext autoreload\n" + GOOD_BUILDER + "    %time x = 1\n"
    trained = run(tmp_path, {"imports": imports, "build_model": builder})
    _check_trained(trained, tmp_path / "work")


# ---------------------------------------------------------------------------
# Student code that fails in the child
# ---------------------------------------------------------------------------


def test_cell_that_raises_names_cell_and_exception(tmp_path: Path) -> None:
    builder = GOOD_BUILDER + "\n\nratio = 1 / 0\n"
    with pytest.raises(StudentCodeError) as info:
        run(tmp_path, {"imports": IMPORTS, "build_model": builder})
    assert type(info.value) is StudentCodeError
    line = builder.splitlines().index("ratio = 1 / 0") + 1
    assert_reason(info.value, "build_model", "ZeroDivisionError", f"(line {line})")


def test_builder_that_raises_names_exception_and_line(tmp_path: Path) -> None:
    builder = GOOD_BUILDER.replace('activation="softmax"', 'activation="not_an_activation"')
    with pytest.raises(StudentCodeError) as info:
        run(tmp_path, {"imports": IMPORTS, "build_model": builder})
    assert type(info.value) is StudentCodeError
    line = next(i for i, s in enumerate(builder.splitlines(), 1) if "not_an_activation" in s)
    assert_reason(info.value, "build_model", "ValueError", "not_an_activation", f"(line {line})")


def test_training_that_fails_names_model_fit_not_the_builder(tmp_path: Path) -> None:
    builder = GOOD_BUILDER.replace("layers.Dense(10,", "layers.Dense(3,")  # labels go up to 9
    with pytest.raises(StudentCodeError) as info:
        run(tmp_path, {"imports": IMPORTS, "build_model": builder})
    assert_reason(info.value, "failed in model.fit of the model build_model() returned")


def test_missing_builder_function(tmp_path: Path) -> None:
    builder = GOOD_BUILDER.replace("def build_model():", "def make_model():")
    with pytest.raises(StudentCodeError) as info:
        run(tmp_path, {"imports": IMPORTS, "build_model": builder})
    assert type(info.value) is StudentCodeError
    assert_reason(info.value, "build_model()", "does not define")


def test_builder_returning_a_non_model(tmp_path: Path) -> None:
    builder = "def build_model():\n    return 3\n"
    with pytest.raises(StudentCodeError) as info:
        run(tmp_path, {"imports": IMPORTS, "build_model": builder})
    assert type(info.value) is StudentCodeError
    assert_reason(info.value, "build_model()", "int", "not a Keras model")


def test_builder_returning_an_uncompiled_model(tmp_path: Path) -> None:
    builder = "\n".join(
        line for line in GOOD_BUILDER.splitlines() if "model.compile(" not in line
    )
    with pytest.raises(StudentCodeError) as info:
        run(tmp_path, {"imports": IMPORTS, "build_model": builder})
    assert type(info.value) is StudentCodeError
    assert_reason(info.value, "build_model()", "compiled")


def test_infinite_loop_hits_the_time_limit(tmp_path: Path) -> None:
    # The child renames itself with a unique name: a pid it writes would be a pid of the sandbox's
    # own pid namespace, which can belong to an unrelated process out here.
    name = f"loop{os.getpid() % 100000}{time.monotonic_ns() % 1000000}"[:15]
    builder = (
        "def build_model():\n"
        f"    open('/proc/self/comm', 'w').write({name!r})\n"
        "    open('looping', 'w').write('yes')\n"
        "    while True:\n"
        "        pass\n"
    )
    start = time.monotonic()
    with pytest.raises(TimeLimitError) as info:
        run(tmp_path, {"imports": IMPORTS, "build_model": builder}, time_limit_s=5)
    elapsed = time.monotonic() - start
    assert type(info.value) is TimeLimitError
    assert info.value.code == "timeout"
    assert_reason(info.value, "5 s")
    assert elapsed < 30, f"the time limit of 5 s took {elapsed:.1f} s to enforce"
    assert not (tmp_path / "work" / "trained.keras").exists()
    # With 5 s the limit may strike while the child still imports TensorFlow; when the loop was
    # reached, the looping child must be gone (reaped within a few seconds), not left running.
    if (tmp_path / "work" / "looping").is_file():
        deadline = time.monotonic() + 5
        while processes_named(name) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert processes_named(name) == [], "the looping child outlived its time limit"


# ---------------------------------------------------------------------------
# Notebook problems, found before any child process starts
# ---------------------------------------------------------------------------


def test_cell_listed_in_spec_missing_from_notebook(tmp_path: Path) -> None:
    notebook = write_notebook(tmp_path / "digits.ipynb", {"imports": IMPORTS})
    start = time.monotonic()
    with pytest.raises(NotebookError) as info:
        train_model_from_notebook(notebook, make_spec(), tmp_path / "work")
    assert type(info.value) is NotebookError
    assert info.value.code == "notebook_error"
    assert_reason(info.value, "'build_model'")
    assert time.monotonic() - start < 5, "a missing cell must be found without running code"


def test_graded_cell_turned_into_markdown_is_missing(tmp_path: Path) -> None:
    notebook = write_notebook(tmp_path / "digits.ipynb", {"imports": IMPORTS})
    nb = nbformat.read(notebook, as_version=4)
    md = nbformat.v4.new_markdown_cell(GOOD_BUILDER)
    md.metadata = {"nbgrader": dict(nb.cells[1].metadata["nbgrader"], grade_id="build_model")}
    nb.cells.append(md)
    nbformat.write(nb, notebook)
    with pytest.raises(NotebookError) as info:
        train_model_from_notebook(notebook, make_spec(), tmp_path / "work")
    assert_reason(info.value, "'build_model'")


@pytest.mark.parametrize(
    "content",
    ['{"cells": [', "not json at all", '{"cells": [], "nbformat": 4}'],
    ids=["truncated", "garbage", "no_metadata"],
)
def test_corrupt_notebook_json(tmp_path: Path, content: str) -> None:
    notebook = tmp_path / "digits.ipynb"
    notebook.write_text(content)
    with pytest.raises(NotebookError) as info:
        train_model_from_notebook(notebook, make_spec(), tmp_path / "work")
    assert type(info.value) is NotebookError
    assert info.value.reason.startswith("'digits.ipynb' is not a readable notebook")


def test_missing_notebook_file(tmp_path: Path) -> None:
    with pytest.raises(NotebookError) as info:
        train_model_from_notebook(tmp_path / "digits.ipynb", make_spec(), tmp_path / "work")
    assert_reason(info.value, "'digits.ipynb'", "missing")

