"""Tests for autograder.runner.placement: the worker plan and Ray task resources, without a GPU."""

from __future__ import annotations

import subprocess

import pytest

from autograder.runner.placement import (
    TaskResources,
    WorkerPlan,
    WorkerSlot,
    count_gpus,
    plan_workers,
    ray_task_resources,
)


def test_cpu_only_machine_gets_one_cpu_worker_per_core_with_one_thread_each():
    plan = plan_workers(n_gpus=0, n_cpus=2, n_submissions=30)
    assert plan.slots == (WorkerSlot(0), WorkerSlot(1))
    assert plan.gpu_workers == 0
    assert plan.threads == 1
    one = {"TF_NUM_INTRAOP_THREADS": "1", "OMP_NUM_THREADS": "1"}
    assert all(plan.env_for(s, environ={}) == one for s in plan.slots)


def test_workers_share_the_cores_and_a_single_worker_keeps_them_all():
    assert plan_workers(0, 16, 30, requested=4).threads == 4
    assert plan_workers(0, 2, 30, requested=5).threads == 1  # more workers than cores
    lone = plan_workers(0, 8, 1)
    assert lone.threads == 0
    assert lone.env_for(lone.slots[0], environ={}) == {}  # TensorFlow's default: every core


def test_thread_counts_the_instructor_set_are_kept():
    plan = plan_workers(n_gpus=0, n_cpus=8, n_submissions=30, requested=2)
    assert plan.env_for(plan.slots[0], environ={"OMP_NUM_THREADS": "3"}) == {"TF_NUM_INTRAOP_THREADS": "4"}


def test_one_model_worker_per_gpu_and_cpu_workers_for_the_rest():
    plan = plan_workers(n_gpus=2, n_cpus=8, n_submissions=100)
    assert len(plan.slots) == 8
    assert [s.gpu for s in plan.slots] == [0, 1] + [None] * 6
    assert [s.device for s in plan.slots[:3]] == ["GPU:0", "GPU:1", "CPU"]
    env = [plan.env_for(s, environ={}) for s in plan.slots]
    assert [e["CUDA_VISIBLE_DEVICES"] for e in env[:3]] == ["0", "1", ""]  # CPU workers see no GPU
    assert env[0]["TF_NUM_INTRAOP_THREADS"] == "1"


def test_every_gpu_gets_a_worker_even_with_fewer_cores():
    plan = plan_workers(n_gpus=4, n_cpus=2, n_submissions=10)
    assert [s.gpu for s in plan.slots] == [0, 1, 2, 3]


def test_never_more_workers_than_submissions_and_gpus_filled_first():
    plan = plan_workers(n_gpus=2, n_cpus=16, n_submissions=3)
    assert [s.gpu for s in plan.slots] == [0, 1, None]
    assert plan_workers(0, 16, 1).slots == (WorkerSlot(0),)
    assert plan_workers(1, 16, 0).slots == ()


def test_requested_workers_override_the_core_count():
    assert len(plan_workers(0, 2, 30, requested=5).slots) == 5
    assert plan_workers(2, 16, 30, requested=1).slots == (WorkerSlot(0, 0),)


@pytest.mark.parametrize("args", [(-1, 2, 3), (0, -2, 3), (0, 2, -3)])
def test_negative_counts_are_refused(args):
    with pytest.raises(ValueError, match=">= 0"):
        plan_workers(*args)


def test_zero_requested_workers_is_refused():
    with pytest.raises(ValueError, match="at least 1"):
        plan_workers(0, 2, 3, requested=0)


def test_plan_is_picklable_for_spawned_workers():
    import pickle

    plan = plan_workers(1, 2, 5)
    assert pickle.loads(pickle.dumps(plan)) == plan
    assert isinstance(plan, WorkerPlan)


def test_ray_task_without_gpus_takes_cores_only():
    assert ray_task_resources(8, 0) == TaskResources(1.0, 0.0)
    assert ray_task_resources(8, 0, cpus_per_task=2) == TaskResources(2.0, 0.0)


def test_ray_tasks_share_each_gpu_so_every_core_stays_busy():
    # 16 cores, 1 GPU: 16 tasks at once, each with 1/16 of the GPU.
    assert ray_task_resources(16, 1) == TaskResources(1.0, 0.0625)
    # 4 cores, 4 GPUs: one whole GPU per task.
    assert ray_task_resources(4, 4) == TaskResources(1.0, 1.0)
    # More GPUs than slots: still one GPU per task, never more.
    assert ray_task_resources(2, 8) == TaskResources(1.0, 1.0)
    # 8 cores, 3 GPUs: 8 slots over 3 GPUs -> at most 3 tasks per GPU.
    assert ray_task_resources(8, 3).num_gpus == pytest.approx(1 / 3, abs=1e-4)


def test_ray_resources_refuse_impossible_requests():
    with pytest.raises(ValueError, match="positive"):
        ray_task_resources(8, 0, cpus_per_task=0)
    with pytest.raises(ValueError, match="has 1 CPUs"):
        ray_task_resources(1, 0, cpus_per_task=2)


def _fake_smi(stdout: str, returncode: int = 0):
    def run(argv, **kwargs):
        assert argv == ["nvidia-smi", "-L"]
        return subprocess.CompletedProcess(argv, returncode, stdout=stdout, stderr="")
    return run


TWO_GPUS = "GPU 0: NVIDIA H100 (UUID: GPU-a)\nGPU 1: NVIDIA H100 (UUID: GPU-b)\n"


def test_count_gpus_reads_nvidia_smi(monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert count_gpus(_fake_smi(TWO_GPUS)) == 2
    assert count_gpus(_fake_smi("")) == 0
    assert count_gpus(_fake_smi("No devices were found", returncode=6)) == 0


def test_count_gpus_respects_cuda_visible_devices(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")
    assert count_gpus(_fake_smi(TWO_GPUS)) == 1
    for hidden in ("", "-1"):
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", hidden)
        assert count_gpus(_fake_smi(TWO_GPUS)) == 0


def test_count_gpus_is_zero_when_nvidia_smi_fails(monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)

    def missing(argv, **kwargs):
        raise FileNotFoundError("nvidia-smi")

    def hangs(argv, **kwargs):
        raise subprocess.TimeoutExpired(argv, 20)

    assert count_gpus(missing) == 0
    assert count_gpus(hangs) == 0

