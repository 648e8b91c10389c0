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

import contextlib
import multiprocessing
import os
import threading
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed

from ..results import SubmissionResult
from .placement import WorkerPlan

_STATE: dict = {}
#: What the fork server imports once, before forking each worker (CPU-only batches).
WORKER_PRELOAD = ("autograder.runner.warm", "autograder.runner.grade", "nbgrader.apps")
#: what the fork server also imports when the assignment grades a model
MODEL_PRELOAD = ("tensorflow", "keras")


def worker_context(plan: WorkerPlan, tensorflow: bool = True):
    """How workers start: forked from a fork server that has imported TensorFlow (once for all
    workers, not once each) when no GPU is used; spawned fresh when GPUs are, because a worker
    must choose its GPU (``CUDA_VISIBLE_DEVICES``) before TensorFlow is imported.

    TensorFlow survives a fork made after its import but before any of its work (the kernel
    factory relies on the same): the fork server never runs a TensorFlow operation. Without
    ``tensorflow`` (an assignment that grades no model) it is not imported at all.
    """
    if plan.n_gpus or os.environ.get("AUTOGRADER_WORKER_START") == "spawn":
        return multiprocessing.get_context("spawn")
    from ..models import quiet_tensorflow

    quiet_tensorflow()  # the fork server imports TensorFlow with this process's environment
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["__main__", *WORKER_PRELOAD, *(MODEL_PRELOAD if tensorflow else ())])
    return ctx


def stop_fork_server() -> None:
    """Let the workers' fork server go now that the batch is done.

    Left to itself it would exit with this process, then take seconds to unload TensorFlow while
    still holding this process's stdout and stderr (a pipe reading them would wait for it). This
    is ``ForkServer._stop`` split in two: the server is told to go and forgotten now (the next
    batch starts a new one), and it is waited for in the background. Without those internals
    (another Python), the server simply goes with this process.
    """
    from multiprocessing import forkserver, util

    server = getattr(forkserver, "_forkserver", None)
    names = ("_lock", "_forkserver_pid", "_forkserver_alive_fd", "_forkserver_address")
    if server is None or not all(hasattr(server, n) for n in names):
        return
    with server._lock:
        pid, address = server._forkserver_pid, server._forkserver_address
        if pid is None:
            return
        os.close(server._forkserver_alive_fd)  # end of file on its "alive" pipe: it exits
        server._forkserver_alive_fd = server._forkserver_pid = server._forkserver_address = None

    def reap() -> None:
        with contextlib.suppress(OSError):
            os.waitpid(pid, 0)
        if isinstance(address, str) and not util.is_abstract_socket_namespace(address):
            with contextlib.suppress(OSError):
                os.unlink(address)

    threading.Thread(target=reap, daemon=True, name="fork-server-reaper").start()


def start_fork_server(plan: WorkerPlan, tensorflow: bool = True) -> None:
    """Start the fork server of ``plan``'s workers now, if they will have one: its imports (seconds)
    then overlap whatever this process does before the batch starts. Returns at once."""
    if len(plan.slots) > 1 and worker_context(plan, tensorflow).get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()


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
    mp = worker_context(plan, tensorflow=bool(ctx.models))
    slots = mp.Queue()
    for slot in plan.slots:
        slots.put(slot)
    try:
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
    finally:
        if mp.get_start_method() == "forkserver":
            stop_fork_server()
