"""Grading on submit: a JupyterHub service that grades each submission as it arrives, several at once.

:class:`SubmissionWatcher` looks at nbgrader's exchange inbound folder every step, finds the
submissions that nbgrader's ``collect`` would take and that are not graded yet (:mod:`.inbound`),
collects each with nbgrader's API (``NbGraderAPI.collect`` for that one student: latest submission
wins) and hands it to a :mod:`grader <.graders>` at once: by default warm local workers, one per
core, the same as ``autograder grade`` uses (Ray with ``--executor ray``). As each grading
finishes, the service records it (gradebook, result file) and, when the assignment's spec says
``feedback_on_submit = true``, generates and releases nbgrader feedback for that student. Late
submissions are scored by nbgrader's own late-penalty plugin against the assignment's due date.

A student who submits again while their previous submission is being graded waits for it: the
newer one is collected and graded as soon as the previous one is done, so no folder is replaced
under a running grading, nothing is graded twice and the latest submission wins. A grading that
fails inside the grader is retried on later steps, at most ``max_attempts`` times per submission.

:func:`serve` runs steps until SIGTERM or SIGINT, then waits for the gradings in progress (each
graded result is written atomically as it is ready, so a hard kill loses at most the submissions
in progress, which the next start grades).
"""

from __future__ import annotations

import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from pathlib import Path

from ..course import Course
from ..errors import AutograderError
from ..results import SubmissionResult, read_result
from .graders import FunctionGrader, GradeFn, Grader, PoolGrader
from .inbound import InboundSubmission, chosen_submissions, new_submissions, scan_inbound

Log = Callable[[str], None]


def _stderr(message: str) -> None:
    print(f"[autograder watch] {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Round:
    """What one step (or round) of the watcher did."""

    new: tuple[InboundSubmission, ...] = ()  #: submissions collected and handed to the grader
    graded: tuple[SubmissionResult, ...] = ()  #: gradings that finished
    released: tuple[str, ...] = ()  #: ``assignment/student`` whose feedback was released
    errors: tuple[str, ...] = ()
    seconds: float = 0.0

    def __add__(self, other: Round) -> Round:
        return Round(self.new + other.new, self.graded + other.graded, self.released + other.released,
                     self.errors + other.errors, round(self.seconds + other.seconds, 2))


@dataclass
class SubmissionWatcher:
    """Collects, grades and releases feedback for new submissions of ``course``.

    Attributes:
        assignments: the assignments to watch (default: every one with a grading spec).
        grader: where submissions are graded (default: warm local workers, :class:`.PoolGrader`).
        grade: instead of ``grader``, a function ``(course, assignment, students) -> results`` that
            records its own results (run in threads: :class:`.FunctionGrader`).
        graded: ``(assignment, student) -> submitted_at`` of what is graded, seeded from the
            result files so that a restarted watcher grades nothing twice.
        max_attempts: gradings of one submission that may fail inside the grader before the
            service stops retrying it (until the student submits again or the service restarts).
    """

    course: Course
    assignments: tuple[str, ...] = ()
    grader: Grader | None = None
    grade: GradeFn | None = None
    log: Log = _stderr
    graded: dict[tuple[str, str], str] = field(default_factory=dict)
    max_attempts: int = 3

    def __post_init__(self) -> None:
        self.assignments = tuple(self.assignments or self.course.assignments())
        if self.grader is None:
            self.grader = FunctionGrader(self.grade) if self.grade is not None else PoolGrader()
        self._api = self._feedback_api = None
        self._started = False
        self._running: dict[Future, InboundSubmission] = {}
        self._failures: dict[InboundSubmission, int] = {}
        for a in self.assignments:
            for path in sorted(self.course.results_dir(a).glob("*.json")):
                try:
                    self.graded[(a, path.stem)] = read_result(path).submitted_at
                except (OSError, ValueError, KeyError, TypeError):
                    continue  # a corrupt result is graded again

    @property
    def api(self):
        if self._api is None:
            self._api = self.course.nbgrader_api()
        return self._api

    @property
    def inbound(self) -> Path:
        coursedir = self.api.coursedir
        return Path(self.api.config.Exchange.root) / coursedir.course_id / "inbound"

    @property
    def in_progress(self) -> int:
        """Submissions being graded now."""
        return len(self._running)

    def start(self) -> None:
        """Get the grader ready (warm workers) before anyone submits; done once, by the first step."""
        if not self._started:
            self._started = True
            self.grader.start(self.course, self.assignments, self.log)

    def step(self) -> Round:
        """Record and release what finished, then collect and start grading what is new. Never
        waits for a grading."""
        begin = time.perf_counter()
        self.start()
        finished = self._finish_done()
        started, errors = self._start_new()
        return finished + Round(new=started, errors=errors, seconds=round(time.perf_counter() - begin, 2))

    def wait(self, timeout_s: float, stop: threading.Event | None = None) -> None:
        """Wait until a grading finishes, ``stop`` is set, or ``timeout_s`` passes."""
        if self._running:
            wait(list(self._running), timeout=timeout_s, return_when=FIRST_COMPLETED)
        elif stop is not None:
            stop.wait(timeout_s)
        else:
            time.sleep(timeout_s)

    def drain(self) -> Round:
        """Wait for every grading in progress and record it."""
        done = Round()
        while self._running:
            wait(list(self._running), return_when=FIRST_COMPLETED)
            done += self._finish_done()
        return done

    def poll_once(self) -> Round:
        """One round: collect, grade and release feedback for what is new, and wait for it."""
        done = self.step()
        return done + self.drain()

    def close(self) -> None:
        """Wait for the gradings in progress, then let the grader's workers go."""
        self.drain()
        self.grader.close()

    def __enter__(self) -> SubmissionWatcher:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    # -- starting gradings -------------------------------------------------------------------

    def _start_new(self) -> tuple[tuple[InboundSubmission, ...], tuple[str, ...]]:
        subs = [s for s in scan_inbound(self.inbound) if s.assignment in self.assignments]
        busy = {(s.assignment, s.student) for s in self._running.values()}
        started, errors = [], []
        for assignment in sorted({s.assignment for s in subs}):
            duedate, before = self._due(assignment)
            chosen = chosen_submissions([s for s in subs if s.assignment == assignment], duedate, before)
            for sub in new_submissions(chosen, self.graded):
                if (assignment, sub.student) in busy or self._failures.get(sub, 0) >= self.max_attempts:
                    continue  # after the grading in progress; or given up on this submission
                error = self._collect(sub)
                if error:
                    errors.append(error)
                    continue
                self.log(f"{assignment}: {sub.student} submitted at {sub.timestamp}: grading")
                self._running[self.grader.submit(self.course, assignment, sub.student)] = sub
                started.append(sub)
        return tuple(started), tuple(errors)

    def _collect(self, sub: InboundSubmission) -> str:
        """nbgrader's collect for this one student; an error message, or ``""``."""
        coursedir = self.api.coursedir
        previous = coursedir.student_id
        coursedir.student_id = sub.student
        try:
            outcome = self.api.collect(sub.assignment)
        finally:
            coursedir.student_id = previous
        if outcome.get("success"):
            return ""
        error = (f"{sub.assignment}: nbgrader collect failed for {sub.student}: "
                 f"{outcome.get('error') or outcome.get('log')}")
        self._failed(sub, error)
        return error

    def _due(self, assignment: str):
        """The due date and ``ExchangeCollect.before_duedate``; the gradebook is read (every step)
        only when that option makes the due date matter."""
        before = bool(self.api.config.ExchangeCollect.get("before_duedate", False))
        if not before:
            return None, False
        from nbgrader.api import Gradebook, MissingEntry

        with Gradebook(self.course.db_url, self.api.coursedir.course_id) as gb:
            try:
                return gb.find_assignment(assignment).duedate, True
            except MissingEntry:
                return None, True

    def _failed(self, sub: InboundSubmission, error: str) -> None:
        self._failures[sub] = attempts = self._failures.get(sub, 0) + 1
        if attempts >= self.max_attempts:
            self.log(f"{error}; failed {attempts} times: not retried until {sub.student} submits "
                     "again or the service restarts")
        else:
            self.log(f"{error}; will retry")

    # -- finishing gradings ------------------------------------------------------------------

    def _finish_done(self) -> Round:
        graded, released, errors = [], [], []
        for future in [f for f in self._running if f.done()]:
            sub = self._running.pop(future)
            try:
                value = future.result()
                result = self.grader.finish(self.course, sub.assignment, sub.student, value, self.log)
            except Exception as exc:  # noqa: BLE001 - the service goes on; a later step retries
                cause = getattr(exc, "cause", None) or exc
                detail = "" if isinstance(cause, AutograderError) else f"\n{traceback.format_exc(limit=3)}"
                errors.append(f"{sub.assignment}: grading {sub.student} failed: "
                              f"{type(cause).__name__}: {cause}")
                self._failed(sub, errors[-1] + detail)
                continue
            self.graded[(sub.assignment, result.student)] = result.submitted_at
            self.log(f"{sub.assignment}: {result.student} graded: {result.total:g}/{result.max_total:g} "
                     f"points (submitted {result.submitted_at})")
            graded.append(result)
            released += self._release(sub.assignment, result, errors)
        return Round(graded=tuple(graded), released=tuple(released), errors=tuple(errors))

    def _release(self, assignment: str, result: SubmissionResult, errors: list[str]) -> list[str]:
        if not self.course.spec(assignment).feedback_on_submit:
            return []
        from ..student_feedback import write_sections

        if self._feedback_api is None:
            self._feedback_api = self.course.nbgrader_api(
                **{"AddModelFeedback.results_root": str(self.course.root / "results")})
        write_sections(self.course, result, {})
        for step in (self._feedback_api.generate_feedback, self._feedback_api.release_feedback):
            outcome = step(assignment, result.student)
            if not outcome.get("success"):
                errors.append(f"{assignment}/{result.student}: {step.__name__} failed: "
                              f"{outcome.get('error') or outcome.get('log')}")
                self.log(errors[-1])
                return []
        self.log(f"{assignment}: feedback released to {result.student}")
        return [f"{assignment}/{result.student}"]


def serve(watcher: SubmissionWatcher, interval_s: float = 1.0, stop: threading.Event | None = None) -> int:
    """Run steps until SIGTERM/SIGINT (or ``stop``); returns the steps run.

    Between steps the service waits ``interval_s`` at most, less when a grading finishes (its
    feedback is released at once). When asked to stop, it waits for the gradings in progress, so
    no submission is left half-recorded, then lets its workers go.
    """
    stop = stop or threading.Event()
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(
                sig, lambda signum, _frame: (watcher.log(f"signal {signum}: stopping"), stop.set()))
    steps = 0
    try:
        watcher.log(f"watching {watcher.inbound} for {', '.join(watcher.assignments) or 'no assignment'} "
                    f"every {interval_s:g} s")
        while not stop.is_set():
            steps += 1
            try:
                result = watcher.step()
            except Exception as exc:  # noqa: BLE001 - e.g. a gradebook busy for a moment: next step
                watcher.log(f"step {steps} failed, going on: {type(exc).__name__}: {exc}\n"
                            f"{traceback.format_exc(limit=3)}")
                watcher.wait(interval_s, stop)
                continue
            if result.new or result.graded:
                watcher.log(f"{len(result.new)} started, {len(result.graded)} graded, "
                            f"{len(result.released)} feedback released, {len(result.errors)} errors; "
                            f"{watcher.in_progress} in progress")
            watcher.wait(interval_s, stop)
        if watcher.in_progress:
            watcher.log(f"waiting for the {watcher.in_progress} grading(s) in progress")
    finally:
        try:
            watcher.close()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    watcher.log(f"stopped after {steps} steps")
    return steps
