"""Function checks (``[[checks]]``): parsing, inputs, comparison, the code slice, and the sandboxed
calls of honest, wrong and cheating functions (numpy only: each sandbox starts in well under 1 s)."""

from __future__ import annotations

import types
from pathlib import Path

import nbformat
import numpy as np
import pytest

from autograder.check_runs import CheckRun, checked_parts, run_calls, verdicts
from autograder.course import Course
from autograder.errors import SpecError
from autograder.function_checks import compare, draw_inputs, parse_checks
from autograder.function_slice import function_slice
from autograder.plain_values import NotPlain, read_value, to_plain, write_value
from autograder.results import PartResult
from autograder.spec import parse_spec

SOLUTION = '''
def second_best(scores):
    """Per row, the index of the second largest score."""
    ### BEGIN SOLUTION
    return np.argsort(scores, axis=1)[:, -2]
    ### END SOLUTION
'''
CHECKS = [{"cell": "test_second_best", "function": "second_best", "dims": {"n": [1, 30], "k": [3, 12]},
           "args": [{"shape": ["n", "k"], "distribution": "normal"}]},
          {"cell": "test_scale", "function": "scale", "dims": {"n": [1, 20]}, "partial_credit": True,
           "sets": 4, "args": [{"shape": ["n"]}, {"kind": "float", "name": "by", "low": 1, "high": 3}]}]
SCALE = "def scale(x, by=2.0):\n    return x * by\n"


def spec_with(checks=CHECKS):
    return parse_spec({"assignment": "hw", "notebook": "hw", "tests_only": True, "checks": checks,
                       "limits": {"wall_s": 60}})


def notebook(path: Path, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import numpy as np\nimport keras  # never imported by a check")]
    for i, src in enumerate(sources):
        cell = nbformat.v4.new_code_cell(src)
        cell.metadata["nbgrader"] = {"grade_id": f"answer{i}", "solution": True, "grade": False,
                                     "locked": False, "schema_version": 3}
        nb.cells.append(cell)
    nb.cells.append(nbformat.v4.new_code_cell("model = keras.Sequential()  # training: left out"))
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def expected(tmp_path_factory):
    """One run's instructor outputs (computed once for the whole module, as once per grading run)."""
    tmp = tmp_path_factory.mktemp("instructor")
    spec = spec_with()
    run = CheckRun(spec.checks)
    path = notebook(tmp / "source.ipynb", SOLUTION, SCALE)
    return spec, run, run_calls(path, run, [0, 1], tmp / "work", spec)


def verdict_of(tmp_path, expected, *sources, cell="test_second_best"):
    spec, run, want = expected
    got = run_calls(notebook(tmp_path / "student.ipynb", *sources), run, [0, 1], tmp_path / "work", spec)
    return verdicts(run, spec, got, want)[("hw", cell)]


# -- spec -------------------------------------------------------------------------------------


def test_a_spec_keeps_its_checks_whatever_its_kind():
    spec = spec_with()
    assert [c.function for c in spec.checks] == ["second_best", "scale"]
    assert spec.checks[1].args[1].name == "by" and spec.checks[0].notebook == "hw"


@pytest.mark.parametrize("change, message", [
    ({"function": "not a name"}, "plain function name"),
    ({"cell": ""}, "missing required key 'cell'"),
    ({"args": [{"shape": ["m"]}]}, "dimension 'm'"),
    ({"args": [{"kind": "tensor"}]}, "kind must be one of"),
    ({"args": [{"dtype": "float16"}]}, "dtype must be one of"),
    ({"args": [{"low": 2, "high": 1}]}, "low must be below high"),
    ({"args": [{"kind": "list"}]}, "needs of ="),
    ({"args": [{"name": "a"}, {}]}, "positional arguments"),
    ({"dims": {"n": [5, 1]}}, "dims.n"),
    ({"sets": 0}, "sets must be"),
    ({"rtol": -1}, "rtol and atol"),
    ({"dtype": "loose"}, "dtype must be one of"),
    ({"tolerance": 1}, "unknown keys"),
])
def test_each_mistake_in_a_check_is_a_spec_error(change, message):
    with pytest.raises(SpecError, match=message):
        parse_checks([{**CHECKS[0], **change}], "spec.toml")


def test_checks_of_one_cell_must_agree_on_partial_credit():
    with pytest.raises(SpecError, match="disagree on partial_credit"):
        parse_checks([CHECKS[0], {**CHECKS[0], "partial_credit": True}], "spec.toml")


# -- inputs and comparison ----------------------------------------------------------------------


def test_inputs_follow_the_seed_and_the_declared_dims():
    check = spec_with().checks[0]
    a, b, c = draw_inputs(check, 1), draw_inputs(check, 1), draw_inputs(check, 2)
    assert all(np.array_equal(x[0][0], y[0][0]) for x, y in zip(a, b, strict=True))
    assert not all(x[0][0].shape == y[0][0].shape and np.array_equal(x[0][0], y[0][0])
                   for x, y in zip(a, c, strict=True))
    for (x,), _ in a:
        assert x.dtype == np.float32 and 1 <= x.shape[0] <= 30 and 3 <= x.shape[1] <= 12


def test_list_items_share_their_dims_across_arguments():
    check = parse_checks([{"cell": "c", "function": "f", "dims": {"l": [1, 4], "h": [1, 9]},
                           "args": [{"kind": "list", "length": "l", "of": {"shape": ["h", 2]}}] * 2}], "s")[0]
    for (xs, ys), _ in draw_inputs(check, 5):
        assert [x.shape for x in xs] == [y.shape for y in ys]


@pytest.mark.parametrize("got, want, found", [
    (np.zeros(3), np.zeros((3, 1)), "shape"),
    (np.zeros(()), np.zeros(3), "shape"),  # no broadcasting
    (np.zeros(3, "int64"), np.zeros(3), "int values"),
    (np.array([np.nan, 0.0]), np.array([1.0, 0.0]), "NaN"),
    (np.array([1.0, 2.0]), np.array([1.0, 2.1]), "1 of 2 entries"),
    ([np.zeros(2)], [np.zeros(2), np.zeros(2)], "1 values; expected 2"),
    ("abc", "abd", "not the expected string"),
    (np.zeros(2), "ab", "should be a string"),
])
def test_differences_are_named(got, want, found):
    check = spec_with().checks[0]
    assert found in compare(got, want, check)


def test_equal_values_within_tolerance_match():
    check = spec_with().checks[0]
    assert compare([np.asarray(np.float32(1.0000001))], [np.asarray(1.0)], check) == ""


def test_plain_values_refuse_objects_and_links(tmp_path):
    with pytest.raises(NotPlain, match="Keras Model|not numbers"):
        to_plain(type("Model", (), {})())
    with pytest.raises(NotPlain, match="object"):
        to_plain(np.array([object()]))
    manifest = write_value([np.arange(3), "s", {"k": 1.5}], tmp_path, "out-0")
    assert read_value(manifest, tmp_path)[1] == "s"
    (tmp_path / "out-0-0.npy").unlink()
    (tmp_path / "out-0-0.npy").symlink_to(tmp_path / "out-0-1.npy")
    with pytest.raises(NotPlain, match="regular file"):
        read_value(manifest, tmp_path)
    np.save(tmp_path / "out-9-0.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(NotPlain, match="without pickles"):
        read_value({"t": "array", "f": "out-9-0.npy"}, tmp_path)


# -- the code a check runs ----------------------------------------------------------------------


def test_the_slice_holds_what_the_function_uses_and_nothing_else():
    cells = [("imports", "import numpy as np\nimport keras\nx = 1"),
             ("data", "data = np.load('d.npz')\nvocab = list(data['v'])\nprint(vocab)\n"
                      "model = keras.Model()"),
             ("f", "def f(model, x):\n    return [vocab.index(c) for c in x] + [np.pi, model]")]
    sliced = function_slice(cells, ("f", "g"))
    code = "\n".join(c for _, c in sliced.cells)
    assert "import numpy" in code and "np.load" in code and "vocab = " in code
    assert "keras" not in code and "print" not in code and "x = 1" not in code
    assert sliced.missing == ("g",)


# -- sandboxed calls ----------------------------------------------------------------------------


def test_the_instructors_solution_matches_itself(expected):
    spec, run, want = expected
    assert all(not r.error for r in want.values())
    found = verdicts(run, spec, want, want)
    assert found[("hw", "test_second_best")].fraction == 1 and found[("hw", "test_scale")].fraction == 1


def test_an_honest_function_written_differently_earns_the_points(tmp_path, expected):
    honest = "def second_best(scores):\n    s = np.array(scores)\n    return np.argsort(-s, axis=1)[:, 1]\n"
    assert verdict_of(tmp_path, expected, honest, SCALE).fraction == 1


def test_a_wrong_function_earns_nothing_with_a_readable_reason(tmp_path, expected):
    wrong = "def second_best(scores):\n    return np.argsort(scores, axis=1)[:, -1]\n"
    found = verdict_of(tmp_path, expected, wrong, SCALE)
    assert found.fraction == 0
    assert "0 of 3 input sets" in found.reason and "on inputs (array (" in found.reason


def test_partial_credit_is_the_fraction_of_matching_sets(tmp_path, expected):
    spec, run, _ = expected
    half = [kw["by"] for _args, kw in run.inputs()[1]][:2]
    fraction = verdict_of(tmp_path, expected, SOLUTION,
                          f"def scale(x, by=2.0):\n    return x * by if by in {half!r} else x\n",
                          cell="test_scale").fraction
    assert fraction == 0.5


@pytest.mark.parametrize("source, reason", [
    ("y = 1", "defines no function 'second_best'"),
    ("def second_best(scores):\n    raise ValueError('boom')", "raised ValueError: boom"),
    ("def second_best(scores):\n    return object()", "returned a object"),
    ("def second_best(scores):\n    return keras.Sequential()", "returned"),
    ("def second_best(scores):\n    return undefined_helper(scores)", "NameError"),
    ("import os\ndef second_best(scores):\n    os._exit(0)", "exited (exit code 0) before giving"),
])
def test_a_function_that_cannot_be_checked_gets_zero(tmp_path, expected, source, reason):
    found = verdict_of(tmp_path, expected, source, SCALE)
    assert found.fraction == 0 and reason in found.reason


def test_a_function_past_its_time_gets_zero(tmp_path, expected, monkeypatch):
    import autograder.check_runs as check_runs

    monkeypatch.setattr(check_runs, "CALL_TIMEOUT_S", 1.0)
    found = verdict_of(tmp_path, expected, "import time\ndef second_best(scores):\n"
                       "    try:\n        time.sleep(30)\n    except Exception:\n        pass\n", SCALE)
    assert found.fraction == 0 and "ran longer than 1 s" in found.reason


# Cheats: each is wrong except when it finds the answer, which it cannot.
READ_THE_ANSWER = '''
def second_best(scores):
    import glob, json, pathlib
    for p in glob.glob("/**/source.ipynb", recursive=True) + glob.glob("../*/*.ipynb"):
        try:
            return [json.load(open(p))]  # the solution's notebook, were it readable
        except OSError:
            pass
    return np.zeros(len(scores), "int64")
'''
STACK_INSPECTION = '''
import inspect
def second_best(scores):
    checked = any("check_worker" in f.filename for f in inspect.stack())
    for f in inspect.stack():
        for name, value in f.frame.f_locals.items():
            if name in ("want", "expected", "results") and checked:
                return value  # the expected answer, were it in this process
    if checked:
        np.allclose = lambda *a, **k: True  # patch what a comparison would call, were it here
        return np.zeros(len(scores), "int64")
    return np.argsort(scores, axis=1)[:, -2]
'''
SHAPE_DETECTION = '''
def second_best(scores):
    if np.shape(scores) == (50, 10):  # the visible test's inputs: behave
        return np.argsort(scores, axis=1)[:, -2]
    return np.argsort(scores, axis=1)[:, -1]
'''
FORGED_STATUS = '''
import json, os, sys
def second_best(scores):
    frame = sys._getframe(1)
    while frame is not None and "token" not in frame.f_locals:
        frame = frame.f_back
    job = frame.f_locals["job"]
    np.save(os.path.join(job["folder"], "out-0-0.npy"), np.zeros(len(scores), "int64"))
    fake = {"ok": True, "value": {"t": "array", "f": "out-0-0.npy"}}
    json.dump({"token": frame.f_locals["token"], "ok": True, "failed": [],
               "results": [fake] * 100}, open(job["status"], "w"))
    os._exit(0)
'''


@pytest.mark.parametrize("cheat", [READ_THE_ANSWER, STACK_INSPECTION, SHAPE_DETECTION, FORGED_STATUS],
                         ids=["read_the_answer", "stack_inspection", "shape_detection", "forged_status"])
def test_a_cheating_function_earns_nothing(tmp_path, expected, cheat):
    assert verdict_of(tmp_path, expected, cheat, SCALE).fraction == 0


# -- points of cells ------------------------------------------------------------------------------


def test_checked_cells_take_the_checks_points_and_others_keep_nbgraders(tmp_path):
    course = Course(tmp_path)
    notebook(course.source_dir("hw") / "hw.ipynb", SOLUTION, SCALE)
    notebook(course.submitted_dir("hw", "s1") / "hw.ipynb",
             "def second_best(scores):\n    return np.argmax(scores, axis=1)\n", SCALE)
    ctx = types.SimpleNamespace(course=course, spec=spec_with(), checks=CheckRun(spec_with().checks))
    kernel = (PartResult("test_second_best", "test", 2.0, 2.0, notebook="hw"),  # the kernel passed it
              PartResult("test_scale", "test", 1.0, 1.0, notebook="hw"),
              PartResult("test_other", "test", 1.0, 1.0, notebook="hw"))
    parts = {p.name: p for p in checked_parts(ctx, "s1", kernel)}
    assert parts["test_second_best"].points == 0 and parts["test_second_best"].checked_by == "second_best"
    assert "function check of second_best" in parts["test_second_best"].reason
    assert parts["test_scale"].points == 1.0 and parts["test_scale"].reason == ""
    assert parts["test_scale"].checked_by == "scale"
    assert parts["test_other"] == kernel[2]


def test_a_cell_the_kernel_failed_keeps_its_zero_and_starts_no_sandbox(tmp_path):
    course = Course(tmp_path)  # no notebooks at all: a sandbox would fail loudly
    ctx = types.SimpleNamespace(course=course, spec=spec_with(), checks=CheckRun(spec_with().checks))
    failed = (PartResult("test_second_best", "test", 0.0, 2.0, notebook="hw",
                         reason="the notebook 'hw.ipynb' is missing from the submission"),
              PartResult("test_scale", "test", 0.0, 1.0, notebook="hw", reason="AssertionError"))
    assert checked_parts(ctx, "nobody", failed) == failed
    assert ctx.checks._expected is None  # not even the instructor's outputs were computed
