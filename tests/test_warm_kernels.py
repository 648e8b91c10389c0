"""Warm kernels: notebook kernels forked from a sandboxed factory that imported TensorFlow once.

Every test runs real notebooks through nbclient with :class:`SandboxedKernelManager`, as nbgrader
does. The factory is per process; the tests check what one kernel may leave for the next (nothing),
that limits still hold, and that a broken factory costs a student nothing.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, DeadKernelError
from nbformat.v4 import new_code_cell, new_notebook
from process_helpers import processes_named

from autograder.runner import warm_kernels
from autograder.runner.kernel import SandboxedKernelManager, violation_for
from autograder.runner.sandbox import isolation_mode

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(isolation_mode() != "bwrap", reason="warm kernels need bubblewrap"),
]


def execute(folder: Path, *cells: str, warm: bool = True, wall_s: float | None = None):
    """Run ``cells`` as a notebook in ``folder``; the notebook with its outputs."""
    folder.mkdir(parents=True, exist_ok=True)
    nb = new_notebook(cells=[new_code_cell(c) for c in cells])
    client = NotebookClient(nb, kernel_manager_class=SandboxedKernelManager, timeout=120,
                            resources={"metadata": {"path": str(folder)}},
                            extra_arguments=["--IPKernelApp.log_level=CRITICAL"])
    client.km = client.create_kernel_manager()
    client.km.warm = warm
    if wall_s is not None:
        client.km.wall_s = wall_s
    client.execute()
    return nb


def printed(nb) -> list[str]:
    return ["".join(o.get("text", "") for o in cell.outputs).strip() for cell in nb.cells]


def test_kernel_is_forked_warm_and_gets_the_notebook_folder(tmp_path):
    (tmp_path / "nb").mkdir()
    (tmp_path / "nb" / "data.txt").write_text("the student's data")
    nb = execute(tmp_path / "nb",
                 "import sys; print('tensorflow' in sys.modules, 'keras' in sys.modules)",
                 "print(open('data.txt').read())",
                 "open('result.txt', 'w').write('written by the kernel')\n"
                 "import os; os.symlink('/etc/passwd', 'link')")
    assert printed(nb)[:2] == ["True True", "the student's data"]
    # What the kernel wrote comes back to the notebook's folder; links it planted do not.
    assert (tmp_path / "nb" / "result.txt").read_text() == "written by the kernel"
    assert (tmp_path / "nb" / "data.txt").is_file()
    assert not (tmp_path / "nb" / "link").exists() and not (tmp_path / "nb" / "link").is_symlink()
    factory = warm_kernels.current()
    assert factory is not None and factory.alive() and not factory.busy
    assert list(factory.work.iterdir()) == []  # emptied for the next notebook


def test_a_kernel_leaves_nothing_for_the_next(tmp_path):
    name = f"leftover{os.getpid() % 10000}"
    first = execute(
        tmp_path / "a",
        "secret = 'first student'\n"
        "open('/tmp/planted.py', 'w').write('x = 1')\n"
        "open('/dev/shm/planted', 'w').write('x')\n"
        "open('mine.txt', 'w').write('first')",
        # a daemon in its own session, which outlives the kernel unless the factory kills it
        "import subprocess, sys\n"
        f"subprocess.Popen([sys.executable, '-c', \"open('/proc/self/comm', 'w').write('{name}');"
        "import time; time.sleep(600)\"], start_new_session=True)\n"
        "import time; time.sleep(1)\n"
        "import os; print(os.getpid())",
    )
    factory = warm_kernels.current()
    assert factory is not None
    first_pid = int(printed(first)[1])
    assert processes_named(name) == [], "a process the first kernel started outlived it"
    second = execute(
        tmp_path / "b",
        "import os\n"
        "print('secret' in globals(), os.path.exists('/tmp/planted.py'),"
        " os.path.exists('/dev/shm/planted'), sorted(os.listdir('.')), os.getpid())",
    )
    assert warm_kernels.current() is factory, "the second kernel should come from the same factory"
    seen = printed(second)[0].rsplit(" ", 1)
    assert seen[0] == "False False False []"
    assert int(seen[1]) != first_pid  # a new process, not a reused one


def test_cold_kernels_stay_available(tmp_path):
    nb = execute(tmp_path / "nb", "import sys; print('tensorflow' in sys.modules)", warm=False)
    assert printed(nb) == ["False"]


def test_limits_hold_in_a_forked_kernel(tmp_path):
    folder = tmp_path / "loop"
    with pytest.raises((DeadKernelError, CellExecutionError, RuntimeError)):
        execute(folder, "while True:\n    pass", wall_s=5)
    assert "time limit of 5 s" in (violation_for(folder) or "")
    # The factory survives a kernel killed for a limit (for the same limits, it is reused).
    after = execute(tmp_path / "after", "import sys; print('tensorflow' in sys.modules, 6 * 7)",
                    wall_s=5)
    assert printed(after) == ["True 42"]


def test_a_kernel_that_kills_its_factory_costs_the_next_notebook_nothing(tmp_path):
    execute(tmp_path / "warm", "pass")
    factory = warm_kernels.current()
    assert factory is not None
    with pytest.raises(DeadKernelError):
        execute(tmp_path / "killer", "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n"
                "import time; time.sleep(30)")
    deadline = time.monotonic() + 10
    while factory.alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not factory.alive()
    nb = execute(tmp_path / "next", "import sys; print('tensorflow' in sys.modules, 6 * 7)")
    assert printed(nb) == ["True 42"]
    assert warm_kernels.current() is not None and warm_kernels.current() is not factory


def test_a_factory_that_cannot_fork_falls_back_to_a_cold_kernel(tmp_path, monkeypatch):
    execute(tmp_path / "warm", "pass")

    def broken(*_a, **_k):
        raise warm_kernels.FactoryError("simulated failure")

    monkeypatch.setattr(warm_kernels.KernelFactory, "fork", broken)
    (tmp_path / "nb").mkdir()
    (tmp_path / "nb" / "data.txt").write_text("still here")
    nb = execute(tmp_path / "nb", "import sys; print('tensorflow' in sys.modules)",
                 "print(open('data.txt').read())")
    assert printed(nb) == ["False", "still here"]


def test_factory_ignores_a_signal_for_a_finished_kernel_and_stops_cleanly(tmp_path):
    execute(tmp_path / "a", "pass")
    factory = warm_kernels.current()
    assert factory is not None
    factory._send(signal=int(signal.SIGINT))  # nothing running: must not break the factory
    nb = execute(tmp_path / "b", "print('ok')")
    assert printed(nb) == ["ok"] and warm_kernels.current() is factory
    warm_kernels.close_factory()
    assert not factory.alive() and not factory.root.exists()


def _grade_one_notebook(folder: str, roots) -> None:
    execute(Path(folder), "print('graded')")
    roots.put(str(warm_kernels.current().root))


def test_a_worker_forked_by_the_fork_server_removes_its_factory_when_it_exits(tmp_path):
    """Grading workers are forked from a fork server and leave through os._exit (no atexit):
    their factory's folders still go with them."""
    import multiprocessing

    mp = multiprocessing.get_context("forkserver")
    roots = mp.Queue()
    worker = mp.Process(target=_grade_one_notebook, args=(str(tmp_path / "nb"), roots))
    worker.start()
    root = Path(roots.get(timeout=180))
    worker.join(60)
    assert worker.exitcode == 0
    assert root.name.startswith("agz-") and not root.exists()
