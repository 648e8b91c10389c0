"""Load: many submissions arriving at once through nbgrader's exchange, each graded once.

The first test runs the watcher while 20 students submit 5 times each, concurrently, and checks
the once-and-only-once bookkeeping with a recording grader (100 real gradings would dominate the
suite's time; `benchmarks/deadline_rush.py` grades 100 for real); the second grades a smaller
concurrent batch for real, in the service's warm workers.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from tiny_assignment import NAME, set_feedback_on_submit, tiny_course_copy

from autograder.demo import COURSE_ID
from autograder.demo import student as st
from autograder.hub.submissions import SubmissionWatcher, serve
from autograder.results import SubmissionResult

pytestmark = pytest.mark.slow


@pytest.fixture
def course(tiny_course_template, tmp_path):
    course = tiny_course_copy(tiny_course_template, tmp_path / "course")
    set_feedback_on_submit(course.root, False)
    return course


def student_submits(course, student: str, times: int, answers: list[str] | None = None) -> None:
    exchange, home = course.root / "exchange", course.root / "homes" / student
    st.fetch(COURSE_ID, exchange, home, NAME, student)
    for i in range(times):
        if answers:
            st.fill_in(home / NAME / f"{NAME}.ipynb", {"square": answers[i]})
        st.submit(COURSE_ID, exchange, home, NAME, student)
        time.sleep(0.01)  # nbgrader's timestamps order a student's submissions


def inbound_by_student(course) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for folder in (course.root / "exchange" / COURSE_ID / "inbound").iterdir():
        out.setdefault(folder.name.split("+")[0], []).append((folder / "timestamp.txt").read_text().strip())
    return out


class Recorder:
    def __init__(self):
        self.calls: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def __call__(self, course, assignment, students):
        out = []
        for s in students:
            stamp = (course.submitted_dir(assignment, s) / "timestamp.txt").read_text().strip()
            with self.lock:
                self.calls.append((s, stamp))
            out.append(SubmissionResult(assignment=assignment, student=s, mode="load", parts=(), device="CPU",
                                        seed=0, data_fingerprint="", reference_version="", duration_s=0.0,
                                        submitted_at=stamp))
        return out


def test_100_concurrent_submissions_from_20_students_none_lost_none_graded_twice(course):
    students = [f"s{i:02d}" for i in range(20)]
    grade, stop = Recorder(), threading.Event()
    watcher = SubmissionWatcher(course, grade=grade, log=lambda _m: None)
    service = threading.Thread(target=serve, args=(watcher, 0.1, stop))
    start = time.perf_counter()
    service.start()
    try:
        with ThreadPoolExecutor(max_workers=20) as pool:
            list(pool.map(lambda s: student_submits(course, s, 5), students))
        submitted_s = time.perf_counter() - start
        inbound = inbound_by_student(course)
        latest = {s: max(stamps) for s, stamps in inbound.items()}
        deadline = time.monotonic() + 120
        def behind() -> bool:
            return any(watcher.graded.get((NAME, s)) != latest[s] for s in students)

        while time.monotonic() < deadline and behind():
            time.sleep(0.2)
    finally:
        stop.set()
        service.join(60)
    print(f"\n100 submissions in {submitted_s:.1f} s; {len(grade.calls)} gradings; all graded after "
          f"{time.perf_counter() - start:.1f} s")
    assert sorted(inbound) == students and sum(len(v) for v in inbound.values()) == 100  # none lost
    assert len(set(grade.calls)) == len(grade.calls)  # no submission graded twice
    assert all(stamp in inbound[s] for s, stamp in grade.calls)  # only real submissions
    for s in students:  # the latest of every student is graded, and collected
        assert watcher.graded[(NAME, s)] == latest[s]
        assert (course.submitted_dir(NAME, s) / "timestamp.txt").read_text().strip() == latest[s]
    assert not service.is_alive()


def test_concurrent_submissions_are_graded_for_real_latest_wins(course):
    right, wrong = "def square(x):\n    return x * x", "def square(x):\n    return x + x"
    plan = {"student1": [wrong, right], "student2": [right, wrong], "student3": [right, right]}
    with ThreadPoolExecutor(max_workers=3) as pool:
        list(pool.map(lambda s: student_submits(course, s, 2, plan[s]), plan))
    with SubmissionWatcher(course, log=print) as watcher:  # warm local workers, one per core
        start = time.perf_counter()
        done = watcher.poll_once()
        print(f"graded {len(done.graded)} submissions for real in {time.perf_counter() - start:.1f} s")
        assert watcher.poll_once().new == ()  # nothing graded twice
    totals = {r.student: r.total for r in done.graded}
    # the last submission counts: right -> 3 points, x + x -> only square(0) == 0 passes (1 point)
    assert totals == {"student1": 3.0, "student2": 1.0, "student3": 3.0}
    latest = {s: max(v) for s, v in inbound_by_student(course).items()}
    assert all(r.submitted_at == latest[r.student] for r in done.graded)
