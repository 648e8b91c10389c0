"""The grading-on-submit service: new submissions are collected and graded once, failures retried.

Submissions go through nbgrader's real exchange (the student side in-process, as in `autograder
demo`); grading is a recording function here (real grading on submit: tests/e2e/).
"""

from __future__ import annotations

import signal
import time

import pytest
from tiny_assignment import NAME, set_feedback_on_submit, tiny_course_copy

from autograder.demo import COURSE_ID
from autograder.demo import student as st
from autograder.hub.submissions import Round, SubmissionWatcher, serve
from autograder.results import SubmissionResult, write_result


@pytest.fixture
def course(tiny_course_template, tmp_path):
    """A fresh copy of the released course for each test (exchange, gradebook and all)."""
    course = tiny_course_copy(tiny_course_template, tmp_path / "course")
    set_feedback_on_submit(course.root, False)  # feedback needs autograded notebooks: see its own test
    return course


def submit(course, student: str) -> str:
    home = course.root / "homes" / student
    if not (home / NAME).is_dir():
        st.fetch(COURSE_ID, course.root / "exchange", home, NAME, student)
    time.sleep(0.002)  # distinct timestamps
    st.submit(COURSE_ID, course.root / "exchange", home, NAME, student)
    inbound = sorted((course.root / "exchange" / COURSE_ID / "inbound").glob(f"{student}+*"))
    return (inbound[-1] / "timestamp.txt").read_text().strip()


class Recorder:
    """A grading function that records what it is asked to grade and writes a result for it."""

    def __init__(self, fail: int = 0):
        self.calls: list[tuple[str, str]] = []
        self.fail = fail

    def __call__(self, course, assignment, students):
        if self.fail:
            self.fail -= 1
            raise RuntimeError("grader crashed")
        out = []
        for s in students:
            stamp = (course.submitted_dir(assignment, s) / "timestamp.txt").read_text().strip()
            self.calls.append((s, stamp))
            r = SubmissionResult(assignment=assignment, student=s, mode="load", parts=(), device="CPU",
                                 seed=0, data_fingerprint="", reference_version="", duration_s=0.0,
                                 submitted_at=stamp)
            write_result(r, course.result_path(assignment, s))
            out.append(r)
        return out


def quiet(_msg: str) -> None:
    pass


def test_new_submissions_are_collected_and_graded_once(course):
    grade = Recorder()
    watcher = SubmissionWatcher(course, grade=grade, log=quiet)
    assert watcher.poll_once().new == ()
    a1, b1 = submit(course, "alice"), submit(course, "bob")
    done = watcher.poll_once()
    assert sorted(grade.calls) == [("alice", a1), ("bob", b1)]
    assert (course.submitted_dir(NAME, "alice") / f"{NAME}.ipynb").is_file()  # collected by nbgrader
    assert len(done.graded) == 2 and done.errors == ()
    assert watcher.poll_once().new == ()  # nothing graded twice
    a2 = submit(course, "alice")
    assert [s.student for s in watcher.poll_once().new] == ["alice"]
    assert grade.calls[-1] == ("alice", a2) and len(grade.calls) == 3
    # a restarted service knows what is graded from the result files
    assert SubmissionWatcher(course, grade=grade, log=quiet).poll_once().new == ()


def test_only_the_latest_of_several_submissions_is_graded(course):
    grade = Recorder()
    stamps = [submit(course, "alice") for _ in range(3)]
    SubmissionWatcher(course, grade=grade, log=quiet).poll_once()
    assert grade.calls == [("alice", stamps[-1])]


def test_a_crashing_grader_is_reported_and_retried_next_round(course):
    grade = Recorder(fail=1)
    logged: list[str] = []
    watcher = SubmissionWatcher(course, grade=grade, log=logged.append)
    stamp = submit(course, "alice")
    first = watcher.poll_once()
    assert first.graded == () and "grader crashed" in first.errors[0]
    assert any("will retry" in m for m in logged)
    second = watcher.poll_once()
    assert second.errors == () and grade.calls == [("alice", stamp)]


def test_a_failing_collect_is_reported_and_nothing_is_graded(course):
    class BrokenCollect:
        def __init__(self, api):
            self._api = api
            self.config, self.coursedir = api.config, api.coursedir

        def collect(self, assignment):
            return {"success": False, "error": "exchange unreadable"}

    grade = Recorder()
    watcher = SubmissionWatcher(course, grade=grade, log=quiet)
    watcher._api = BrokenCollect(course.nbgrader_api())
    submit(course, "alice")
    done = watcher.poll_once()
    assert grade.calls == [] and "exchange unreadable" in done.errors[0]


def test_feedback_that_cannot_be_generated_is_an_error_but_the_grade_stays(course):
    # the tiny assignment asks for feedback on submit; the recorder does not autograde, so
    # nbgrader has nothing to build feedback from
    set_feedback_on_submit(course.root, True)
    grade = Recorder()
    watcher = SubmissionWatcher(course, grade=grade, log=quiet)
    submit(course, "alice")
    done = watcher.poll_once()
    assert len(done.graded) == 1 and done.released == ()
    assert "generate_feedback failed" in done.errors[0]
    assert watcher.poll_once().new == ()  # the grade is kept; feedback is not retried forever


def test_serve_stops_when_asked_between_rounds(course):
    import threading

    stop = threading.Event()
    rounds: list[Round] = []

    class Once(SubmissionWatcher):
        def poll_once(self):
            rounds.append(super().poll_once())
            stop.set()
            return rounds[-1]

    assert serve(Once(course, grade=Recorder(), log=quiet), interval_s=60, stop=stop) == 1


def test_serve_stops_cleanly_on_sigterm_and_restores_the_handler(course):
    import os
    import threading

    logged: list[str] = []
    before = signal.getsignal(signal.SIGTERM)
    timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGTERM))
    timer.start()
    try:
        rounds = serve(SubmissionWatcher(course, grade=Recorder(), log=logged.append), interval_s=0.2)
    finally:
        timer.cancel()
    assert rounds >= 1 and f"signal {int(signal.SIGTERM)}: stopping" in logged
    assert logged[-1] == f"stopped after {rounds} rounds"
    assert signal.getsignal(signal.SIGTERM) is before
