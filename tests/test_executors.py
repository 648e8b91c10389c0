"""Tests for autograder.runner.executors: choosing an executor and its failure paths.

Grading through Ray on a local Ray instance is in tests/test_end_to_end.py (it reuses the demo
course built there); on a Ray node that does not see the course, in tests/test_shipping.py.
"""

from __future__ import annotations

import socket
import sys

import pytest

from autograder.runner.executors import (
    ExecutorError,
    LocalExecutor,
    RayExecutor,
    check_reachable,
    import_ray,
    init_ray,
    make_executor,
)


def test_local_is_the_default_and_keeps_workers():
    assert make_executor("local") == LocalExecutor(None)
    assert make_executor("local", workers=3) == LocalExecutor(3)


@pytest.mark.parametrize("workers", [0, -2])
def test_fewer_than_one_worker_is_refused(workers):
    with pytest.raises(ExecutorError, match="at least 1"):
        make_executor("local", workers=workers)


def test_ray_executor_keeps_its_address():
    assert make_executor("ray") == RayExecutor(None)
    assert make_executor("ray", address="auto") == RayExecutor("auto")


def test_unknown_executor_is_refused():
    with pytest.raises(ExecutorError, match="local, ray"):
        make_executor("dask")


def test_address_without_ray_is_refused():
    with pytest.raises(ExecutorError, match="--address is for --executor ray"):
        make_executor("local", address="10.0.0.1:6379")


def test_missing_ray_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # makes `import ray` raise ImportError
    with pytest.raises(ExecutorError, match=r"pip install 'dl-autograder\[ray\]'"):
        import_ray()
    with pytest.raises(ExecutorError, match="not installed"):
        list(RayExecutor("auto").run(ctx=None, students=["a"], log=print))


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_address_fails_fast_with_advice():
    address = f"127.0.0.1:{_closed_port()}"
    with pytest.raises(ExecutorError, match="unreachable.*ray start --head"):
        check_reachable(address, timeout_s=2)
    with pytest.raises(ExecutorError, match="unreachable"):
        check_reachable(f"ray://{address}", timeout_s=2)


def test_malformed_address_is_refused():
    for bad in ("somehost", "somehost:port", "ray://"):
        with pytest.raises(ExecutorError, match="host:port"):
            check_reachable(bad)


def test_reachable_and_local_addresses_pass():
    for left_to_ray in (None, "", "auto", "local"):
        check_reachable(left_to_ray)
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        check_reachable(f"127.0.0.1:{server.getsockname()[1]}", timeout_s=2)


def test_ray_executor_does_not_start_ray_for_an_unreachable_cluster():
    ray = import_ray()
    assert not ray.is_initialized()
    with pytest.raises(ExecutorError, match="unreachable"):
        list(RayExecutor(f"127.0.0.1:{_closed_port()}", connect_timeout_s=2).run(None, ["a"], print))
    assert not ray.is_initialized()


def test_import_of_executors_does_not_import_ray():
    import subprocess

    code = "import sys, autograder.runner.executors; print('ray' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"



class _Named:
    def __init__(self, **fields):
        self.__dict__.update(fields)


def _ctx_of_missing_course(tmp_path):
    """A grading context whose course is gone: every worker fails inside the grader."""
    return _Named(course=_Named(root=tmp_path / "no-such-course"),
                  spec=_Named(assignment="digits", mode="load"), models=())


def test_a_course_that_cannot_be_packed_for_ray_is_a_clear_error(tmp_path):
    from autograder.course import Course

    ctx = _Named(course=Course(tmp_path / "no-such-course"), spec=_Named(assignment="digits", mode="load"))
    with pytest.raises(ExecutorError, match="cannot copy the gradebook .* for the workers"):
        list(RayExecutor()._run(_RecordingRay(cpus=2), ctx, ["a"], print))


def test_local_pool_failing_inside_the_grader_is_logged_and_the_batch_goes_on(tmp_path):
    messages = []
    results = list(LocalExecutor(workers=2).run(_ctx_of_missing_course(tmp_path), ["a", "b"],
                                                messages.append))
    assert results == []
    failures = [m for m in messages if "grading failed inside the grader, will retry on rerun" in m]
    assert sorted(m.split(":")[0] for m in failures) == ["a", "b"]


def test_cpu_workers_fork_from_one_server_and_gpu_workers_start_fresh(monkeypatch):
    from multiprocessing import forkserver

    from autograder.runner.placement import plan_workers
    from autograder.runner.pool import worker_context

    monkeypatch.delenv("AUTOGRADER_WORKER_START", raising=False)
    assert worker_context(plan_workers(0, 4, 10)).get_start_method() == "forkserver"
    assert "tensorflow" in forkserver._forkserver._preload_modules
    # an assignment that grades no model: the fork server does not import TensorFlow
    worker_context(plan_workers(0, 4, 10), tensorflow=False)
    assert "tensorflow" not in forkserver._forkserver._preload_modules
    assert "nbgrader.apps" in forkserver._forkserver._preload_modules
    worker_context(plan_workers(0, 4, 10))
    # a GPU worker must set CUDA_VISIBLE_DEVICES before TensorFlow is imported
    assert worker_context(plan_workers(1, 4, 10)).get_start_method() == "spawn"
    monkeypatch.setenv("AUTOGRADER_WORKER_START", "spawn")
    assert worker_context(plan_workers(0, 4, 10)).get_start_method() == "spawn"


def test_the_fork_server_goes_after_a_batch_and_comes_back_for_the_next(tmp_path, monkeypatch):
    import os
    import time
    from multiprocessing import forkserver

    monkeypatch.delenv("AUTOGRADER_WORKER_START", raising=False)
    server = forkserver._forkserver
    for _ in range(2):
        messages = []
        list(LocalExecutor(workers=2).run(_ctx_of_missing_course(tmp_path), ["a", "b"], messages.append))
        assert sum("grading failed inside the grader" in m for m in messages) == 2
        pid = server._forkserver_pid or 0
        end = time.monotonic() + 60
        while server._forkserver_pid is not None and time.monotonic() < end:
            time.sleep(0.1)
        assert server._forkserver_pid is None  # stopped (and reaped) after the batch
        if pid:
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)


def _no_thread_settings(monkeypatch):
    from autograder.runner.placement import THREAD_VARIABLES

    for name in THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_each_pool_worker_takes_its_share_of_the_cores_before_warming_up(monkeypatch):
    import queue

    from autograder.runner import pool, warm
    from autograder.runner.placement import plan_workers

    _no_thread_settings(monkeypatch)
    warmed = []
    monkeypatch.setattr(warm, "warm_state", lambda *key, env=None: warmed.append((key, env)))
    monkeypatch.setattr(pool, "_STATE", {})
    plan = plan_workers(0, 4, 10, requested=2)
    slots = queue.Queue()
    slots.put(plan.slots[1])
    pool._init_worker("course", "digits", "load", slots, plan)
    assert warmed == [(("course", "digits", "load"),
                       {"TF_NUM_INTRAOP_THREADS": "2", "OMP_NUM_THREADS": "2"})]


class _RecordingRay:
    """Stands in for the ray module in RayExecutor._run: records what each task is given; every
    task fails inside the grader."""

    def __init__(self, cpus: float):
        self.cpus, self.options, self.calls = cpus, {}, []

    def cluster_resources(self):
        return {"CPU": self.cpus}

    def put(self, value):
        return value

    def remote(self, **options):
        self.options = options
        return lambda fn: _Named(remote=lambda *args: self.calls.append(args) or len(self.calls))

    def wait(self, refs, num_returns):
        return refs[:num_returns], refs[num_returns:]

    def get(self, ref):
        raise RuntimeError(f"task {ref} failed")


def test_each_ray_task_gets_the_threads_of_the_cores_it_asks_for(tmp_path, monkeypatch):
    from autograder.runner import bundle, shipping

    _no_thread_settings(monkeypatch)
    monkeypatch.setattr(bundle, "pack_bundle", lambda ctx: _Named(digest="d", archive=b""))
    monkeypatch.setattr(shipping, "pack_submission", lambda course, assignment, student: b"")
    ray, messages = _RecordingRay(cpus=8), []
    executor = RayExecutor(cpus_per_task=2)
    assert list(executor._run(ray, _ctx_of_missing_course(tmp_path), ["a", "b"], messages.append)) == []
    assert ray.options["num_cpus"] == 2
    assert [c[2:3] + c[4:] for c in ray.calls] == [
        ("a", {"TF_NUM_INTRAOP_THREADS": "2", "OMP_NUM_THREADS": "2"}),
        ("b", {"TF_NUM_INTRAOP_THREADS": "2", "OMP_NUM_THREADS": "2"}),
    ]
    assert sum("grading failed inside the grader" in m for m in messages) == 2


class _FlakyRay:
    """Stands in for the ray module: ``init`` fails ``failures`` times with ``error``."""

    def __init__(self, failures: int, error: Exception):
        self.failures, self.error = failures, error
        self.inits, self.shutdowns = [], 0

    def init(self, **kwargs):
        self.inits.append(kwargs)
        if len(self.inits) <= self.failures:
            raise self.error

    def shutdown(self):
        self.shutdowns += 1


SLOW = Exception("The current node timed out during startup. This could happen because ...")


def test_a_local_ray_that_starts_too_slowly_is_started_again():
    ray = _FlakyRay(failures=1, error=SLOW)
    init_ray(ray, None, num_cpus=2)
    assert len(ray.inits) == 2 and ray.shutdowns == 1
    assert ray.inits[-1] == {"address": None, "include_dashboard": False, "log_to_driver": False,
                             "logging_level": "ERROR", "num_cpus": 2}


def test_a_local_ray_that_never_starts_is_a_clear_error():
    ray = _FlakyRay(failures=5, error=SLOW)
    with pytest.raises(ExecutorError, match="Ray did not start.*--address auto"):
        init_ray(ray, None)
    assert len(ray.inits) == 2


def test_a_remote_cluster_is_not_retried():
    ray = _FlakyRay(failures=1, error=SLOW)
    with pytest.raises(ExecutorError, match="Ray did not start"):
        init_ray(ray, "10.0.0.1:6379")
    assert len(ray.inits) == 1


def test_a_refused_connection_says_what_to_check():
    ray = _FlakyRay(failures=1, error=ConnectionError("could not connect to GCS"))
    with pytest.raises(ExecutorError, match="cannot connect to the Ray cluster at auto.*--address"):
        init_ray(ray, "auto")
