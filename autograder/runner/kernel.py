"""A Jupyter kernel manager that starts every kernel inside the sandbox.

nbgrader executes notebooks through nbclient, which starts kernels through a
``jupyter_client.KernelManager``. :class:`SandboxedKernelManager` (configured as
``Execute.kernel_manager_class`` in nbgrader_config.py) wraps the kernel's command line with
:func:`autograder.runner.sandbox.sandbox_command`. The kernel has no network, so it talks to
nbclient over Unix sockets in a private folder shared with the sandbox. A watchdog enforces wall
time, memory and disk limits, and records why it killed a kernel in :data:`VIOLATIONS`, keyed by
the notebook's folder, for the runner to report.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from pathlib import Path

from jupyter_client import AsyncKernelManager
from traitlets import Float, Integer, List, Unicode

from .sandbox import Limits, Sandbox, Watchdog, base_env, prepare_scratch, sandbox_command

#: notebook folder -> why its last kernel was killed (cleared when a new kernel starts there)
VIOLATIONS: dict[str, str] = {}
_LOCK = threading.Lock()


def violation_for(folder: Path) -> str | None:
    with _LOCK:
        return VIOLATIONS.get(str(Path(folder).resolve()))


def reclaim(folder: Path) -> None:
    """After the kernel is gone: drop links and special files it left, and take the folder back.

    nbgrader writes the graded notebook into this folder as the grader's user; a link planted by
    student code (e.g. ``digits.ipynb -> ../../../gradebook.db``) would redirect that write.
    """
    import os
    import stat

    if not folder.is_dir() or folder.is_symlink():
        return
    for root, dirs, files in os.walk(folder, topdown=True, followlinks=False):
        for name in dirs + files:
            path = os.path.join(root, name)
            mode = os.lstat(path).st_mode
            if stat.S_ISLNK(mode) or not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                os.unlink(path)
            elif os.geteuid() == 0:
                os.lchown(path, 0, 0)
        dirs[:] = [d for d in dirs if os.path.isdir(os.path.join(root, d))
                   and not os.path.islink(os.path.join(root, d))]
    if os.geteuid() == 0:
        os.lchown(folder, 0, 0)


class SandboxedKernelManager(AsyncKernelManager):
    """Start kernels isolated and resource-limited; everything else as jupyter_client does."""

    wall_s = Float(Limits.wall_s, help="Wall-clock limit of one notebook's kernel (s).").tag(
        config=True)
    cpu_s = Float(Limits.cpu_s, help="CPU-time limit of the kernel (s).").tag(config=True)
    memory_mb = Integer(Limits.memory_mb, help="Resident memory limit (MB).").tag(config=True)
    processes = Integer(Limits.processes, help="Process limit.").tag(config=True)
    file_size_mb = Integer(Limits.file_size_mb, help="Largest file the kernel may write.").tag(
        config=True)
    disk_mb = Integer(Limits.disk_mb, help="Disk limit of the notebook folder (MB).").tag(
        config=True)
    readonly_paths = List(Unicode(), help="Extra read-only paths visible to the kernel.").tag(
        config=True)
    hidden_paths = List(Unicode(), help="Paths masked inside the sandbox.").tag(config=True)

    _watchdog: Watchdog | None = None
    _socket_dir: str | None = None
    _folder: str | None = None

    def limits(self) -> Limits:
        return Limits(wall_s=self.wall_s, cpu_s=self.cpu_s, memory_mb=self.memory_mb,
                      processes=self.processes, file_size_mb=self.file_size_mb,
                      disk_mb=self.disk_mb)

    async def _async_pre_start_kernel(self, **kw):
        folder = Path(kw.get("cwd") or ".").resolve()
        self._folder = str(folder)
        with _LOCK:
            VIOLATIONS.pop(self._folder, None)
        # A short private folder: Unix socket paths are limited to about 100 characters.
        self._socket_dir = tempfile.mkdtemp(prefix="agk-")
        self.transport = "ipc"
        self.connection_file = str(Path(self._socket_dir) / "kernel.json")
        self.ip = str(Path(self._socket_dir) / "k")
        self._box = Sandbox(
            scratch=folder, writable=(Path(self._socket_dir),),
            readonly=tuple(Path(p) for p in self.readonly_paths),
            hidden=tuple(Path(p) for p in self.hidden_paths), limits=self.limits(),
        )
        kernel_cmd, kw = await super()._async_pre_start_kernel(**kw)
        prepare_scratch(self._box)  # after the connection file exists: the kernel user reads it
        env = base_env(self._box)
        # Tell ipykernel who its parent is (it stays quiet and exits with it).
        env.update({k: v for k, v in (kw.get("env") or {}).items() if k.startswith("JPY_")})
        kernel_cmd = sandbox_command(kernel_cmd, self._box, env)
        kw["env"] = {"PATH": env["PATH"]}
        return kernel_cmd, kw

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        await super()._async_launch_kernel(kernel_cmd, **kw)
        process = getattr(self.provisioner, "process", None)
        if process is not None:
            self._watchdog = Watchdog(process.pid, self._box)
            self._watchdog.start()

    def _record_violation(self) -> None:
        if self._watchdog is not None and self._watchdog.reason and self._folder:
            with _LOCK:
                VIOLATIONS[self._folder] = self._watchdog.reason

    async def is_alive(self) -> bool:
        alive = await self._async_is_alive()
        if not alive:
            self._record_violation()
        return alive

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        self._record_violation()
        if self._watchdog is not None:
            self._watchdog.stop()
        if self._folder:
            reclaim(Path(self._folder))
        await super()._async_cleanup_resources(restart=restart)
        if self._socket_dir:
            shutil.rmtree(self._socket_dir, ignore_errors=True)
