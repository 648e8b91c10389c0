"""A warm pool that outlives a batch: the grading service's workers, ready before anyone submits.

:func:`~.pool.grade_in_pool` starts its workers for one batch and lets them go when the batch is
done. The grading-on-submit service (:mod:`autograder.hub.submissions`) cannot wait for a batch:
submissions arrive one by one, and each should be graded at once by a worker that is already warm.
:class:`WarmPool` keeps the same workers (one per core, one per GPU, forked from a fork server that
imported TensorFlow once) for as long as the service runs, warms each of them for every watched
assignment when it starts (:func:`~.warm.warm_state`: spec, reference metrics, hidden split,
nbgrader's API, kernel factory), then grades one submission per task. Student code still runs in a
fresh sandboxed process per submission, exactly as in a batch.

A worker that dies (killed for memory, say) breaks a :class:`~concurrent.futures.ProcessPoolExecutor`
for good: the pool then starts afresh on the next submission, and the submissions it held fail with
:class:`~concurrent.futures.process.BrokenProcessPool` for the service to retry.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

from .placement import WorkerPlan

#: ``(assignment, mode)`` pairs a worker warms before its first task
Targets = Sequence[tuple[str, str]]

_STATE: dict = {}


def _init_worker(root: str, targets: Targets, slots, plan: WorkerPlan, everyone) -> None:
    """Take a slot of the plan, then warm up for every target (a target that fails to warm is
    left to its first submission, which reports the error; the worker serves the others)."""
    from .warm import warm_state

    slot = slots.get()
    _STATE["everyone"] = everyone
    _STATE["env"] = plan.env_for(slot)
    os.environ.update(_STATE["env"])
    for assignment, mode in targets:
        try:
            warm_state(root, assignment, mode, env=_STATE["env"])
        except Exception as exc:  # noqa: BLE001 - reported again when a submission needs it
            print(f"[warm pool] {assignment}: not warmed: {type(exc).__name__}: {exc}", file=sys.stderr)


def _ready(timeout_s: float) -> int:
    """This worker's process id, once every worker of the pool is in this call (so each of the
    pool's first tasks lands on a worker of its own)."""
    _STATE["everyone"].wait(timeout_s)
    return os.getpid()


def _grade(root: str, assignment: str, mode: str, student: str) -> dict:
    from .warm import grade_warm

    return grade_warm(root, assignment, mode, student, env=_STATE.get("env"))


class WarmPool:
    """Long-lived warm workers of one course, for submissions of any of ``targets``' assignments.

    Args:
        root: the course's root folder.
        targets: ``(assignment, mode)`` pairs every worker warms up for when it starts.
        plan: the workers (:func:`~.placement.plan_workers`).
        tensorflow: whether the fork server imports TensorFlow (some target grades a model).
    """

    def __init__(self, root: Path, targets: Targets, plan: WorkerPlan, tensorflow: bool = True):
        self.root, self.targets, self.plan, self.tensorflow = str(root), tuple(targets), plan, tensorflow
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    @property
    def size(self) -> int:
        return len(self.plan.slots)

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is not None and getattr(self._pool, "_broken", False):
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None
            if self._pool is None:
                from .pool import worker_context

                mp = worker_context(self.plan, self.tensorflow)
                slots = mp.Queue()
                for slot in self.plan.slots:
                    slots.put(slot)
                self._pool = ProcessPoolExecutor(
                    max_workers=self.size, mp_context=mp, initializer=_init_worker,
                    initargs=(self.root, self.targets, slots, self.plan, mp.Barrier(self.size)))
            return self._pool

    def start(self, timeout_s: float = 600.0) -> list[int]:
        """Start and warm every worker now; returns their process ids once all are warm.

        One task per worker, each waiting for all the others: the pool starts a process for each
        task no idle worker takes, so every worker starts, warms up and answers.
        """
        pool = self._executor()
        return [f.result() for f in [pool.submit(_ready, timeout_s) for _ in range(self.size)]]

    def submit(self, assignment: str, mode: str, student: str) -> Future:
        """Grade one collected submission; the future's value is the result as a dict."""
        return self._executor().submit(_grade, self.root, assignment, mode, student)

    def close(self) -> None:
        """Let the workers go (they finish the submission in hand first)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
            from .pool import stop_fork_server

            stop_fork_server()
