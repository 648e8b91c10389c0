"""Warm worker processes that grade submissions in parallel.

Each worker starts once (spawned, never forked: TensorFlow does not survive ``fork``), imports
TensorFlow, loads the spec, the reference metrics and the hidden split, and opens nbgrader's API;
then it grades one submission after another. Student code still runs only in a fresh sandbox per
submission (the kernel and the train-mode child), so warm workers share nothing between students.
The parent records each result (gradebook, result file) as it arrives.
"""

from __future__ import annotations

import multiprocessing
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from ..course import Course
from ..results import SubmissionResult

_STATE: dict = {}


def _init_worker(root: str, assignment: str, mode: str) -> None:
    import os
    import warnings

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    warnings.filterwarnings("ignore", message=".*not in session.*")
    from ..models import current_device
    from .grade import GradingContext, kernel_overrides

    course = Course(Path(root))
    ctx = GradingContext.load(course, assignment, mode)
    _STATE["ctx"] = ctx
    _STATE["api"] = course.nbgrader_api(**kernel_overrides(ctx.spec))
    _STATE["device"] = current_device()  # imports TensorFlow now, once per worker


def _grade(student: str) -> dict:
    from .grade import compute_submission

    return compute_submission(_STATE["ctx"], student, _STATE["api"]).to_dict()


def grade_in_pool(ctx, students: list[str], workers: int,
                  log: Callable[[str], None]) -> Iterator[SubmissionResult]:
    """Yield each student's result as soon as a worker finishes it.

    A submission whose grading raises inside the grader (a bug, not a student error) is logged
    and left without a result, so a rerun retries it; the batch goes on.
    """
    mp = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=mp, initializer=_init_worker,
        initargs=(str(ctx.course.root), ctx.spec.assignment, ctx.spec.mode),
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
