"""Adding up what one submission's grading uses, as it runs.

:func:`metering` opens a :class:`Meter` for one submission (:func:`~.grade.compute_submission`);
while it is open, every sandbox that ends reports its usage with :func:`record` (the kernels of
``nbgrader autograde`` through their kernel manager, training and evaluation children through
:func:`~.sandbox.run_sandboxed`), and :func:`in_process` measures work the grading process does
itself (loading a model and computing its metrics). A worker grades one submission at a time,
so one process-wide meter is enough; kernels report from nbclient's thread, hence the lock.

How each is measured:

* sandboxes: the watchdog's samples of the process tree (resident memory summed over the tree,
  CPU seconds of its processes and of the children they reaped), completed for a child the
  grader reaps itself by the kernel's own account (``wait4``): see :class:`~.sandbox.Watchdog`;
* in-process work: this process's CPU seconds (``getrusage(RUSAGE_SELF)``), its wall time, and
  its peak resident memory over the block (Linux's high-water mark ``VmHWM``, reset at the start
  through ``/proc/self/clear_refs``; where that is refused, the larger of the resident memory
  before and after); GPU seconds are the block's wall time when this process uses a GPU.

Sandboxes started inside an :func:`in_process` block of the same kind (an evaluation sandbox
while the grader scores) add their CPU seconds and memory, not their wall time: the block's wall
time already covers them.
"""

from __future__ import annotations

import contextlib
import resource
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from ..cost import Cost, Usage

STUDENT = "student"
SCORING = "scoring"
KINDS = (STUDENT, SCORING)


class Meter:
    """The usage of one submission so far, per kind of work."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._usage = {kind: Usage() for kind in KINDS}
        self._open = dict.fromkeys(KINDS, 0)

    def add(self, kind: str, usage: Usage, *, timed: bool = False) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown kind of work {kind!r}; one of {', '.join(KINDS)}")
        with self._lock:
            wall = timed or not self._open[kind]
            self._usage[kind] = self._usage[kind].plus(usage, wall=wall)

    def usage(self, kind: str) -> Usage:
        with self._lock:
            return self._usage[kind]

    def cost(self) -> Cost:
        return Cost(student=self.usage(STUDENT), scoring=self.usage(SCORING))


_ACTIVE: list[Meter] = []
_ACTIVE_LOCK = threading.Lock()


@contextlib.contextmanager
def metering() -> Iterator[Meter]:
    """A meter that receives every :func:`record` of this process until the block ends."""
    meter = Meter()
    with _ACTIVE_LOCK:
        _ACTIVE.append(meter)
    try:
        yield meter
    finally:
        with _ACTIVE_LOCK:
            _ACTIVE.remove(meter)


def record(kind: str, usage: Usage) -> None:
    """Count ``usage`` in the open meters (nothing happens outside :func:`metering`)."""
    with _ACTIVE_LOCK:
        meters = list(_ACTIVE)
    for meter in meters:
        meter.add(kind, usage)


def _rss_mb(field: str) -> float | None:
    """``VmHWM`` (peak) or ``VmRSS`` (now) of this process in MB, from ``/proc/self/status``."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _reset_peak() -> bool:
    """Reset this process's peak resident memory (Linux 4.0+); False when refused."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _cpu_self() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


@contextlib.contextmanager
def in_process(kind: str, gpu: bool = False) -> Iterator[None]:
    """Measure the work this process does in the block as ``kind`` (``gpu``: it uses a GPU)."""
    with _ACTIVE_LOCK:
        meters = list(_ACTIVE)
    if not meters:
        yield
        return
    for meter in meters:
        with meter._lock:
            meter._open[kind] += 1
    reset = _reset_peak()
    rss_before = _rss_mb("VmRSS") or 0.0
    cpu, start = _cpu_self(), time.monotonic()
    try:
        yield
    finally:
        wall = time.monotonic() - start
        peak = (_rss_mb("VmHWM") if reset else None) or max(rss_before, _rss_mb("VmRSS") or 0.0)
        usage = Usage(cpu_s=round(_cpu_self() - cpu, 3), wall_s=round(wall, 3),
                      peak_memory_mb=round(peak, 1), gpu_s=round(wall, 3) if gpu else None)
        for meter in meters:
            with meter._lock:
                meter._open[kind] -= 1
            meter.add(kind, usage, timed=True)
