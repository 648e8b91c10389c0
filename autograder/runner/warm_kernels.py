"""Warm notebook kernels: one sandboxed kernel factory per grading worker, one fresh kernel per notebook.

A fresh kernel pays the TensorFlow import (seconds of CPU) before the notebook's first cell. A
:class:`KernelFactory` is a sandbox (same namespaces, limits and unprivileged user as a kernel's)
running :mod:`.zygote`: it imports ipykernel, numpy, TensorFlow and Keras once, then forks a new
process for every notebook, which becomes that notebook's kernel. Between two notebooks the
factory kills whatever the last kernel left running and empties ``/tmp`` and ``/dev/shm``; the
grader empties the working folder. The kernel's working folder is the factory's folder (bound
when the sandbox starts), so the notebook's files are copied in before, and what the kernel left
copied back out after (links and special files dropped).

Only with bubblewrap isolation: without a private pid namespace, "kill every other process" would
reach the grader's own. A factory that fails in any way is dropped, and the kernel starts the
usual way.
"""

from __future__ import annotations

import atexit
import json
import multiprocessing.util
import os
import queue
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .sandbox import Limits, Sandbox, base_env, kill_tree, prepare_scratch, sandbox_command

ZYGOTE = Path(__file__).with_name("zygote.py")
#: What a factory imports before forking when nothing says otherwise (the assignment's notebooks'
#: imports do: see autograder.notebook_imports).
PRELOAD = ("numpy", "tensorflow", "keras")
READY_TIMEOUT_S = 120.0
_SPAWNER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kernel-factory-spawner")
CLEAN_TIMEOUT_S = 30.0
#: a factory's folders are ``<tmp>/agz-<pid of the grading process>-<random>``
FOLDER_PREFIX = "agz-"


class FactoryError(RuntimeError):
    """The factory did not answer as expected: it is dropped, kernels start the usual way."""


@dataclass(frozen=True)
class FactoryKey:
    """What a factory's sandbox is made of; a kernel needing another sandbox needs another factory."""

    limits: Limits
    readonly: tuple[str, ...]
    hidden: tuple[str, ...]
    #: the modules the factory imports before forking
    modules: tuple[str, ...] = PRELOAD


class KernelFactory:
    """A running :mod:`.zygote` in its own sandbox, and the pipe to it."""

    def __init__(self, key: FactoryKey):
        self.key = key
        self.modules = key.modules
        # short (Unix socket paths are limited), and naming its process (see sweep_stale_folders)
        self.root = Path(tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{os.getpid()}-"))
        self.work = self.root / "w"
        self.sockets = self.root / "s"
        self.box = Sandbox(
            scratch=self.work, writable=(self.sockets,),
            readonly=(ZYGOTE, *map(Path, key.readonly)), hidden=tuple(map(Path, key.hidden)),
            limits=key.limits,
        )
        self._messages: queue.Queue = queue.Queue()
        self.proc: subprocess.Popen | None = None
        self.pid = 0  # the factory's pid inside its sandbox
        self.busy = False
        self._count = 0

    # --- life of the factory ---------------------------------------------------------------

    def start(self) -> None:
        prepare_scratch(self.box)
        env = base_env(self.box)
        argv = [sys.executable, "-I", str(ZYGOTE), *self.modules,
                "--keep", str(self.work.resolve()), str(self.sockets.resolve())]
        cmd = sandbox_command(argv, self.box, env)
        # The sandbox dies with the *thread* that started it (the leash's parent-death signal):
        # factories are started by one thread that lives as long as this process.
        self.proc = _SPAWNER.submit(
            subprocess.Popen, cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=self.work,
            env={"PATH": env["PATH"]}, start_new_session=True,
        ).result()
        threading.Thread(target=self._read, daemon=True, name="kernel-factory").start()

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                self._messages.put(json.loads(line))
            except ValueError:
                continue
        self._messages.put({"gone": True})

    def _expect(self, key: str, timeout: float) -> dict:
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                raise FactoryError(f"the kernel factory did not say '{key}' within {timeout:g} s")
            try:
                message = self._messages.get(timeout=left)
            except queue.Empty:
                continue
            if "gone" in message:
                raise FactoryError("the kernel factory has exited")
            if key in message:
                return message

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> None:
        self.pid = int(self._expect("ready", timeout)["pid"])

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _send(self, **command) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        try:
            self.proc.stdin.write((json.dumps(command) + "\n").encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError, OSError) as exc:
            raise FactoryError(f"the kernel factory has exited ({exc})") from exc

    def close_process(self) -> None:
        """Stop the factory and everything in its sandbox."""
        if self.proc is not None:
            kill_tree(self.proc.pid)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass

    def close(self) -> None:
        """Stop the factory and remove its folders."""
        self.close_process()
        shutil.rmtree(self.root, ignore_errors=True)

    # --- one kernel ------------------------------------------------------------------------

    def socket_dir(self) -> Path:
        """A fresh folder for one kernel's connection file and sockets, visible inside."""
        self._count += 1
        folder = self.sockets / f"k{self._count}"
        folder.mkdir()  # made the sandbox user's by fork(), or by the cold sandbox that uses it
        return folder

    def fork(self, source: Path, args: list[str], env: dict[str, str], module: str | None = None,
             path: tuple[str, ...] = (), output: str = "") -> ForkedKernel:
        """Start a kernel in the factory's folder, filled with a copy of ``source``; with ``module``,
        a process that runs that module instead (``path`` first on its ``sys.path``, its output in
        the file ``output``)."""
        _empty(self.work)
        shutil.copytree(source, self.work, dirs_exist_ok=True, symlinks=True)
        prepare_scratch(self.box)
        command = {"cwd": str(self.work), "args": args, "env": env}
        if module:
            command.update(module=module, path=list(path), output=output)
        self._send(fork=command)
        ns_pid = int(self._expect("forked", 30)["forked"])
        host_pid = _host_pid(self.proc.pid, ns_pid) if self.proc else None
        if host_pid is None:
            raise FactoryError("the forked kernel was not found")
        return ForkedKernel(self, host_pid)

    def finish(self, source: Path) -> None:
        """After the kernel has exited: wait until the factory has cleaned up, then copy what the
        kernel left in the folder back to ``source`` (replacing it) and empty the folder."""
        from .kernel import reclaim

        try:
            self._expect("clean", CLEAN_TIMEOUT_S)
        except FactoryError:
            self.close_process()  # nothing may go on writing in the folder
            raise
        finally:
            reclaim(self.work)  # links and special files dropped, files owned by the grader again
            _empty(source)
            shutil.copytree(self.work, source, dirs_exist_ok=True)
            _empty(self.work)
            self.busy = False

    def release(self) -> None:
        """Give the factory back unused."""
        self.busy = False


class ForkedKernel:
    """The ``subprocess.Popen`` face of a forked kernel, for jupyter_client's provisioner."""

    stdin = stdout = stderr = None

    def __init__(self, factory: KernelFactory, pid: int):
        self.factory = factory
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                while True:
                    message = self.factory._messages.get_nowait()
                    if "exited" in message:
                        self.returncode = int(message["exited"])
                        break
                    if "gone" in message:
                        self.factory._messages.put(message)
                        self.returncode = -signal.SIGKILL
                        break
            except queue.Empty:
                pass
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        end = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if end is not None and time.monotonic() > end:
                raise subprocess.TimeoutExpired("kernel", timeout)
            time.sleep(0.05)
        return self.returncode  # type: ignore[return-value]

    def send_signal(self, signum: int) -> None:
        if self.poll() is not None:
            return
        try:
            self.factory._send(signal=int(signum))
        except FactoryError:
            pass
        if signum == signal.SIGKILL:  # do not rely on the factory alone for a kill
            try:
                os.kill(self.pid, signal.SIGKILL)
            except OSError:
                pass

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


def _empty(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for entry in folder.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def _ns_pid(pid: int) -> int | None:
    """The innermost pid namespace's pid of host process ``pid``."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("NSpid:"):
                return int(line.split()[-1])
    except (OSError, ValueError):
        return None
    return None


def _host_pid(root: int, ns_pid: int) -> int | None:
    """The host pid of the process of pid ``ns_pid`` inside the sandbox started as ``root``."""
    import psutil

    try:
        tree = psutil.Process(root).children(recursive=True)
    except psutil.Error:
        return None
    for proc in tree:
        if _ns_pid(proc.pid) == ns_pid and proc.pid != ns_pid:
            return proc.pid
    return None


def sweep_stale_folders(tmp: Path | None = None) -> int:
    """Remove the folders of factories whose grading process died without removing them (killed
    by SIGKILL, or a pool terminated): this user's ``agz-<pid>-*`` whose process is gone. Returns
    how many were removed. (A folder whose pid was reused by a live process stays, harmlessly.)"""
    import psutil

    removed = 0
    for folder in Path(tmp or tempfile.gettempdir()).glob(f"{FOLDER_PREFIX}*-*"):
        pid = folder.name[len(FOLDER_PREFIX):].split("-", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            info = folder.lstat()
        except OSError:
            continue
        if info.st_uid != os.getuid() or not stat.S_ISDIR(info.st_mode) or psutil.pid_exists(int(pid)):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed += not folder.exists()
    return removed


# --- one factory per worker process (and one for function checks) ---------------------------------

#: this process's factories: ``kernel`` (notebook kernels), ``checks`` (function checks' workers)
_FACTORIES: dict[str, KernelFactory] = {}
_LOCK = threading.Lock()
_ATEXIT: list[bool] = []


def current(slot: str = "kernel") -> KernelFactory | None:
    """This process's factory in ``slot``, if one is running."""
    return _FACTORIES.get(slot)


def take_factory(key: FactoryKey, slot: str = "kernel") -> KernelFactory | None:
    """This process's ready factory for ``key`` in ``slot`` (started on first use), or None when
    warm kernels cannot be used here (no bubblewrap) or the factory failed to start. A slot holds
    one factory: another key replaces it."""
    from .sandbox import isolation_mode

    if isolation_mode() != "bwrap" or os.environ.get("AUTOGRADER_WARM_KERNELS") == "0":
        return None
    with _LOCK:
        factory = _FACTORIES.get(slot)
        if factory is not None and not factory.alive():
            if not factory.busy:  # else the kernel it forked cleans up when it is shut down
                factory.close()
            factory = None
            _FACTORIES.pop(slot, None)
        if factory is not None and factory.busy:
            return None  # another kernel of this process is running: this one starts cold
        if factory is not None and factory.key != key:
            factory.close()
            factory = None
            _FACTORIES.pop(slot, None)
        if factory is None:
            if not _ATEXIT:  # this process's first factory: clear what dead ones left behind
                sweep_stale_folders()
            factory = KernelFactory(key)
            try:
                factory.start()
                factory.wait_ready()
            except (FactoryError, OSError) as exc:
                print(f"autograder: warm kernels unavailable, starting kernels the usual way: {exc}",
                      file=sys.stderr)
                factory.close()
                return None
            _FACTORIES[slot] = factory
            if not _ATEXIT:
                atexit.register(close_factory)  # its folders go with this process
                # (a worker forked by a fork server leaves through os._exit: no atexit there,
                # but multiprocessing's finalizers)
                multiprocessing.util.Finalize(None, close_factory, exitpriority=10)
                _ATEXIT.append(True)
        factory.busy = True  # reserved for the caller until finish() or release()
        return factory


def drop_factory(factory: KernelFactory, keep_files: bool = False) -> None:
    """Stop a factory that misbehaved; the next kernel gets a new one. ``keep_files`` leaves its
    folders for the caller to remove (a kernel started the usual way may still use its sockets)."""
    with _LOCK:
        for slot, held in list(_FACTORIES.items()):
            if held is factory:
                del _FACTORIES[slot]
    if keep_files:
        factory.close_process()
    else:
        factory.close()


def close_factory() -> None:
    """Stop every factory of this process."""
    with _LOCK:
        factories = list(_FACTORIES.values())
        _FACTORIES.clear()
    for factory in factories:
        factory.close()
