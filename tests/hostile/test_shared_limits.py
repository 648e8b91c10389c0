"""Two sandboxes at once: one submission's processes must not starve another's.

``grade_assignment`` grades with one worker per CPU core, so two students' kernels run at the same
time, both as the sandbox user. ``prlimit --nproc`` limits the processes *of that user*, all
sandboxes together: a submission that fills the limit with idle processes (cheap: no memory, no
CPU, so the watchdog does not stop it before the wall-clock limit) leaves a neighbour's kernel
unable to start a thread. This test runs the two sandboxes directly, so it is deterministic.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

import pytest

from autograder.runner.sandbox import Limits, Sandbox, isolation_mode, run_sandboxed

pytestmark = pytest.mark.slow

HOG = """
import pathlib, subprocess, time
children = []
try:
    while True:
        children.append(subprocess.Popen(["sleep", "60"]))
except OSError as exc:
    pathlib.Path("full").write_text(f"{len(children)} processes, then {exc}")
time.sleep(60)
"""

NEIGHBOUR = """
import subprocess, threading
threads = [threading.Thread(target=lambda: None) for _ in range(4)]
for t in threads:
    t.start()
subprocess.run(["true"], check=True)
print("neighbour ran")
"""


def test_a_process_hog_does_not_starve_a_concurrent_sandbox(tmp_path: Path):
    if os.geteuid() != 0 or isolation_mode() != "bwrap":
        pytest.skip("the process limit applies only when the grader runs as root with bubblewrap")
    limits = Limits(wall_s=8, processes=64, memory_mb=1024)
    hog_box = Sandbox(scratch=tmp_path / "hog", limits=limits)
    outcome = {}

    def hog() -> None:
        outcome["hog"] = run_sandboxed([sys.executable, "-c", HOG], hog_box)

    thread = threading.Thread(target=hog, daemon=True)
    thread.start()
    deadline = time.monotonic() + 6
    while not (tmp_path / "hog" / "full").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert (tmp_path / "hog" / "full").exists(), "the hog never reached the process limit"
    neighbour = run_sandboxed([sys.executable, "-c", NEIGHBOUR],
                              Sandbox(scratch=tmp_path / "neighbour", limits=limits))
    thread.join(timeout=30)
    assert outcome["hog"].violation and "time limit" in outcome["hog"].violation
    assert neighbour.returncode == 0 and "neighbour ran" in neighbour.stdout, (
        f"the neighbour sandbox failed while the hog held the process limit: "
        f"{neighbour.stderr.strip().splitlines()[-1:]}")
