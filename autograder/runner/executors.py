"""Executors: where a batch's submissions are graded. The driver records what they yield.

An executor takes the grading context and the students left to grade, and yields each
:class:`SubmissionResult` as soon as it is ready; :func:`grade_assignment` records it (gradebook,
result file) and updates the progress line. Two executors:

* :class:`LocalExecutor` (the default): warm worker processes on this machine, no extra service;
* :class:`RayExecutor`: one Ray task per submission on a Ray cluster (``--executor ray``), whose
  nodes need not share the course's filesystem. Ray is imported only here, only when this
  executor runs.

A submission whose grading raises inside the grader (a bug, not a student error) is logged and
left without a result, so a rerun retries it; the batch goes on.
"""

from __future__ import annotations

import os
import socket
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

from ..errors import AutograderError
from ..results import SubmissionResult

EXECUTORS = ("local", "ray")

Log = Callable[[str], None]


class ExecutorError(AutograderError):
    """The chosen executor cannot run (Ray missing, cluster unreachable, bad options)."""


class Executor(Protocol):
    def run(self, ctx, students: list[str], log: Log) -> Iterator[SubmissionResult]:
        """Grade ``students``; yield each result as it finishes (unordered)."""


@dataclass(frozen=True)
class LocalExecutor:
    """Warm worker processes here: one per core (``workers``), one model worker per GPU."""

    workers: int | None = None

    def warm_up(self, tensorflow: bool = True) -> None:
        """Start what the workers start from (their fork server) before the batch is known;
        with TensorFlow imported only when the batch grades a model (``tensorflow``)."""
        from .placement import count_gpus, plan_workers
        from .pool import start_fork_server

        start_fork_server(plan_workers(count_gpus(), os.cpu_count() or 1, 2**31, self.workers), tensorflow)

    def run(self, ctx, students: list[str], log: Log) -> Iterator[SubmissionResult]:
        from .placement import count_gpus, plan_workers

        plan = plan_workers(count_gpus(), os.cpu_count() or 1, len(students), self.workers)
        if len(plan.slots) <= 1:
            yield from _grade_here(ctx, students)
            return
        if plan.n_gpus:
            log(f"{plan.gpu_workers} GPU worker(s) and {len(plan.slots) - plan.gpu_workers} CPU "
                f"worker(s) for {plan.n_gpus} GPU(s)")
        from .pool import grade_in_pool

        yield from grade_in_pool(ctx, students, plan, log)


def _grade_here(ctx, students: list[str]) -> Iterator[SubmissionResult]:
    from .grade import compute_submission, kernel_overrides

    api = ctx.course.nbgrader_api(**kernel_overrides(ctx.spec, ctx.course))
    for student in students:
        yield compute_submission(ctx, student, api)


@dataclass(frozen=True)
class RayExecutor:
    """One Ray task per submission on the cluster at ``address`` (none: a local Ray instance).

    Worker nodes need no shared filesystem: the assignment's grading bundle (:mod:`.bundle`) goes
    into Ray's object store once and each node unpacks it once; each task gets the submission's
    files and sends back the result, the autograded notebooks, pictures and gradebook rows, which
    this process writes into the course (:mod:`.shipping`).

    Ray's workers are long-lived processes, so each keeps its warm state (TensorFlow, the hidden
    split, nbgrader) between the tasks it runs. Tasks ask for ``cpus_per_task`` cores and, when
    the cluster has GPUs, a share of one GPU (:func:`~.placement.ray_task_resources`).
    """

    address: str | None = None
    cpus_per_task: float = 1.0
    connect_timeout_s: float = 5.0

    def run(self, ctx, students: list[str], log: Log) -> Iterator[SubmissionResult]:
        ray = import_ray()
        started_here = not ray.is_initialized()
        if started_here:
            check_reachable(self.address, self.connect_timeout_s)
            init_ray(ray, self.address)
        try:
            yield from self._run(ray, ctx, students, log)
        finally:
            if started_here:
                ray.shutdown()

    def _run(self, ray, ctx, students, log) -> Iterator[SubmissionResult]:
        tasks = RayTasks.start(ray, ctx, self.cpus_per_task, log)
        # submissions travel as task arguments: a bounded number in flight keeps them out of memory
        limit = max(4, 2 * tasks.slots)
        todo = iter(students)
        waiting: dict = {}
        while True:
            for student in todo:
                waiting[tasks.submit(student)] = student
                if len(waiting) >= limit:
                    break
            if not waiting:
                return
            done, _ = ray.wait(list(waiting), num_returns=1)
            student = waiting.pop(done[0])
            try:
                yield tasks.receive(student, ray.get(done[0]), log)
            except Exception as exc:  # noqa: BLE001 - the batch goes on
                cause = getattr(exc, "cause", None) or exc
                if isinstance(cause, AutograderError):  # the worker said why: no traceback
                    log(f"{student}: not graded, will retry on rerun: {cause}")
                else:
                    log(f"{student}: grading failed inside the grader, will retry on rerun: "
                        f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}")


@dataclass(frozen=True)
class RayTasks:
    """One assignment's Ray tasks: its bundle in the object store, the task and its resources.

    Used by a batch (:class:`RayExecutor`) and by the grading service, which keeps one per
    assignment for as long as it runs (the bundle is sent once).
    """

    ray: object
    ctx: object
    task: object
    refs: list
    digest: str
    env: dict[str, str]
    slots: int  #: tasks the cluster runs at once

    @classmethod
    def start(cls, ray, ctx, cpus_per_task: float, log: Log) -> RayTasks:
        from .bundle import BundleError, pack_bundle
        from .placement import ray_task_resources, thread_env
        from .shipping import grade_shipped

        cluster = ray.cluster_resources()
        res = ray_task_resources(cluster.get("CPU", 0), cluster.get("GPU", 0), cpus_per_task)
        log(f"Ray cluster: {cluster.get('CPU', 0):g} CPUs, {cluster.get('GPU', 0):g} GPUs; each "
            f"submission asks for {res.num_cpus:g} CPU, {res.num_gpus:g} GPU")
        try:
            bundle = pack_bundle(ctx)
        except BundleError as exc:
            raise ExecutorError(str(exc)) from exc
        log(f"grading bundle of {ctx.spec.assignment}: {len(bundle.archive) / 2**20:.1f} MiB, sent once "
            "to each node (workers need no shared filesystem)")
        # the object store keeps one copy per node; tasks get it by reference (nested: a warm
        # worker does not even fetch it)
        refs = [ray.put(bundle)]
        task = ray.remote(num_cpus=res.num_cpus, num_gpus=res.num_gpus, max_retries=0)(grade_shipped)
        # Ray runs as many tasks as a node has cores: each task's TensorFlow gets its cores
        env = thread_env(max(1, int(res.num_cpus)))
        slots = max(1, int(cluster.get("CPU", 0) // max(res.num_cpus, 1e-9)))
        return cls(ray, ctx, task, refs, bundle.digest, env, slots)

    def submit(self, student: str):
        """Start grading one collected submission; its ``ObjectRef``."""
        from .shipping import pack_submission

        course, assignment = self.ctx.course, self.ctx.spec.assignment
        return self.task.remote(self.digest, self.refs, student,
                                pack_submission(course, assignment, student), self.env)

    def receive(self, student: str, shipped, log: Log) -> SubmissionResult:
        """Write what a task sent back into the course; its result (not yet recorded)."""
        from .shipping import receive

        refused = receive(self.ctx.course, self.ctx.spec.assignment, student, shipped)
        if refused:
            log(f"{student}: files from the worker on {shipped.node} not written (outside the "
                f"student's outputs, or links): {', '.join(refused[:5])}")
        return SubmissionResult.from_dict(shipped.result)


def import_ray():
    """The ``ray`` module, or an error that says how to install it."""
    try:
        import ray
    except ImportError as exc:
        raise ExecutorError(
            "--executor ray needs Ray, which is not installed: pip install 'dl-autograder[ray]' "
            "(or use the default --executor local)"
        ) from exc
    return ray


# How Ray says that a local instance did not come up in time: its raylet gives up when Ray's own
# agents start slowly, which happens on a heavily loaded machine (ray-project/ray#65983).
_SLOW_START = "timed out during startup"


def init_ray(ray, address: str | None = None, *, attempts: int = 2, **options) -> None:
    """``ray.init`` for grading: quiet, no dashboard; a local start that timed out is retried.

    Raises:
        ExecutorError: the cluster refused the connection, or a local instance did not start.
    """
    options = {"include_dashboard": False, "log_to_driver": False, "logging_level": "ERROR", **options}
    for attempt in range(1, attempts + 1):
        try:
            ray.init(address=address, **options)
            return
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise ExecutorError(f"cannot connect to the Ray cluster at {address}: {exc}; "
                                "start it with `ray start --head` or check --address") from exc
        except Exception as exc:  # noqa: BLE001 - Ray raises a bare Exception for a slow start
            ray.shutdown()
            if address in (None, "local") and _SLOW_START in str(exc) and attempt < attempts:
                continue
            raise ExecutorError(
                f"Ray did not start ({exc}); on a busy machine, start it once with `ray start "
                "--head` and pass --address auto"
            ) from exc


def check_reachable(address: str | None, timeout_s: float = 5.0) -> None:
    """Fail fast, with a clear message, when a ``host:port`` Ray address does not answer.

    ``None`` (start a local instance) and ``auto`` (a cluster started on this machine) are
    left to Ray.
    """
    if address in (None, "", "auto", "local"):
        return
    target = address.split("://", 1)[-1]
    host, sep, port = target.rpartition(":")
    if not sep or not port.isdigit():
        raise ExecutorError(f"--address must be host:port (or ray://host:port or auto), got {address!r}")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s):
            pass
    except OSError as exc:
        raise ExecutorError(
            f"the Ray cluster at {address} is unreachable ({exc.strerror or exc}); start it with "
            "`ray start --head` there, or check --address"
        ) from exc


def make_executor(name: str, *, workers: int | None = None, address: str | None = None) -> Executor:
    """The executor named on the command line, checked before any grading starts.

    Raises:
        ExecutorError: unknown name, fewer than 1 worker, ``address`` without Ray, Ray missing,
            cluster unreachable.
    """
    if name == "local":
        if workers is not None and workers < 1:
            raise ExecutorError(f"--workers must be at least 1, got {workers}")
        if address:
            raise ExecutorError("--address is for --executor ray; the local executor needs none")
        return LocalExecutor(workers)
    if name == "ray":
        import_ray()
        check_reachable(address)
        return RayExecutor(address)
    raise ExecutorError(f"unknown executor {name!r}; choose one of {', '.join(EXECUTORS)}")
