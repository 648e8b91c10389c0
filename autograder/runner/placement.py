"""Where grading work runs: which worker gets which GPU, and what a Ray task asks for.

Planning is pure (numbers in, plan out) so it is tested without a GPU. The only impure pieces are
:func:`count_gpus`, which asks ``nvidia-smi`` (no TensorFlow import in the parent), and
:func:`enable_memory_growth`, which a worker calls after it imported TensorFlow.

Without a GPU the plan is all-CPU workers; the only environment change is the CPU threads each
worker (and the kernels it starts) may use when several workers share the cores.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass

#: What sizes a process's CPU thread pools: TensorFlow's intra-op pool (read when its runtime
#: starts) and OpenMP's (oneDNN, numpy's BLAS).
THREAD_VARIABLES = ("TF_NUM_INTRAOP_THREADS", "OMP_NUM_THREADS")


@dataclass(frozen=True)
class WorkerSlot:
    """One worker process: its index and the GPU it owns (``None``: CPU only)."""

    index: int
    gpu: int | None = None

    @property
    def device(self) -> str:
        return "CPU" if self.gpu is None else f"GPU:{self.gpu}"


@dataclass(frozen=True)
class WorkerPlan:
    """The workers of a local batch; ``n_gpus`` is what the machine has, used or not."""

    slots: tuple[WorkerSlot, ...]
    n_gpus: int
    #: CPU threads for each worker's TensorFlow and its kernels' (0: TensorFlow's default, every core)
    threads: int = 0

    @property
    def gpu_workers(self) -> int:
        return sum(1 for s in self.slots if s.gpu is not None)

    def env_for(self, slot: WorkerSlot, environ: Mapping[str, str] = os.environ) -> dict[str, str]:
        """Environment a worker sets before TensorFlow runs anything (its kernels inherit it).

        With GPUs, a GPU worker sees only its own GPU and a CPU worker sees none, so no two workers
        claim the same GPU memory. With ``threads``, TensorFlow's and OpenMP's thread pools get
        that many threads (unless ``environ`` already sets them): each TensorFlow would otherwise
        run one thread per core, and workers that all train at once oversubscribe the cores.
        """
        env = thread_env(self.threads, environ)
        if self.n_gpus:
            env["CUDA_VISIBLE_DEVICES"] = "" if slot.gpu is None else str(slot.gpu)
        return env


def thread_env(threads: int, environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The variables that give a process's TensorFlow and OpenMP ``threads`` threads, less those
    ``environ`` already sets (an instructor's choice stays); empty for 0 (their default)."""
    return {k: str(threads) for k in THREAD_VARIABLES if k not in environ} if threads > 0 else {}


def plan_workers(n_gpus: int, n_cpus: int, n_submissions: int, requested: int | None = None) -> WorkerPlan:
    """One model worker per GPU, the remaining cores as CPU workers, never more than the work.

    Args:
        n_gpus: GPUs visible on this machine.
        n_cpus: CPU cores available.
        n_submissions: submissions left to grade.
        requested: ``--workers``; default one worker per core (and at least one per GPU).
            Several workers share the cores: each gets ``n_cpus // workers`` threads (at least 1).

    Raises:
        ValueError: a negative count or ``requested`` below 1.
    """
    if min(n_gpus, n_cpus, n_submissions) < 0:
        raise ValueError(f"counts must be >= 0, got gpus={n_gpus} cpus={n_cpus} "
                         f"submissions={n_submissions}")
    if requested is not None and requested < 1:
        raise ValueError(f"--workers must be at least 1, got {requested}")
    wanted = requested if requested is not None else max(n_cpus, n_gpus, 1)
    total = max(1, min(wanted, n_submissions)) if n_submissions else 0
    slots = tuple(WorkerSlot(i, i if i < n_gpus else None) for i in range(total))
    threads = max(1, n_cpus // total) if total > 1 and n_cpus else 0
    return WorkerPlan(slots, n_gpus, threads)


@dataclass(frozen=True)
class TaskResources:
    """What one grading task asks a Ray cluster for."""

    num_cpus: float
    num_gpus: float


def ray_task_resources(cluster_cpus: float, cluster_gpus: float, cpus_per_task: float = 1.0) -> TaskResources:
    """Resources of one grading task on a Ray cluster.

    Without GPUs a task takes ``cpus_per_task`` cores. With GPUs, every task also takes an equal
    share of a GPU, sized so that all CPU slots of the cluster stay busy (with TensorFlow's memory
    growth several tasks share one GPU) and never less than one task per GPU.

    Raises:
        ValueError: ``cpus_per_task`` is not positive or the cluster has no CPUs.
    """
    if cpus_per_task <= 0:
        raise ValueError(f"cpus_per_task must be positive, got {cpus_per_task}")
    if cluster_cpus < cpus_per_task:
        raise ValueError(f"the Ray cluster has {cluster_cpus:g} CPUs, a grading task needs "
                         f"{cpus_per_task:g}")
    if cluster_gpus <= 0:
        return TaskResources(cpus_per_task, 0.0)
    slots = int(cluster_cpus // cpus_per_task)
    per_gpu = max(1, -(-slots // int(cluster_gpus)))  # ceil: tasks that share one GPU
    return TaskResources(cpus_per_task, round(1.0 / per_gpu, 4))


def count_gpus(run: Callable[..., subprocess.CompletedProcess] = subprocess.run) -> int:
    """GPUs this process may use: ``nvidia-smi -L``, narrowed by ``CUDA_VISIBLE_DEVICES``."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.strip() in ("", "-1"):
        return 0
    if shutil.which("nvidia-smi") is None and run is subprocess.run:
        return 0
    try:
        proc = run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return 0
    if proc.returncode != 0:
        return 0
    found = sum(1 for line in proc.stdout.splitlines() if line.startswith("GPU "))
    if visible is not None:
        found = min(found, len([v for v in visible.split(",") if v.strip()]))
    return found


def enable_memory_growth() -> list[str]:
    """Let TensorFlow grow GPU memory as needed (so workers can share a GPU); the GPUs touched."""
    import tensorflow as tf

    names = []
    for gpu in tf.config.list_physical_devices("GPU"):
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:  # already initialised: growth can no longer be changed
            continue
        names.append(gpu.name)
    return names
