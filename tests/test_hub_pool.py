"""The grading service's warm workers, for real: started before anyone submits, several
submissions graded at once, and a worker that dies does not stop the service.

Submissions go through nbgrader's real exchange and are graded by real nbgrader autograde in the
warm pool (the tiny tests-only assignment: no TensorFlow, so the workers start in seconds).
"""

from __future__ import annotations

import os
import signal
import time

import pytest
from test_hub_submissions import submit
from tiny_assignment import NAME, set_feedback_on_submit, tiny_course_copy

from autograder.demo import COURSE_ID
from autograder.demo import student as st
from autograder.hub.graders import PoolGrader, make_grader
from autograder.hub.submissions import SubmissionWatcher
from autograder.runner.executors import ExecutorError

RIGHT, WRONG = "def square(x):\n    return x * x", "def square(x):\n    return x + x"


@pytest.fixture
def course(tiny_course_template, tmp_path):
    course = tiny_course_copy(tiny_course_template, tmp_path / "course")
    set_feedback_on_submit(course.root, True)
    return course


def answer(course, student: str, source: str) -> str:
    home = course.root / "homes" / student
    st.fetch(COURSE_ID, course.root / "exchange", home, NAME, student)
    st.fill_in(home / NAME / f"{NAME}.ipynb", {"square": source})
    return submit(course, student)


def test_warm_workers_grade_submissions_at_once_and_release_feedback(course):
    grader, logged = PoolGrader(workers=2), []
    with SubmissionWatcher(course, grader=grader, log=logged.append) as watcher:
        watcher.start()  # before anyone submits: both workers up and warm
        pids = grader.worker_pids
        assert len(set(pids)) == 2 and "workers warm" in logged
        plan = {"alice": RIGHT, "bob": WRONG, "carol": RIGHT}
        stamps = {s: answer(course, s, src) for s, src in plan.items()}
        start = time.perf_counter()
        started = watcher.step()
        assert len(started.new) == 3 and watcher.in_progress == 3  # handed over, not waited for
        done = started + watcher.drain()
        seconds = time.perf_counter() - start
        assert grader.worker_pids == pids  # the same warm workers, not new ones per submission
    print(f"3 submissions graded by 2 warm workers in {seconds:.1f} s")
    # x + x only passes square(0) == 0: 1 point of 3
    assert {r.student: r.total for r in done.graded} == {"alice": 3.0, "bob": 1.0, "carol": 3.0}
    assert all(r.submitted_at == stamps[r.student] for r in done.graded)
    assert sorted(done.released) == [f"{NAME}/{s}" for s in ("alice", "bob", "carol")]
    assert sorted(p.name for p in (course.root / "feedback").iterdir()) == ["alice", "bob", "carol"]
    assert done.errors == ()


def test_a_worker_that_dies_is_replaced_and_its_submission_graded(course):
    grader, logged = PoolGrader(workers=2), []
    with SubmissionWatcher(course, grader=grader, log=logged.append) as watcher:
        watcher.start()
        os.kill(grader.worker_pids[0], signal.SIGKILL)  # e.g. the kernel OOM killer
        stamp = answer(course, "alice", RIGHT)
        graded = ()
        for _ in range(3):  # the pool is started afresh; a submission it held is retried
            graded += watcher.poll_once().graded
            if graded:
                break
    assert [(r.student, r.total, r.submitted_at) for r in graded] == [("alice", 3.0, stamp)]


@pytest.mark.parametrize("options, message", [
    ({"executor": "local", "workers": 0}, "--workers must be at least 1"),
    ({"executor": "local", "address": "auto"}, "--address is for --executor ray"),
    ({"executor": "dask"}, "unknown executor"),
])
def test_the_service_refuses_bad_executor_options_before_it_starts(options, message):
    with pytest.raises(ExecutorError, match=message):
        make_grader(**options)


def test_watch_says_what_is_wrong_with_its_options(course, capsys):
    from autograder.cli import main

    assert main(["watch", "--course-dir", str(course.root), "--workers", "0", "--once"]) == 2
    assert "--workers must be at least 1" in capsys.readouterr().err
    assert main(["watch", "--course-dir", str(course.root), "--interval", "0"]) == 2
    assert "--interval must be positive" in capsys.readouterr().err
