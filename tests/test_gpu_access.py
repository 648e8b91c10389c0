"""A GPU worker's sandboxes see its GPU, a CPU worker's see none (fake device nodes: no GPU needed)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from autograder.runner.gpu_access import GpuAccess, holds_gpu, nvidia_gpus, sandbox_gpu
from autograder.runner.sandbox import (
    Limits,
    Sandbox,
    base_env,
    isolation_mode,
    run_sandboxed,
    sandbox_command,
)

needs_bwrap = pytest.mark.skipif(isolation_mode() != "bwrap", reason="bubblewrap is not available")


def fake_machine(root: Path, gpus: dict[str, tuple[int, str]], shared=("nvidiactl", "nvidia-uvm")) -> Path:
    """A fake ``/dev`` and ``/proc/driver/nvidia`` under ``root``: PCI id -> (device minor, UUID)."""
    dev = root / "dev"
    dev.mkdir(parents=True)
    for bus, (minor, uuid) in gpus.items():
        info = root / "proc/driver/nvidia/gpus" / bus
        info.mkdir(parents=True)
        info.joinpath("information").write_text(
            f"Model: \t\t NVIDIA H100\nIRQ:   \t\t 42\nGPU UUID: \t {uuid}\nDevice Minor: \t {minor}\n")
        node = dev / f"nvidia{minor}"
        node.write_text(f"fake gpu {minor}\n")
        node.chmod(0o666)  # as the driver's nodes: every user may open them
    for name in shared:
        (dev / name).write_text("")
        (dev / name).chmod(0o666)
    return root


TWO_GPUS = {"0000:01:00.0": (1, "GPU-aaaa-1111"), "0000:02:00.0": (0, "GPU-bbbb-2222")}


def test_gpus_are_numbered_in_pci_order_with_their_minor_and_uuid(tmp_path):
    root = fake_machine(tmp_path, TWO_GPUS)
    gpus = nvidia_gpus(root)
    assert [(g.index, g.minor, g.uuid) for g in gpus] == [(0, 1, "GPU-aaaa-1111"), (1, 0, "GPU-bbbb-2222")]


def test_without_driver_information_the_device_nodes_are_the_gpus(tmp_path):
    (tmp_path / "dev").mkdir()
    for name in ("nvidia0", "nvidia1", "nvidiactl", "null"):
        (tmp_path / "dev" / name).write_text("")
    assert [(g.index, g.minor, g.uuid) for g in nvidia_gpus(tmp_path)] == [(0, 0, ""), (1, 1, "")]
    access = sandbox_gpu({"CUDA_VISIBLE_DEVICES": "1"}, tmp_path)
    assert access.visible == "0"  # inside, CUDA numbers only the GPUs it can open
    assert [target for _src, target in access.binds] == ["/dev/nvidia1", "/dev/nvidiactl"]


def test_a_gpu_worker_gets_its_own_gpu_node_the_shared_nodes_and_its_uuid(tmp_path):
    root = fake_machine(tmp_path, TWO_GPUS)
    access = sandbox_gpu({"CUDA_VISIBLE_DEVICES": "1"}, root)
    # GPU 1 in nvidia-smi's order is the one whose device minor is 0
    assert access.binds == ((str(root / "dev/nvidia0"), "/dev/nvidia0"),
                            (str(root / "dev/nvidiactl"), "/dev/nvidiactl"),
                            (str(root / "dev/nvidia-uvm"), "/dev/nvidia-uvm"))
    assert access.visible == "GPU-bbbb-2222"
    assert access.env()["TF_FORCE_GPU_ALLOW_GROWTH"] == "true"
    by_uuid = sandbox_gpu({"CUDA_VISIBLE_DEVICES": "GPU-aaaa"}, root)
    assert by_uuid.visible == "GPU-aaaa-1111" and by_uuid.binds[0][1] == "/dev/nvidia1"


@pytest.mark.parametrize("environ", [{"CUDA_VISIBLE_DEVICES": ""}, {"CUDA_VISIBLE_DEVICES": "-1"},
                                     {"CUDA_VISIBLE_DEVICES": "7"}, {"AUTOGRADER_SANDBOX_GPU": "0"}])
def test_a_cpu_worker_or_an_unknown_gpu_gets_no_gpu(tmp_path, environ):
    assert sandbox_gpu(environ, fake_machine(tmp_path, TWO_GPUS)) is None


def test_a_grader_without_a_worker_plan_shares_every_gpu(tmp_path):
    access = sandbox_gpu({}, fake_machine(tmp_path, TWO_GPUS))
    assert access.visible == "GPU-aaaa-1111,GPU-bbbb-2222"
    assert {t for _s, t in access.binds} >= {"/dev/nvidia0", "/dev/nvidia1"}


def test_a_machine_without_nvidia_gpus_gives_no_gpu(tmp_path):
    (tmp_path / "dev").mkdir()
    (tmp_path / "dev" / "null").write_text("")
    assert sandbox_gpu({}, tmp_path) is None


def gpu_box(tmp_path: Path, access: GpuAccess | None, wall_s: float = 20.0) -> Sandbox:
    return Sandbox(scratch=tmp_path / "scratch", limits=Limits(wall_s=wall_s), gpu=access)


def test_the_command_line_binds_the_nodes_and_the_environment_names_the_gpu(tmp_path, monkeypatch):
    monkeypatch.setattr("autograder.runner.sandbox.isolation_mode", lambda: "bwrap")
    access = sandbox_gpu({"CUDA_VISIBLE_DEVICES": "0"}, fake_machine(tmp_path / "m", TWO_GPUS))
    box = gpu_box(tmp_path, access)
    env = base_env(box)
    assert env["CUDA_VISIBLE_DEVICES"] == "GPU-aaaa-1111" and env["TF_FORCE_GPU_ALLOW_GROWTH"] == "true"
    argv = sandbox_command(["python"], box, env)
    dev = argv.index("--dev")
    binds = [(argv[i + 1], argv[i + 2]) for i, a in enumerate(argv) if a == "--dev-bind"]
    assert binds == list(access.binds) and argv.index("--dev-bind") > dev  # over the empty /dev
    cpu = gpu_box(tmp_path, None)
    assert "--dev-bind" not in sandbox_command(["python"], cpu, base_env(cpu))
    assert base_env(cpu)["CUDA_VISIBLE_DEVICES"] == ""
    assert "TF_FORCE_GPU_ALLOW_GROWTH" not in base_env(cpu)


SHOW = ("import os\n"
        "print(os.path.exists('/dev/nvidia0'), os.path.exists('/dev/nvidiactl'))\n"
        "print(repr(os.environ.get('CUDA_VISIBLE_DEVICES')))\n"
        "print(open('/dev/nvidia0').read().strip() if os.path.exists('/dev/nvidia0') else '-')\n")


@needs_bwrap
def test_inside_a_gpu_sandbox_the_node_and_variable_are_there_and_not_in_a_cpu_one(tmp_path):
    access = sandbox_gpu({"CUDA_VISIBLE_DEVICES": "1"}, fake_machine(tmp_path / "m", TWO_GPUS))
    gpu = run_sandboxed([sys.executable, "-c", SHOW], gpu_box(tmp_path / "g", access))
    assert gpu.returncode == 0, gpu.stderr
    assert gpu.stdout.split("\n")[:3] == ["True True", "'GPU-bbbb-2222'", "fake gpu 0"]
    cpu = run_sandboxed([sys.executable, "-c", SHOW], gpu_box(tmp_path / "c", None))
    assert cpu.returncode == 0, cpu.stderr
    assert cpu.stdout.split("\n")[:3] == ["False False", "''", "-"]


HOLD = "import time\nf = open('/dev/nvidia0')\ntime.sleep(2.6)\n"


@needs_bwrap
def test_gpu_seconds_count_while_a_process_holds_the_gpu_node(tmp_path):
    access = sandbox_gpu({"CUDA_VISIBLE_DEVICES": "1"}, fake_machine(tmp_path / "m", TWO_GPUS))
    held = run_sandboxed([sys.executable, "-c", HOLD], gpu_box(tmp_path / "h", access))
    assert held.returncode == 0, held.stderr
    assert 1.0 <= held.usage.gpu_s <= held.usage.wall_s + 0.01
    sleep = [sys.executable, "-c", "import time; time.sleep(1.5)"]
    idle = run_sandboxed(sleep, gpu_box(tmp_path / "i", access))
    assert idle.usage.gpu_s == 0.0  # a GPU in the sandbox, never opened
    cpu = run_sandboxed([sys.executable, "-c", "pass"], gpu_box(tmp_path / "c", None))
    assert cpu.usage.gpu_s is None  # no GPU in play


def test_holds_gpu_reads_the_open_file_descriptors(tmp_path):
    proc = tmp_path / "proc" / "42" / "fd"
    proc.mkdir(parents=True)
    os.symlink("/dev/null", proc / "0")
    assert not holds_gpu(42, tmp_path / "proc")
    os.symlink("/dev/nvidia3", proc / "5")
    assert holds_gpu(42, tmp_path / "proc")
    assert not holds_gpu(43, tmp_path / "proc")  # gone or unreadable
