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
from traitlets import Bool, Float, Integer, List, Unicode

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
    preload = List(Unicode(), default_value=None, allow_none=True,
                   help="Modules the warm kernel factory imports before forking kernels (default: "
                   "numpy, TensorFlow and Keras; autograder grade sets the assignment's own "
                   "notebooks' imports).").tag(config=True)
    warm = Bool(True, help="Fork kernels from a warm sandboxed factory that has imported "
                "TensorFlow once (see autograder.runner.warm_kernels); False starts every kernel "
                "from scratch. Needs bubblewrap isolation; kernels start cold without it.").tag(
        config=True)

    _watchdog: Watchdog | None = None
    _socket_dir: str | None = None
    _folder: str | None = None
    _factory = None  # the warm kernel factory this kernel was forked from
    _forked = None
    _leftover: str | None = None  # a dropped factory's folder, removed at cleanup

    def limits(self) -> Limits:
        return Limits(wall_s=self.wall_s, cpu_s=self.cpu_s, memory_mb=self.memory_mb,
                      processes=self.processes, file_size_mb=self.file_size_mb,
                      disk_mb=self.disk_mb)

    async def _async_pre_start_kernel(self, **kw):
        folder = Path(kw.get("cwd") or ".").resolve()
        self._folder = str(folder)
        with _LOCK:
            VIOLATIONS.pop(self._folder, None)
        self._factory = self._take_factory()
        if self._factory is not None:
            return await self._pre_start_forked(folder, **kw)
        # A short private folder: Unix socket paths are limited to about 100 characters.
        self._socket_dir = tempfile.mkdtemp(prefix="agk-")
        kernel_cmd, kw = await self._prepare_connection(**kw)
        return self._sandboxed(kernel_cmd, folder, kw)

    async def _prepare_connection(self, **kw):
        """jupyter_client's own preparation, with the connection file and Unix sockets in
        ``_socket_dir``."""
        self.transport = "ipc"
        self.connection_file = str(Path(self._socket_dir) / "kernel.json")
        self.ip = str(Path(self._socket_dir) / "k")
        return await super()._async_pre_start_kernel(**kw)

    def _sandboxed(self, kernel_cmd, folder: Path, kw):
        """The kernel's command line wrapped in a new sandbox whose working folder is ``folder``."""
        self._box = Sandbox(
            scratch=folder, writable=(Path(self._socket_dir),),
            readonly=tuple(Path(p) for p in self.readonly_paths),
            hidden=tuple(Path(p) for p in self.hidden_paths), limits=self.limits(),
        )
        prepare_scratch(self._box)  # after the connection file exists: the kernel user reads it
        env = base_env(self._box)
        # Tell ipykernel who its parent is (it stays quiet and exits with it).
        env.update(self._jpy_env(kw))
        kernel_cmd = sandbox_command(kernel_cmd, self._box, env)
        kw["env"] = {"PATH": env["PATH"]}
        return kernel_cmd, kw

    @staticmethod
    def _jpy_env(kw) -> dict[str, str]:
        return {k: v for k, v in (kw.get("env") or {}).items() if k.startswith("JPY_")}

    def factory_key(self):
        from .warm_kernels import PRELOAD, FactoryKey

        modules = PRELOAD if self.preload is None else tuple(self.preload)
        return FactoryKey(self.limits(), tuple(self.readonly_paths), tuple(self.hidden_paths), modules)

    def _take_factory(self):
        if not self.warm:
            return None
        from .warm_kernels import take_factory

        return take_factory(self.factory_key())

    async def _pre_start_forked(self, folder: Path, **kw):
        """Fork the kernel from the warm factory, its folder filled with a copy of ``folder``;
        should the factory fail, start the kernel the usual way."""
        from .warm_kernels import FactoryError, drop_factory

        factory = self._factory
        self._socket_dir = str(factory.socket_dir())
        kernel_cmd, kw = await self._prepare_connection(**kw)
        args = kernel_cmd[3:] if kernel_cmd[1:3] == ["-m", "ipykernel_launcher"] else None
        try:
            if args is None:
                raise FactoryError(f"not an ipykernel command line: {kernel_cmd[:3]}")
            self._forked = factory.fork(folder, args, self._jpy_env(kw))
        except (FactoryError, OSError) as exc:
            self.log.warning("autograder: warm kernel factory failed (%s); starting the kernel "
                             "the usual way", exc)
            drop_factory(factory, keep_files=True)
            self._factory, self._forked = None, None
            self._leftover = str(factory.root)
            return self._sandboxed(kernel_cmd, folder, kw)
        self._box = factory.box
        return kernel_cmd, kw

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        if self._forked is not None:
            provisioner = self.provisioner
            provisioner.process = self._forked
            provisioner.pid = self._forked.pid
            provisioner.pgid = None  # signals go through the factory, to the kernel's group
            provisioner.cwd = self._folder
            self._reconcile_connection_info(provisioner.connection_info)
        else:
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
        if self._watchdog is not None and self._watchdog.stopped_at is None:
            from .metering import record

            self._watchdog.stop()
            record(self._box.purpose, self._watchdog.usage())  # the submission's cost
        if self._factory is not None and self._folder:
            self._finish_forked()
        if self._folder:
            reclaim(Path(self._folder))
        await super()._async_cleanup_resources(restart=restart)
        for folder in (self._socket_dir, self._leftover):
            if folder:
                shutil.rmtree(folder, ignore_errors=True)

    # jupyter_client binds the public name to its own coroutine: nbclient calls it after a kernel
    # died (no shutdown), and the folder must be taken back then too.
    cleanup_resources = _async_cleanup_resources

    def _finish_forked(self) -> None:
        """Wait for the factory to clean up after the kernel; what the kernel left in the
        factory's folder goes back to the notebook's folder."""
        from .warm_kernels import FactoryError, drop_factory

        factory, self._factory, self._forked = self._factory, None, None
        try:
            factory.finish(Path(self._folder))
        except (FactoryError, OSError) as exc:
            self.log.warning("autograder: warm kernel factory dropped: %s", exc)
            drop_factory(factory)


def prestart_factory(config) -> threading.Thread | None:
    """Start this process's warm kernel factory for the kernels ``config`` describes, in the
    background (a grading worker calls it while it loads TensorFlow itself); None when kernels
    start cold under ``config``."""
    from .warm_kernels import take_factory

    manager = SandboxedKernelManager(config=config)
    if not manager.warm:
        return None
    key = manager.factory_key()

    def start() -> None:
        factory = take_factory(key)
        if factory is not None:
            factory.release()

    thread = threading.Thread(target=start, daemon=True, name="kernel-factory-start")
    thread.start()
    return thread
