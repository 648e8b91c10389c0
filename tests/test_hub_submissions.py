"""The grading-on-submit service: new submissions are collected and graded once, failures retried.

Submissions go through nbgrader's real exchange (the student side in-process, as in `autograder
demo`); grading is a recording function here (real grading on submit: tests/e2e/).
"""

from __future__ import annotations

import signal
import threading
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


def test_serve_stops_when_asked_between_steps(course):
    import threading

    stop = threading.Event()
    rounds: list[Round] = []

    class Once(SubmissionWatcher):
        def step(self):
            rounds.append(super().step())
            stop.set()
            return rounds[-1]

    assert serve(Once(course, grade=Recorder(), log=quiet), interval_s=60, stop=stop) == 1


class Gate(Recorder):
    """A recorder that holds each grading until the test opens the gate for that student."""

    def __init__(self, fail: int = 0):
        super().__init__(fail)
        self.gates: dict[str, threading.Event] = {}
        self.entered: dict[str, threading.Event] = {}

    def gate(self, student: str) -> threading.Event:
        return self.gates.setdefault(student, threading.Event())

    def __call__(self, course, assignment, students):
        for s in students:
            self.entered.setdefault(s, threading.Event()).set()
            assert self.gate(s).wait(30), f"{s}'s gate never opened"
        return super().__call__(course, assignment, students)


def settle(watcher: SubmissionWatcher, expected: int) -> Round:
    """Steps until ``expected`` gradings have finished (each step never waits for one)."""
    done, deadline = Round(), time.monotonic() + 30
    while len(done.graded) < expected and time.monotonic() < deadline:
        watcher.wait(0.2)
        done += watcher.step()
    return done


def test_submissions_are_graded_several_at_once_each_released_as_it_finishes(course):
    grade = Gate()
    watcher = SubmissionWatcher(course, grade=grade, log=quiet)
    a, b = submit(course, "alice"), submit(course, "bob")
    started = watcher.step()
    assert sorted(s.student for s in started.new) == ["alice", "bob"] and started.graded == ()
    assert watcher.in_progress == 2  # the step did not wait for either
    assert grade.entered.setdefault("alice", threading.Event()).wait(10)
    assert grade.entered.setdefault("bob", threading.Event()).wait(10)  # both graded at once
    grade.gate("bob").set()
    done = settle(watcher, 1)
    assert [r.student for r in done.graded] == ["bob"] and watcher.in_progress == 1
    grade.gate("alice").set()
    assert [r.student for r in settle(watcher, 1).graded] == ["alice"]
    assert sorted(grade.calls) == [("alice", a), ("bob", b)]
    watcher.close()


def test_a_resubmission_during_grading_waits_for_it_then_the_latest_wins(course):
    grade = Gate()
    watcher = SubmissionWatcher(course, grade=grade, log=quiet)
    first = submit(course, "alice")
    watcher.step()
    assert grade.entered.setdefault("alice", threading.Event()).wait(10)
    second = submit(course, "alice")
    assert watcher.step().new == ()  # not collected while the first is graded...
    stamp = (course.submitted_dir(NAME, "alice") / "timestamp.txt").read_text().strip()
    assert stamp == first  # ...so its folder is not replaced under the running grading
    grade.gate("alice").set()
    assert [r.submitted_at for r in settle(watcher, 2).graded] == [first, second]
    assert grade.calls == [("alice", first), ("alice", second)]
    assert watcher.graded[(NAME, "alice")] == second
    assert watcher.poll_once().new == ()
    watcher.close()


def test_a_submission_that_keeps_failing_is_retried_then_given_up(course):
    grade, logged = Recorder(fail=10), []
    watcher = SubmissionWatcher(course, grade=grade, log=logged.append, max_attempts=2)
    submit(course, "alice")
    assert "grader crashed" in watcher.poll_once().errors[0]
    assert "grader crashed" in watcher.poll_once().errors[0]
    assert watcher.poll_once().new == ()  # given up: not retried every second forever
    assert any("not retried until alice submits again" in m for m in logged)
    grade.fail = 0
    stamp = submit(course, "alice")  # a new submission is graded
    assert [r.submitted_at for r in watcher.poll_once().graded] == [stamp]


def test_a_step_that_fails_is_logged_and_the_service_goes_on(course):
    stop, logged = threading.Event(), []

    class Flaky(SubmissionWatcher):
        calls = 0

        def step(self):
            Flaky.calls += 1
            if Flaky.calls == 1:
                raise OSError("database is locked")
            stop.set()
            return super().step()

    stamp = submit(course, "alice")
    watcher = Flaky(course, grade=Recorder(), log=logged.append)
    assert serve(watcher, interval_s=0.05, stop=stop) == 2
    assert any("step 1 failed, going on: OSError: database is locked" in m for m in logged)
    assert watcher.graded[(NAME, "alice")] == stamp  # the second step graded it; closing waited


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
    assert logged[-1] == f"stopped after {rounds} steps"
    assert signal.getsignal(signal.SIGTERM) is before
