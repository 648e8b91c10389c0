"""Isolated execution of untrusted code: Linux namespaces (bubblewrap) and resource limits.

Every process that runs student code (a notebook kernel, a train-mode training run) is started by
:func:`sandbox_command`, which wraps its command line:

* ``prlimit`` sets CPU time, file size, process count and address-space limits;
* ``bwrap`` gives it new PID, network, IPC and UTS namespaces (no network at all: only a private
  loopback), and a filesystem made of read-only system folders, the Python installation, and one
  writable scratch folder. Nothing else of the grading host exists inside: not the course
  directory, not the gradebook, not other students' submissions, not the reference models.
  Paths listed in ``hidden`` (e.g. the package file holding the hidden test split) are masked.
  ``/dev`` is empty but for the GPU of the worker that starts it, if any (:mod:`.gpu_access`);
* ``setpriv`` drops to an unprivileged user with no capabilities when the grader runs as root:
  a fresh uid per sandbox, so concurrent sandboxes share no process limit.

A :class:`Watchdog` in the grader enforces what rlimits cannot: wall time, resident memory of the
whole process tree, and the size of the scratch folder. It records *why* it killed, so the student
reads "memory limit of 2048 MB exceeded" instead of "the kernel died". It also measures what the
tree uses (CPU, memory, GPU seconds): a submission's cost (:mod:`.metering`).

Without bubblewrap (``isolation_mode() == "none"``) code still runs with limits and the watchdog,
but without namespaces; results record which isolation they ran under.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..cost import Usage
from .gpu_access import NO_GPU_ENV, GpuAccess, holds_gpu, sandbox_gpu
from .placement import THREAD_VARIABLES

NOBODY = 65534
# Each sandbox runs as its own unprivileged uid from this range (no passwd entry needed), so the
# process limit (RLIMIT_NPROC counts a user's processes) is not shared by concurrent sandboxes,
# and one student's processes cannot signal or read another's.
SANDBOX_UID_BASE = 200_000
SANDBOX_UID_RANGE = 50_000
_UID_COUNTER = itertools.count()


def allocate_uid() -> int:
    """A uid for one sandbox, distinct across the sandboxes of this and other grader processes."""
    return SANDBOX_UID_BASE + ((os.getpid() << 8) + next(_UID_COUNTER)) % SANDBOX_UID_RANGE


def is_sandbox_uid(uid: int) -> bool:
    return SANDBOX_UID_BASE <= uid < SANDBOX_UID_BASE + SANDBOX_UID_RANGE
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandboxed run (configurable per assignment in ``[limits]``)."""

    wall_s: float = 600.0
    cpu_s: float = 1800.0
    memory_mb: int = 4096
    processes: int = 512
    file_size_mb: int = 256
    disk_mb: int = 1024
    output_kb: int = 2048


@dataclass(frozen=True)
class Sandbox:
    """Where sandboxed code may read and write.

    Attributes:
        scratch: the working folder, writable (mounted at the same path inside).
        writable: other writable folders (e.g. a kernel's socket folder).
        readonly: extra folders visible read-only (the Python installation is always visible).
        hidden: files or folders masked inside visible trees.
        limits: resource limits.
        uid: the unprivileged user the code runs as when the grader is root (a fresh one per
            sandbox by default).
        gpu: the GPU the code may use (device nodes and ``CUDA_VISIBLE_DEVICES``); by default the
            GPU of the worker that starts the sandbox, none for a CPU worker (see
            :mod:`.gpu_access`).
        purpose: whose work it is, for the submission's cost: ``student`` (the student's code)
            or ``scoring`` (evaluating a model), see :mod:`.metering`.
    """

    scratch: Path
    writable: tuple[Path, ...] = ()
    readonly: tuple[Path, ...] = ()
    hidden: tuple[Path, ...] = ()
    limits: Limits = field(default_factory=Limits)
    uid: int = field(default_factory=allocate_uid)
    gpu: GpuAccess | None = field(default_factory=sandbox_gpu)
    purpose: str = "student"


def isolation_mode() -> str:
    """``"bwrap"`` when bubblewrap works here, else ``"none"`` (limits and watchdog only)."""
    if os.environ.get("AUTOGRADER_ISOLATION") == "none":
        return "none"
    return "bwrap" if _bwrap_works() else "none"


_BWRAP_OK: bool | None = None


def _bwrap_works() -> bool:
    global _BWRAP_OK
    if _BWRAP_OK is None:
        exe = shutil.which("bwrap")
        if not exe:
            _BWRAP_OK = False
        else:
            proc = subprocess.run(
                [exe, "--unshare-net", "--unshare-pid", "--die-with-parent", "--ro-bind", "/", "/",
                 "--dev", "/dev", "--proc", "/proc", "true"],
                capture_output=True, timeout=30,
            )
            _BWRAP_OK = proc.returncode == 0
    return _BWRAP_OK


def python_roots() -> list[Path]:
    """Folders the Python interpreter and its packages live in (read-only inside)."""
    roots = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.exec_prefix)}
    exe = Path(sys.executable)
    roots.add(exe.parent)
    roots.add(exe.resolve().parent.parent)
    return sorted(roots, key=lambda p: len(p.parts))


def _minimal(paths: Iterable[Path]) -> list[Path]:
    """Drop paths already contained in another path of the list."""
    out: list[Path] = []
    for p in sorted({Path(p).resolve() if Path(p).exists() else Path(p) for p in paths},
                    key=lambda p: len(p.parts)):
        if not any(p == q or q in p.parents for q in out):
            out.append(p)
    return out


def _parents_first(paths: Iterable[Path]) -> list[str]:
    """``--dir`` arguments (mode 0755) for every missing parent of the mount points.

    bubblewrap creates missing parents with mode 0700, which an unprivileged user cannot enter.
    """
    args: list[str] = []
    seen: set[Path] = set()
    for p in paths:
        for parent in reversed(p.parents):
            if parent == Path("/") or parent in seen:
                continue
            if any(str(parent) == d or str(parent).startswith(d + "/") for d in SYSTEM_DIRS):
                continue
            seen.add(parent)
            args += ["--perms", "0755", "--dir", str(parent)]
    return args


def leash_command() -> list[str]:
    """The launcher that ties what follows to this process's life (see :mod:`.leash`)."""
    return [sys.executable, "-I", "-S", str(Path(__file__).with_name("leash.py")), str(os.getpid())]


def sandbox_command(argv: list[str], box: Sandbox, env: dict[str, str]) -> list[str]:
    """The full command line that runs ``argv`` inside ``box`` with ``env`` only."""
    lim = box.limits
    mem_bytes = max(lim.memory_mb, 1) * 2**20
    # Address space is a coarse second line behind the watchdog's RSS check: TensorFlow reserves
    # far more virtual memory than it uses, so the cap is generous.
    address_space = max(8 * mem_bytes, 32 * 2**30)
    prlimit = [
        *leash_command(),
        "prlimit",
        # Soft limit sends SIGXCPU (a recognisable death); the hard limit, a little later, SIGKILL.
        f"--cpu={int(lim.cpu_s)}:{int(lim.cpu_s) + 5}",
        f"--fsize={lim.file_size_mb * 2**20}",
        f"--as={address_space}",
        "--core=0",
    ]
    if os.geteuid() == 0:
        # RLIMIT_NPROC counts the processes of the (unprivileged) user the code runs as.
        prlimit.append(f"--nproc={lim.processes}")
    prlimit.append("--")
    if isolation_mode() == "none":
        return prlimit + argv
    readonly = _minimal([*python_roots(), *box.readonly])
    scratch = Path(box.scratch).resolve()
    cmd = [
        shutil.which("bwrap") or "bwrap",
        "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
        "--die-with-parent", "--new-session", "--hostname", "sandbox",
    ]
    for d in SYSTEM_DIRS:
        if Path(d).exists():
            cmd += ["--ro-bind", d, d]
    cmd += ["--dev", "/dev", "--proc", "/proc"]
    for source, target in box.gpu.binds if box.gpu else ():
        cmd += ["--dev-bind", source, target]  # the GPU's device nodes, device access allowed
    cmd += ["--perms", "1777", "--size", str(64 * 2**20), "--tmpfs", "/dev/shm"]
    cmd += ["--perms", "1777", "--size", str(lim.disk_mb * 2**20), "--tmpfs", "/tmp"]
    writable = [Path(w).resolve() for w in box.writable]
    cmd += _parents_first([*readonly, scratch, *writable])
    for p in readonly:
        cmd += ["--ro-bind", str(p), str(p)]
    for h in box.hidden:
        h = Path(h)
        if h.is_dir():
            cmd += ["--tmpfs", str(h)]
        elif h.exists():
            cmd += ["--ro-bind", "/dev/null", str(h)]
    for w in writable:
        cmd += ["--bind", str(w), str(w)]
    cmd += ["--bind", str(scratch), str(scratch), "--chdir", str(scratch), "--clearenv"]
    for key, value in env.items():
        cmd += ["--setenv", key, value]
    if os.geteuid() == 0:
        cmd += ["setpriv", f"--reuid={box.uid}", f"--regid={box.uid}", "--clear-groups",
                "--inh-caps=-all", "--bounding-set=-all", "--"]
    return prlimit + cmd + argv


def prepare_scratch(box: Sandbox) -> None:
    """Make the scratch and writable folders writable by the sandbox user."""
    for folder in (Path(box.scratch), *map(Path, box.writable)):
        folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0 and isolation_mode() == "bwrap":
            for root, dirs, files in os.walk(folder):
                os.chown(root, box.uid, box.uid)
                for name in dirs + files:
                    os.lchown(os.path.join(root, name), box.uid, box.uid)


def base_env(box: Sandbox) -> dict[str, str]:
    """The environment sandboxed code sees: nothing of the grader's own."""
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": "/tmp",
        "TMPDIR": "/tmp",
        "LANG": "C.UTF-8",
        "USER": "student",  # the sandbox uid has no passwd entry; getpass reads these first
        "LOGNAME": "student",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "PYTHONHASHSEED": "0",
        "MPLBACKEND": "Agg",
        "OMP_NUM_THREADS": "2",
    }
    # a worker's share of the cores (placement.WorkerPlan.threads), or what the instructor set
    env.update({k: os.environ[k] for k in THREAD_VARIABLES if k in os.environ})
    env.update(box.gpu.env() if box.gpu else NO_GPU_ENV)
    return env


def process_tree(pid: int) -> list:
    """``pid`` and all its descendants (psutil processes); empty when it is gone."""
    import psutil

    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def kill_tree(pid: int) -> None:
    """SIGKILL ``pid`` and all its descendants, deepest first."""
    import psutil

    for p in reversed(process_tree(pid)):
        try:
            p.kill()
        except psutil.Error:
            continue


class Watchdog(threading.Thread):
    """Kills a sandboxed process tree that exceeds its wall time, memory or disk limit.

    As it watches, it measures what the tree uses (:meth:`usage`): the largest resident memory
    of the whole tree, its CPU seconds (its processes' own, and those of the children they
    reaped), and, when the sandbox has a GPU, the seconds during which one of its processes had
    the GPU's device node open (checked every ``gpu_every`` samples).
    """

    def __init__(self, pid: int, box: Sandbox, interval: float = 0.2, gpu_every: int = 5):
        super().__init__(daemon=True, name=f"watchdog-{pid}")
        self.pid = pid
        self.box = box
        self.interval = interval
        self.gpu_every = gpu_every
        self.reason: str | None = None
        self.started_at = time.monotonic()
        self.stopped_at: float | None = None
        self.peak_rss_mb = 0.0
        self.cpu_s = 0.0
        self.gpu_s: float | None = 0.0 if box.gpu is not None else None
        self._gpu_checked_at = self.started_at
        self._stop = threading.Event()

    def stop(self) -> None:
        if self.stopped_at is None:
            self.stopped_at = time.monotonic()
        self._stop.set()

    def usage(self) -> Usage:
        """What the tree used so far (wall time up to :meth:`stop`)."""
        end = self.stopped_at if self.stopped_at is not None else time.monotonic()
        return Usage(cpu_s=round(self.cpu_s, 3), wall_s=round(end - self.started_at, 3),
                     peak_memory_mb=round(self.peak_rss_mb, 1),
                     gpu_s=None if self.gpu_s is None else round(self.gpu_s, 3))

    def _cpu_s(self, procs) -> float:
        import psutil

        total = 0.0
        for p in procs:
            try:
                t = p.cpu_times()
            except psutil.Error:
                continue
            total += t.user + t.system + t.children_user + t.children_system
        return total

    def _check_gpu(self, procs) -> None:
        now = time.monotonic()
        if any(holds_gpu(p.pid) for p in procs):
            self.gpu_s += now - self._gpu_checked_at
        self._gpu_checked_at = now

    def sample(self, procs) -> float:
        """Record one sample of ``procs`` (the tree); returns its resident memory in MB."""
        rss = self._rss_mb(procs)
        self.peak_rss_mb = max(self.peak_rss_mb, rss)
        # a process that ends moves its time to the parent that reaps it: the sum never drops
        # unless the tree's root itself ends, so the largest sum is the best estimate
        self.cpu_s = max(self.cpu_s, self._cpu_s(procs))
        return rss

    def _tree(self):
        return process_tree(self.pid)

    def _rss_mb(self, procs) -> float:
        import psutil

        total = 0
        for p in procs:
            try:
                total += p.memory_info().rss
            except psutil.Error:
                continue
        return total / 2**20

    def _disk_mb(self) -> float:
        total = 0
        for root, _dirs, files in os.walk(self.box.scratch):
            for name in files:
                try:
                    total += os.lstat(os.path.join(root, name)).st_size
                except OSError:
                    continue
        return total / 2**20

    def kill(self, reason: str) -> None:

        if self.reason is None:
            self.reason = reason
        kill_tree(self.pid)

    def run(self) -> None:
        lim = self.box.limits
        tick = 0
        while not self._stop.wait(self.interval):
            procs = self._tree()
            if not procs:
                return
            if time.monotonic() - self.started_at > lim.wall_s:
                self.kill(f"time limit of {lim.wall_s:g} s exceeded")
                return
            if self.sample(procs) > lim.memory_mb:
                self.kill(f"memory limit of {lim.memory_mb} MB exceeded")
                return
            tick += 1
            if self.gpu_s is not None and tick % self.gpu_every == 0:
                self._check_gpu(procs)
            if tick % 5 == 0 and self._disk_mb() > lim.disk_mb:
                self.kill(f"disk limit of {lim.disk_mb} MB exceeded in the working folder")
                return


@dataclass(frozen=True)
class RunOutcome:
    """How a sandboxed command ended."""

    returncode: int
    stdout: str
    stderr: str
    duration_s: float
    violation: str | None = None  # a limit the watchdog enforced, written for the student
    output_truncated: bool = False
    usage: Usage = field(default_factory=Usage)  # what the sandbox used (see Watchdog.usage)


class _AccountedPopen(subprocess.Popen):
    """A ``Popen`` that keeps the resource usage the kernel reports when it reaps the child
    (``wait4``): CPU time of the child and of every descendant reaped inside it, and the largest
    resident set of any one of them."""

    rusage = None

    def _try_wait(self, wait_flags):  # Popen's one call of waitpid (CPython 3.3+)
        try:
            pid, sts, rusage = os.wait4(self.pid, wait_flags)
        except ChildProcessError:
            return self.pid, 0  # as Popen does: the status is lost
        if pid == self.pid:
            self.rusage = rusage
        return pid, sts


def _drain(stream, cap: int, sink: list, flags: dict) -> None:
    size = 0
    for chunk in iter(lambda: stream.read(65536), b""):
        if size < cap:
            sink.append(chunk[: cap - size])
        size += len(chunk)
        if size > cap:
            flags["truncated"] = True
    stream.close()


def run_sandboxed(argv: list[str], box: Sandbox, env: dict[str, str] | None = None) -> RunOutcome:
    """Run ``argv`` in ``box``; never raises for anything the sandboxed code does."""
    prepare_scratch(box)
    full_env = {**base_env(box), **(env or {})}
    cmd = sandbox_command(argv, box, full_env)
    start = time.monotonic()
    popen_env = full_env if isolation_mode() == "none" else {"PATH": os.environ.get("PATH", "")}
    proc = _AccountedPopen(
        cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        cwd=box.scratch, env=popen_env, start_new_session=True,
    )
    cap = box.limits.output_kb * 1024
    out: list[bytes] = []
    err: list[bytes] = []
    flags: dict[str, bool] = {}
    drains = [
        threading.Thread(target=_drain, args=(proc.stdout, cap, out, flags), daemon=True),
        threading.Thread(target=_drain, args=(proc.stderr, cap, err, flags), daemon=True),
    ]
    for t in drains:
        t.start()
    dog = Watchdog(proc.pid, box)
    dog.start()
    try:
        proc.wait(timeout=box.limits.wall_s + 10)
    except subprocess.TimeoutExpired:
        dog.kill(f"time limit of {box.limits.wall_s:g} s exceeded")
        proc.wait()
    dog.stop()
    for t in drains:
        t.join(timeout=5)
    violation = dog.reason
    if violation is None and proc.returncode in (-signal.SIGXCPU, 128 + signal.SIGXCPU):
        violation = f"CPU time limit of {box.limits.cpu_s:g} s exceeded"
    usage = dog.usage()
    if proc.rusage is not None:  # exact where the watchdog's samples come short
        ru = proc.rusage
        usage = dataclasses.replace(
            usage, cpu_s=round(max(usage.cpu_s, ru.ru_utime + ru.ru_stime), 3),
            peak_memory_mb=round(max(usage.peak_memory_mb, ru.ru_maxrss / 1024), 1))
    from .metering import record

    record(box.purpose, usage)
    return RunOutcome(
        returncode=proc.returncode,
        stdout=b"".join(out).decode("utf-8", "replace"),
        stderr=b"".join(err).decode("utf-8", "replace"),
        duration_s=round(time.monotonic() - start, 2),
        violation=violation,
        output_truncated=flags.get("truncated", False),
        usage=usage,
    )
