"""Warm worker processes that grade submissions in parallel.

Each worker starts once (spawned, never forked: TensorFlow does not survive ``fork``), takes its
slot of the worker plan (the GPU it owns, or CPU), imports TensorFlow, loads the spec, the
reference metrics and the hidden split, opens nbgrader's API and starts its warm kernel factory
(:mod:`.warm_kernels`); then it grades one submission after another. Student code still runs only
in a fresh process per submission (a kernel forked from the factory, then emptied away; the
train-mode child in its own sandbox), so warm workers share nothing between students. The parent
records each result (gradebook, result file) as it arrives.
"""

from __future__ import annotations

import multiprocessing
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed

from ..results import SubmissionResult
from .placement import WorkerPlan

_STATE: dict = {}


def _init_worker(root: str, assignment: str, mode: str, slots, plan: WorkerPlan) -> None:
    from .warm import warm_state

    slot = slots.get()  # each worker takes one slot of the plan
    _STATE["key"] = (root, assignment, mode)
    _STATE["slot"] = slot
    warm_state(root, assignment, mode, env=plan.env_for(slot))


def _grade(student: str) -> dict:
    from .warm import grade_warm

    return grade_warm(*_STATE["key"], student)


def grade_in_pool(ctx, students: list[str], plan: WorkerPlan,
                  log: Callable[[str], None]) -> Iterator[SubmissionResult]:
    """Yield each student's result as soon as a worker finishes it.

    A submission whose grading raises inside the grader (a bug, not a student error) is logged
    and left without a result, so a rerun retries it; the batch goes on.
    """
    mp = multiprocessing.get_context("spawn")
    slots = mp.Queue()
    for slot in plan.slots:
        slots.put(slot)
    with ProcessPoolExecutor(
        max_workers=len(plan.slots), mp_context=mp, initializer=_init_worker,
        initargs=(str(ctx.course.root), ctx.spec.assignment, ctx.spec.mode, slots, plan),
    ) as pool:
        futures = {pool.submit(_grade, s): s for s in students}
        for future in as_completed(futures):
            student = futures[future]
            try:
                data = future.result()
            except Exception as exc:  # noqa: BLE001 - the batch goes on
                log(f"{student}: grading failed inside the grader, will retry on rerun: "
                    f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}")
                continue
            yield SubmissionResult.from_dict(data)
