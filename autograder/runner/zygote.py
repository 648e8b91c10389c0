"""A warm kernel factory that runs inside the sandbox: import once, fork one kernel per notebook.

Usage (only through :mod:`.warm_kernels`, inside a sandbox): ``python -I zygote.py MODULE...
--keep FOLDER...`` (the ``--keep`` folders are the grader's, bound inside ``/tmp``: never wiped).
It imports what a kernel imports as it starts (ipykernel, its shell and debugger) and
``MODULE...`` (numpy, TensorFlow, Keras), says ``ready``, then reads one JSON command per line on
stdin and answers one JSON line on stdout:

* ``{"fork": {"cwd": ..., "args": [...], "env": {...}}}``: fork a child that becomes an IPython
  kernel started with ``args`` (``-f CONNECTION_FILE ...``, as ``python -m ipykernel_launcher``
  would be) in ``cwd``; answers ``{"forked": PID}`` (a pid of the sandbox's own pid namespace).
  When that kernel exits, it says ``{"exited": CODE}``, kills every other process left in the
  sandbox (the kernel's children, daemons it started), empties ``/tmp`` and ``/dev/shm``, and
  says ``{"clean": true}``; only then does it take the next command.
  With ``"module"`` (and ``"path"``, ``"output"``), the child runs that module instead, as
  ``python -m MODULE ARGS`` would, its output in the file ``output``: a function check's worker
  (:mod:`.check_worker`), cleaned up after in the same way.
* ``{"signal": N}``: send signal N to the running kernel's process group.

Each kernel is a fresh process that starts from the factory's state right after the imports: no
kernel ever sees what an earlier one did in memory, and what it left on disk or running is gone
before the next starts. The grader empties the working folder itself. The factory sets itself
non-dumpable, so a kernel (same user) cannot read or trace its memory.
"""

from __future__ import annotations

import ctypes
import importlib
import json
import os
import select
import shutil
import signal
import sys
import time

PR_SET_DUMPABLE = 4
WIPED = ("/tmp", "/dev/shm")
#: What every kernel imports while it initializes (its shell, debugger, history): once, here.
KERNEL_MODULES = (
    "ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell", "ipykernel.debugger",
    "IPython.core.completerlib", "IPython.core.debugger", "IPython.core.logger",
    "IPython.core.oinspect", "tornado.queues", "sqlite3",
)


def _say(out, **message) -> None:
    out.write(json.dumps(message) + "\n")
    out.flush()


def _others() -> list[int]:
    """Every process of this pid namespace but this one and the namespace's init (pid 1)."""
    me = os.getpid()
    return [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, me)]


def kill_leftovers(deadline_s: float = 10.0) -> None:
    """SIGKILL every other process in the sandbox until none is left (a fork loop included)."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        others = _others()
        if not others:
            return
        for pid in others:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        # reap our own children; the namespace's init reaps the re-parented ones
        while True:
            try:
                if os.waitpid(-1, os.WNOHANG)[0] == 0:
                    break
            except ChildProcessError:
                break
        time.sleep(0.01)


def wipe(folder: str, keep: tuple[str, ...] = ()) -> None:
    """Empty a folder the kernel could write (never following links), but for the entries on the
    way to the ``keep`` folders (the grader's folders bound inside it)."""
    try:
        entries = os.listdir(folder)
    except OSError:
        return
    for name in entries:
        path = os.path.join(folder, name)
        if any(k == path for k in keep):
            continue
        if any(k.startswith(path + "/") for k in keep):
            if os.path.isdir(path) and not os.path.islink(path):
                wipe(path, keep)  # a folder on the way to a kept one: empty the rest of it
            continue
        try:
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                os.unlink(path)
        except OSError:
            pass


def become_kernel(cwd: str, args: list[str], env: dict[str, str]) -> None:
    """In the forked child: turn into an IPython kernel, as ``python -m ipykernel_launcher``."""
    import random

    os.setsid()  # its own process group: signals for the kernel reach its children too
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(2, 1)  # the protocol pipe is the factory's, not the kernel's
    os.environ.update(env)
    os.chdir(cwd)
    sys.path.insert(0, cwd)  # as ``python -m`` puts the working folder first
    sys.argv = ["ipykernel_launcher", *args]
    # A fresh process would seed these from the OS: so does every forked kernel.
    random.seed()
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed()
    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance()
    app.initialize(args)
    app.start()


def become_module(cwd: str, module: str, args: list[str], env: dict[str, str], path: list[str],
                  output: str) -> None:
    """In the forked child: run ``module`` as ``python -m MODULE ARGS`` would (a function check's
    worker), with ``path`` first on ``sys.path`` and its stdout and stderr in the file ``output``."""
    import random
    import runpy

    os.setsid()
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    log = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.environ.update(env)
    os.chdir(cwd)
    sys.path[:0] = [*path, cwd]
    sys.argv = [module, *args]
    random.seed()
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed()
    runpy.run_module(module, run_name="__main__", alter_sys=True)


class Lines:
    """JSON commands from a file descriptor, one per line, with a timeout (no buffering surprises)."""

    def __init__(self, fd: int):
        self.fd = fd
        self.buffer = b""
        self.closed = False

    def next(self, timeout: float | None = None):
        """The next command; None on timeout; raises EOFError when the grader has gone."""
        while b"\n" not in self.buffer:
            if self.closed:
                raise EOFError
            ready, _, _ = select.select([self.fd], [], [], timeout)
            if not ready:
                return None
            chunk = os.read(self.fd, 65536)
            if not chunk:
                self.closed = True
                continue
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)


def serve(modules: list[str], keep: tuple[str, ...]) -> None:
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # stray prints of the imports must not garble the protocol
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    # debugpy (the kernel's debugger) warns at import that frozen modules may hide breakpoints
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    for name in KERNEL_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:  # another ipykernel/IPython version: that kernel imports what it needs
            if name == "ipykernel.kernelapp":
                raise
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a kernel that needs it imports it (and fails) itself
            continue
    _say(out, ready=True, pid=os.getpid())
    commands = Lines(0)
    while True:
        try:
            command = commands.next()
        except EOFError:
            return
        if "fork" not in command:
            continue  # a signal for a kernel that has already exited
        job = command["fork"]
        child = os.fork()
        if child == 0:
            code = 1
            try:
                if job.get("module"):
                    become_module(job["cwd"], job["module"], job["args"], job.get("env") or {},
                                  job.get("path") or [], job["output"])
                else:
                    become_kernel(job["cwd"], job["args"], job.get("env") or {})
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            finally:
                os._exit(code)
        _say(out, forked=child)
        code = _wait_for(child, commands)
        _say(out, exited=code)
        kill_leftovers()
        for folder in WIPED:
            wipe(folder, keep)
        _say(out, clean=True)


def _wait_for(child: int, commands: Lines) -> int:
    """Wait for the kernel to exit, passing on the signals the grader asks for meanwhile."""
    while True:
        pid, status = os.waitpid(child, os.WNOHANG)
        if pid == child:
            return os.waitstatus_to_exitcode(status)
        try:
            command = commands.next(timeout=0.05)
        except EOFError:  # the grader is gone: so is the kernel
            command = {"signal": signal.SIGKILL}
            time.sleep(0.05)
        if command and "signal" in command:
            try:
                os.killpg(child, int(command["signal"]))
            except OSError:
                pass


if __name__ == "__main__":
    args = sys.argv[1:]
    split = args.index("--keep") if "--keep" in args else len(args)
    serve(args[:split], tuple(args[split + 1:]))
