"""Which NVIDIA GPU a sandbox may use: the device nodes it binds and the environment it sets.

A sandbox starts from an empty ``/dev`` (bubblewrap's ``--dev``), so student code sees no GPU
unless its device nodes are bound in. A grading worker that owns a GPU (``CUDA_VISIBLE_DEVICES``
set by :meth:`~.placement.WorkerPlan.env_for`) gives its sandboxes that GPU: its own node
``/dev/nvidia<minor>`` and the driver's shared nodes (``nvidiactl``, ``nvidia-uvm``,
``nvidia-uvm-tools``, ``nvidia-modeset``), at the same paths inside. A CPU worker
(``CUDA_VISIBLE_DEVICES=""``) gives none. A process that sets nothing (one grader, no worker
pool) shares every GPU it sees.

Inside, CUDA enumerates only the GPUs whose nodes it can open, so the sandbox's
``CUDA_VISIBLE_DEVICES`` names the GPU by its UUID (unambiguous whatever the numbering), or by
ordinal where the driver does not say the UUID. TensorFlow grows its GPU memory as needed
(``TF_FORCE_GPU_ALLOW_GROWTH``), so kernels, training children and the grader share one GPU.

The driver's user-space libraries (``libcuda``) live under ``/usr``, which every sandbox sees
read-only. Everything here reads files under a ``root`` (default ``/``) so it is tested with a
fake ``/dev`` and ``/proc``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

#: the driver's nodes every CUDA process needs (those present are bound)
SHARED_NODES = ("nvidiactl", "nvidia-uvm", "nvidia-uvm-tools", "nvidia-modeset")
#: a GPU's own device node, as a process's open file descriptor names it
GPU_NODE = re.compile(r"^/dev/nvidia(\d+)$")


@dataclass(frozen=True)
class NvidiaGpu:
    """One GPU of the machine: its index (``nvidia-smi``'s, PCI order), device minor and UUID."""

    index: int
    minor: int
    uuid: str = ""


@dataclass(frozen=True)
class GpuAccess:
    """What a sandbox gets of the GPUs: device nodes to bind (host path, path inside) and the
    ``CUDA_VISIBLE_DEVICES`` its code sees."""

    binds: tuple[tuple[str, str], ...]
    visible: str

    def env(self) -> dict[str, str]:
        return {
            "CUDA_VISIBLE_DEVICES": self.visible,
            # share the GPU: allocate as needed instead of (nearly) all of it up front
            "TF_FORCE_GPU_ALLOW_GROWTH": "true",
            "XLA_PYTHON_CLIENT_PREALLOCATE": "false",  # the same for a JAX backend
        }


#: the environment of a sandbox without a GPU
NO_GPU_ENV = {"CUDA_VISIBLE_DEVICES": ""}


def nvidia_gpus(root: Path = Path("/")) -> list[NvidiaGpu]:
    """The machine's NVIDIA GPUs, from the driver's ``/proc/driver/nvidia/gpus/<PCI id>/information``
    (sorted by PCI id, as ``nvidia-smi`` numbers them), else from the ``/dev/nvidia<N>`` nodes."""
    info_dir = Path(root, "proc/driver/nvidia/gpus")
    gpus: list[NvidiaGpu] = []
    if info_dir.is_dir():
        for index, bus in enumerate(sorted(p for p in info_dir.iterdir() if p.is_dir())):
            try:
                text = (bus / "information").read_text(errors="replace")
            except OSError:
                continue
            minor = re.search(r"^Device Minor:\s*(\d+)", text, re.M)
            uuid = re.search(r"^GPU UUID:\s*(\S+)", text, re.M)
            gpus.append(NvidiaGpu(index, int(minor.group(1)) if minor else index,
                                  uuid.group(1) if uuid else ""))
    if gpus:
        return gpus
    dev = Path(root, "dev")
    minors = sorted(int(m.group(1)) for p in (dev.iterdir() if dev.is_dir() else ())
                    if (m := GPU_NODE.match(f"/dev/{p.name}")))
    return [NvidiaGpu(i, minor) for i, minor in enumerate(minors)]


def _chosen(gpus: list[NvidiaGpu], visible: str | None) -> list[NvidiaGpu]:
    """The GPUs ``CUDA_VISIBLE_DEVICES`` names (indices or UUIDs; all of them when unset)."""
    if visible is None:
        return gpus
    chosen: list[NvidiaGpu] = []
    for item in (v.strip() for v in visible.split(",")):
        if item.lstrip("-").isdigit():
            if int(item) < 0:
                break  # CUDA stops at an invalid ordinal
            match = [g for g in gpus if g.index == int(item)]
        else:
            match = [g for g in gpus if g.uuid and item and g.uuid.startswith(item)]
        if not match:
            break
        if match[0] not in chosen:
            chosen.append(match[0])
    return chosen


def sandbox_gpu(environ: Mapping[str, str] = os.environ, root: Path = Path("/")) -> GpuAccess | None:
    """The GPU access of a sandbox started by this process (``None``: no GPU).

    ``AUTOGRADER_SANDBOX_GPU=0`` keeps every sandbox on the CPU.
    """
    if environ.get("AUTOGRADER_SANDBOX_GPU") == "0":
        return None
    gpus = _chosen(nvidia_gpus(root), environ.get("CUDA_VISIBLE_DEVICES"))
    if not gpus:
        return None
    nodes = [f"nvidia{g.minor}" for g in gpus]
    nodes += [n for n in SHARED_NODES if Path(root, "dev", n).exists()]
    binds = tuple((str(Path(root, "dev", n)), f"/dev/{n}") for n in nodes)
    if all(g.uuid for g in gpus):
        visible = ",".join(g.uuid for g in gpus)
    else:
        visible = ",".join(str(i) for i in range(len(gpus)))
    return GpuAccess(binds, visible)


def holds_gpu(pid: int, proc: Path = Path("/proc")) -> bool:
    """Whether process ``pid`` has a GPU's device node open (False when it cannot be read)."""
    fd_dir = proc / str(pid) / "fd"
    try:
        names = os.listdir(fd_dir)
    except OSError:
        return False
    for name in names:
        try:
            if GPU_NODE.match(os.readlink(fd_dir / name)):
                return True
        except OSError:
            continue
    return False
