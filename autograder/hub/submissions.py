"""Grading on submit: a JupyterHub service that grades each new submission minutes after it arrives.

Every round, :class:`SubmissionWatcher` looks at nbgrader's exchange inbound folder, finds the
submissions that nbgrader's ``collect`` would take and that are not graded yet (:mod:`.inbound`),
collects them with nbgrader's API (``NbGraderAPI.collect``: latest submission wins), grades them with
the runner (``grade_assignment``: notebook tests, then the model) and, when the assignment's spec
says ``feedback_on_submit = true``, generates and releases nbgrader feedback for those students. Late
submissions are scored by nbgrader's own late-penalty plugin against the assignment's due date.

:func:`serve` runs rounds until SIGTERM or SIGINT, finishing the round in progress (each graded
result is written atomically as it is ready, so a hard kill loses at most the submission in progress,
which the next start grades).
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..course import Course
from ..results import SubmissionResult, read_result
from .inbound import InboundSubmission, chosen_submissions, new_submissions, scan_inbound

Log = Callable[[str], None]
#: grades some students' collected submissions of an assignment; returns their results
GradeFn = Callable[[Course, str, list[str]], list[SubmissionResult]]


def grade_with_runner(course: Course, assignment: str, students: list[str]) -> list[SubmissionResult]:
    """The runner, in this process (one submission at a time: the hub machine serves students too)."""
    from ..runner.grade import grade_assignment

    return grade_assignment(course, assignment, students=students, workers=1, log=lambda _m: None)


def _stderr(message: str) -> None:
    print(f"[autograder watch] {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Round:
    """What one round of the watcher did."""

    new: tuple[InboundSubmission, ...] = ()
    graded: tuple[SubmissionResult, ...] = ()
    released: tuple[str, ...] = ()  #: ``assignment/student`` whose feedback was released
    errors: tuple[str, ...] = ()
    seconds: float = 0.0


@dataclass
class SubmissionWatcher:
    """Collects, grades and releases feedback for new submissions of ``course``.

    Attributes:
        assignments: the assignments to watch (default: every one with a grading spec).
        grade: how a batch is graded (default: the runner).
        graded: ``(assignment, student) -> submitted_at`` of what is graded, seeded from the
            result files so that a restarted watcher grades nothing twice.
    """

    course: Course
    assignments: tuple[str, ...] = ()
    grade: GradeFn = grade_with_runner
    log: Log = _stderr
    graded: dict[tuple[str, str], str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.assignments = tuple(self.assignments or self.course.assignments())
        self._api = None
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

    def poll_once(self) -> Round:
        """One round: collect, grade and release feedback for what is new."""
        start = time.perf_counter()
        subs = [s for s in scan_inbound(self.inbound) if s.assignment in self.assignments]
        new_all, graded, released, errors = [], [], [], []
        for assignment in sorted({s.assignment for s in subs}):
            duedate, before = self._due(assignment)
            chosen = chosen_submissions([s for s in subs if s.assignment == assignment], duedate, before)
            new = new_submissions(chosen, self.graded)
            if not new:
                continue
            new_all += new
            self.log(f"{assignment}: {len(new)} new submission(s): {', '.join(s.student for s in new)}")
            try:
                results = self._grade(assignment, [s.student for s in new])
            except Exception as exc:  # noqa: BLE001 - the service goes on; the next round retries
                errors.append(f"{assignment}: {type(exc).__name__}: {exc}")
                self.log(f"{assignment}: grading failed, will retry: {errors[-1]}")
                continue
            graded += results
            released += self._release(assignment, results, errors)
        return Round(tuple(new_all), tuple(graded), tuple(released), tuple(errors),
                     round(time.perf_counter() - start, 2))

    def _due(self, assignment: str):
        from nbgrader.api import Gradebook, MissingEntry

        with Gradebook(self.course.db_url, self.api.coursedir.course_id) as gb:
            try:
                duedate = gb.find_assignment(assignment).duedate
            except MissingEntry:
                duedate = None
        before = bool(self.api.config.ExchangeCollect.get("before_duedate", False))
        return duedate, before

    def _grade(self, assignment: str, students: list[str]) -> list[SubmissionResult]:
        outcome = self.api.collect(assignment)
        if not outcome.get("success"):
            raise RuntimeError(f"nbgrader collect failed: {outcome.get('error') or outcome.get('log')}")
        results = self.grade(self.course, assignment, students)
        for r in results:
            self.graded[(assignment, r.student)] = r.submitted_at
            self.log(f"{assignment}: {r.student} graded: {r.total:g}/{r.max_total:g} points "
                     f"(submitted {r.submitted_at})")
        missing = set(students) - {r.student for r in results}
        if missing:
            self.log(f"{assignment}: no result for {sorted(missing)}; retried next round")
        return results

    def _release(self, assignment: str, results: list[SubmissionResult], errors: list[str]) -> list[str]:
        if not results or not self.course.spec(assignment).feedback_on_submit:
            return []
        from ..student_feedback import write_sections

        released = []
        api = self.course.nbgrader_api(**{"AddModelFeedback.results_root": str(self.course.root / "results")})
        for r in results:
            write_sections(self.course, r, {})
            for step in (api.generate_feedback, api.release_feedback):
                outcome = step(assignment, r.student)
                if not outcome.get("success"):
                    errors.append(f"{assignment}/{r.student}: {step.__name__} failed: "
                                  f"{outcome.get('error') or outcome.get('log')}")
                    self.log(errors[-1])
                    break
            else:
                released.append(f"{assignment}/{r.student}")
                self.log(f"{assignment}: feedback released to {r.student}")
        return released


def serve(watcher: SubmissionWatcher, interval_s: float = 5.0, stop: threading.Event | None = None) -> int:
    """Run rounds every ``interval_s`` until SIGTERM/SIGINT (or ``stop``); returns rounds run.

    The round in progress finishes before the loop ends, so no submission is left half-recorded.
    """
    stop = stop or threading.Event()
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(
                sig, lambda signum, _frame: (watcher.log(f"signal {signum}: stopping"), stop.set()))
    rounds = 0
    try:
        watcher.log(f"watching {watcher.inbound} for {', '.join(watcher.assignments) or 'no assignment'} "
                    f"every {interval_s:g} s")
        while not stop.is_set():
            result = watcher.poll_once()
            rounds += 1
            if result.new:
                watcher.log(f"round {rounds}: {len(result.new)} new, {len(result.graded)} graded, "
                            f"{len(result.released)} feedback released, {len(result.errors)} errors "
                            f"in {result.seconds:.1f} s")
            stop.wait(interval_s)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    watcher.log(f"stopped after {rounds} rounds")
    return rounds
