"""Function checks forked from a warm factory: the same verdicts as a fresh sandbox, one factory for
every submission of a worker, nothing left behind from one submission for the next.

The factory here preloads ``traitlets`` (installed, not the standard library: what makes a check
worth a warm factory), so these tests do not pay for TensorFlow; the bundled course's checks that
use Keras take the same path (tests/test_assignment_*.py).
"""

from __future__ import annotations

import dataclasses
import os
import types

import pytest
from test_function_checks import SCALE, SOLUTION, notebook, spec_with

from autograder.check_runs import CheckRun, checked_parts, run_calls, verdicts, warm_modules
from autograder.runner import warm_kernels
from autograder.runner.sandbox import isolation_mode

pytestmark = pytest.mark.skipif(isolation_mode() != "bwrap",
                                reason="warm factories need bubblewrap; checks then start cold")
WARM = ("traitlets",)


@pytest.fixture(scope="module")
def instructor(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("instructor")
    spec = spec_with()
    run = CheckRun(spec.checks)
    return spec, run, run_calls(notebook(tmp / "source.ipynb", SOLUTION, SCALE), run, [0, 1], tmp / "w", spec)


def checked(tmp_path, instructor, *sources, spec=None):
    base, run, want = instructor
    spec = spec or base
    got = run_calls(notebook(tmp_path / "student.ipynb", *sources), run, [0, 1], tmp_path / "w", spec,
                    warm=WARM)
    return verdicts(run, spec, got, want)


def test_a_warm_check_gives_a_fresh_sandboxs_verdicts_from_one_factory(tmp_path, instructor):
    warm_kernels.close_factory()
    found = checked(tmp_path / "a", instructor, SOLUTION, SCALE)
    assert [v.fraction for v in found.values()] == [1.0, 1.0]
    factory = warm_kernels.current("checks")
    assert factory is not None and factory.key.modules == WARM and not factory.busy
    wrong = checked(tmp_path / "b", instructor, SOLUTION.replace("[:, -2]", "[:, -1]"), SCALE)
    assert wrong[("hw", "test_second_best")].fraction == 0 and wrong[("hw", "test_scale")].fraction == 1
    assert warm_kernels.current("checks") is factory and factory.alive()  # the same factory, again


LEAVE_TRACES = '''
import os, subprocess
def second_best(scores):
    open("/tmp/left-behind", "w").write("x")
    open("left-behind", "w").write("x")
    subprocess.Popen(["sleep", "600"], start_new_session=True)
    return np.argsort(scores, axis=1)[:, -2]
'''
FIND_TRACES = '''
import os, subprocess
def second_best(scores):
    traces = os.path.exists("/tmp/left-behind") or os.path.exists("left-behind")
    sleeping = subprocess.run(["pgrep", "-f", "sleep 600"], capture_output=True).returncode == 0
    right = np.argsort(scores, axis=1)[:, -2]
    return right if not (traces or sleeping) else right * 0
'''


def test_nothing_one_submission_leaves_reaches_the_next(tmp_path, instructor):
    assert checked(tmp_path / "a", instructor, LEAVE_TRACES, SCALE)[("hw", "test_second_best")].fraction == 1
    assert checked(tmp_path / "b", instructor, FIND_TRACES, SCALE)[("hw", "test_second_best")].fraction == 1


def test_a_warm_check_that_exits_or_overruns_gets_zero_with_the_reason(tmp_path, instructor):
    exits = checked(tmp_path / "a", instructor, "import os\ndef second_best(scores):\n    os._exit(0)", SCALE)
    assert "exited (exit code 0) before giving" in exits[("hw", "test_second_best")].reason
    spec = spec_with()
    slow_spec = dataclasses.replace(spec, limits=dataclasses.replace(spec.limits, wall_s=3))
    sleeps = checked(tmp_path / "b", instructor, "import time\ndef second_best(scores):\n    time.sleep(60)",
                     SCALE, spec=slow_spec)
    assert "time limit of 3 s exceeded" in sleeps[("hw", "test_second_best")].reason
    assert warm_kernels.current("checks") is not None  # the factory survives what its child did


def test_only_checks_that_import_something_slow_get_a_warm_factory(tmp_path):
    uses_numpy = notebook(tmp_path / "a.ipynb", SOLUTION)
    assert warm_modules(uses_numpy, ("second_best",)) == ()
    uses_more = notebook(tmp_path / "b.ipynb", "import traitlets\ndef f(x):\n    return traitlets.Int(x)")
    assert warm_modules(uses_more, ("f",)) == ("traitlets",)
    assert warm_modules(tmp_path / "missing.ipynb", ("f",)) == ()
    assert os.environ.get("AUTOGRADER_WARM_KERNELS") != "0"


SLOW_SOLUTION = ("import traitlets\ndef second_best(scores):\n    assert traitlets.Int  # uses it\n"
                 "    return np.argsort(scores, axis=1)[:, -2]\n")


def test_the_instructors_side_and_each_students_fork_from_one_factory(tmp_path):
    from autograder.course import Course
    from autograder.results import PartResult

    warm_kernels.close_factory()
    course = Course(tmp_path)
    notebook(course.source_dir("hw") / "hw.ipynb", SLOW_SOLUTION, SCALE)
    notebook(course.release_dir("hw") / "hw.ipynb", "def second_best(scores):\n    pass\n", SCALE)
    (course.release_dir("hw") / "data.txt").write_text("shared data")
    spec = spec_with()
    ctx = types.SimpleNamespace(course=course, spec=spec, checks=CheckRun(spec.checks))
    kernel = (PartResult("test_second_best", "test", 2.0, 2.0, notebook="hw"),
              PartResult("test_scale", "test", 1.0, 1.0, notebook="hw"))
    factories = set()
    answers = {"s1": SLOW_SOLUTION, "s2": "def second_best(scores):\n"
                                          "    return np.argsort(-np.asarray(scores), axis=1)[:, 1]\n",
               "s3": SLOW_SOLUTION.replace("[:, -2]", "[:, -1]")}
    points = {}
    for student, answer in answers.items():
        notebook(course.submitted_dir("hw", student) / "hw.ipynb", answer, SCALE)
        points[student] = sum(p.points for p in checked_parts(ctx, student, kernel))
        factories.add(warm_kernels.current("checks"))
    assert points == {"s1": 3.0, "s2": 3.0, "s3": 1.0}
    assert len(factories) == 1 and None not in factories  # the instructor's run started it; all reused it
    assert next(iter(factories)).key.modules == ("numpy", "traitlets")  # what the slice imports
