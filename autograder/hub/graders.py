"""How the grading service grades one submission: through the same executors as ``autograder grade``.

A :class:`Grader` starts grading a collected submission and returns at once (a
:class:`~concurrent.futures.Future`); when that future is done, the service calls
:meth:`Grader.finish` in its own thread, which writes what came back into the course and records
the result (gradebook, result file) exactly as a batch does. Three graders:

* :class:`PoolGrader` (the default): a :class:`~autograder.runner.warm_pool.WarmPool` of warm local
  workers, one per core, started and warmed when the service starts;
* :class:`RayGrader`: one Ray task per submission (``--executor ray``); each assignment's grading
  bundle goes into Ray's object store once, so nodes need no shared filesystem;
* :class:`FunctionGrader`: any function ``(course, assignment, students) -> results`` that records
  its own results, run in threads (tests, or an instructor's own grading function).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol

from ..course import Course
from ..results import SubmissionResult
from ..runner.executors import RayExecutor, import_ray, init_ray, make_executor

Log = Callable[[str], None]
#: grades some students' collected submissions of an assignment and records them; returns the results
GradeFn = Callable[[Course, str, list[str]], list[SubmissionResult]]


class Grader(Protocol):
    def start(self, course: Course, assignments: tuple[str, ...], log: Log) -> None:
        """Get ready before the first submission (warm workers, connect to a cluster)."""

    def submit(self, course: Course, assignment: str, student: str) -> Future:
        """Start grading one collected submission; returns at once."""

    def finish(self, course: Course, assignment: str, student: str, value, log: Log) -> SubmissionResult:
        """The recorded result, from what the future returned (called in the service's thread)."""

    def close(self) -> None:
        """Let workers and connections go."""


class PoolGrader:
    """Warm local worker processes, kept for as long as the service runs (``workers``: default one
    per core, and one per GPU)."""

    def __init__(self, workers: int | None = None):
        self.workers = workers
        self._pool = None
        self._specs: dict[str, object] = {}
        self.worker_pids: list[int] = []  #: the warm workers' process ids, once started

    def start(self, course: Course, assignments: tuple[str, ...], log: Log) -> None:
        from ..runner.placement import count_gpus, plan_workers
        from ..runner.warm_pool import WarmPool

        specs = {a: course.spec(a) for a in assignments}
        self._specs.update(specs)
        plan = plan_workers(count_gpus(), os.cpu_count() or 1, 2**31, self.workers)
        self._pool = WarmPool(course.root, [(a, s.mode) for a, s in specs.items()], plan,
                              tensorflow=any(s.models() for s in specs.values()))
        log(f"starting {self._pool.size} warm worker(s) for {', '.join(assignments) or 'no assignment'}")
        self.worker_pids = self._pool.start()
        log("workers warm")

    def _spec(self, course: Course, assignment: str):
        if assignment not in self._specs:
            self._specs[assignment] = course.spec(assignment)
        return self._specs[assignment]

    def submit(self, course: Course, assignment: str, student: str) -> Future:
        if self._pool is None:
            self.start(course, (assignment,), lambda _m: None)
        return self._pool.submit(assignment, self._spec(course, assignment).mode, student)

    def finish(self, course: Course, assignment: str, student: str, value, log: Log) -> SubmissionResult:
        from ..runner.grade import record_result

        result = SubmissionResult.from_dict(value)
        record_result(course, self._spec(course, assignment), result)
        return result

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None


class RayGrader:
    """One Ray task per submission on the cluster at ``address`` (none: a local Ray instance)."""

    def __init__(self, address: str | None = None, cpus_per_task: float = 1.0):
        self.address, self.cpus_per_task = address, cpus_per_task
        self._ray = None
        self._tasks: dict[str, object] = {}
        self._started_here = False
        self._log: Log = lambda _m: None

    def start(self, course: Course, assignments: tuple[str, ...], log: Log) -> None:
        from ..runner.executors import check_reachable

        self._log = log
        self._ray = import_ray()
        if not self._ray.is_initialized():
            check_reachable(self.address)
            init_ray(self._ray, self.address)
            self._started_here = True
        for assignment in assignments:
            self._assignment(course, assignment)

    def _assignment(self, course: Course, assignment: str):
        if assignment not in self._tasks:
            from ..runner.executors import RayTasks
            from ..runner.grade import GradingContext

            self._tasks[assignment] = RayTasks.start(self._ray, GradingContext.load(course, assignment),
                                                     self.cpus_per_task, self._log)
        return self._tasks[assignment]

    def submit(self, course: Course, assignment: str, student: str) -> Future:
        if self._ray is None:
            self.start(course, (), self._log)
        return self._assignment(course, assignment).submit(student).future()

    def finish(self, course: Course, assignment: str, student: str, value, log: Log) -> SubmissionResult:
        from ..runner.grade import record

        tasks = self._assignment(course, assignment)
        result = tasks.receive(student, value, log)
        record(tasks.ctx, result)
        return result

    def close(self) -> None:
        self._tasks.clear()
        if self._started_here and self._ray is not None:
            self._ray.shutdown()
        self._ray, self._started_here = None, False


class FunctionGrader:
    """A grading function that records its own results, one submission per call, in ``threads``."""

    def __init__(self, grade: GradeFn, threads: int = 4):
        self.grade = grade
        self._threads = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="grade")

    def start(self, course: Course, assignments: tuple[str, ...], log: Log) -> None:
        pass

    def submit(self, course: Course, assignment: str, student: str) -> Future:
        return self._threads.submit(self.grade, course, assignment, [student])

    def finish(self, course: Course, assignment: str, student: str, value, log: Log) -> SubmissionResult:
        mine = [r for r in value if r.student == student]
        if not mine:
            raise RuntimeError(f"the grading function returned no result for {student}")
        return mine[0]

    def close(self) -> None:
        self._threads.shutdown(wait=True)


def make_grader(executor: str = "local", *, workers: int | None = None, address: str | None = None) -> Grader:
    """The grader for ``autograder watch --executor``, its options checked as ``autograder grade``
    checks them, before the service starts.

    Raises:
        ExecutorError: unknown executor, fewer than 1 worker, ``address`` without Ray, Ray missing,
            cluster unreachable.
    """
    chosen = make_executor(executor, workers=workers, address=address)
    if isinstance(chosen, RayExecutor):
        return RayGrader(chosen.address, chosen.cpus_per_task)
    return PoolGrader(chosen.workers)
