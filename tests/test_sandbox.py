"""The sandbox that runs student code: isolation, limits, and readable reasons (fast: no TensorFlow)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from autograder.runner.sandbox import Limits, Sandbox, isolation_mode, run_sandboxed

needs_bwrap = pytest.mark.skipif(isolation_mode() != "bwrap", reason="bubblewrap is not available")


def run(tmp_path: Path, code: str, *, hidden=(), readonly=(), **limits):
    box = Sandbox(scratch=tmp_path / "scratch", hidden=tuple(hidden), readonly=tuple(readonly),
                  limits=Limits(**{"wall_s": 20.0, **limits}))
    return run_sandboxed([sys.executable, "-c", code], box)


def test_runs_code_in_its_scratch_folder(tmp_path):
    out = run(tmp_path, "import os; open('made.txt', 'w').write('x'); print(os.getcwd())")
    assert out.returncode == 0 and out.violation is None
    assert out.stdout.strip() == str((tmp_path / "scratch").resolve())
    assert (tmp_path / "scratch" / "made.txt").read_text() == "x"


@needs_bwrap
@pytest.mark.skipif(os.geteuid() != 0, reason="dropping to another user needs root")
def test_runs_as_an_unprivileged_user(tmp_path):
    from autograder.runner.sandbox import is_sandbox_uid

    first = run(tmp_path, "import os; print(os.getuid(), os.getgid())").stdout.split()
    second = run(tmp_path, "import os; print(os.getuid())").stdout.split()
    assert first[0] == first[1] and is_sandbox_uid(int(first[0]))
    assert second[0] != first[0]  # each sandbox its own user


@needs_bwrap
def test_no_network(tmp_path):
    code = ("import socket; s = socket.socket(); s.settimeout(3)\n"
            "print(s.connect_ex(('1.1.1.1', 80)))\n"
            "import subprocess\n")
    out = run(tmp_path, code)
    assert out.returncode == 0
    assert out.stdout.strip() != "0"  # unreachable: the sandbox has only its own loopback


@needs_bwrap
def test_grader_files_are_invisible_and_hidden_files_masked(tmp_path):
    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("hidden answer")
    visible_dir = tmp_path / "visible"
    visible_dir.mkdir()
    masked = visible_dir / "hidden_split.csv"
    masked.write_text("hidden split")
    (visible_dir / "ok.txt").write_text("fine")
    code = (
        f"import os\nprint(os.path.exists({str(secret)!r}))\n"
        f"print(open({str(visible_dir / 'ok.txt')!r}).read())\n"
        f"try:\n    print(repr(open({str(masked)!r}).read()))\n"
        "except OSError as e:\n    print('denied')\n"
        "print(os.path.exists('/root/.bash_history'))\n"
    )
    out = run(tmp_path, code, hidden=[masked], readonly=[visible_dir])
    lines = out.stdout.split("\n")
    assert lines[0] == "False"  # not mounted at all
    assert lines[1] == "fine"
    assert "hidden split" not in out.stdout
    assert lines[3] == "False"


def test_environment_is_not_inherited(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADER_SECRET_TOKEN", "s3cret")
    out = run(tmp_path, "import os; print(os.environ.get('GRADER_SECRET_TOKEN'))")
    assert out.stdout.strip() == "None"


@needs_bwrap
def test_a_workers_thread_share_reaches_sandboxed_code(tmp_path, monkeypatch):
    monkeypatch.setenv("TF_NUM_INTRAOP_THREADS", "1")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    out = run(tmp_path, "import os; e = os.environ; print(e['TF_NUM_INTRAOP_THREADS'], e['OMP_NUM_THREADS'])")
    assert out.stdout.split() == ["1", "1"]


def test_read_only_system(tmp_path):
    out = run(tmp_path, "open('/usr/evil.txt', 'w')")
    assert out.returncode != 0 and not Path("/usr/evil.txt").exists()


def test_wall_time_limit(tmp_path):
    start = time.monotonic()
    out = run(tmp_path, "while True: pass", wall_s=2)
    assert out.violation == "time limit of 2 s exceeded"
    assert time.monotonic() - start < 15


def test_sleep_past_the_limit(tmp_path):
    out = run(tmp_path, "import time; time.sleep(60)", wall_s=2)
    assert out.violation and "time limit" in out.violation


def test_memory_limit(tmp_path):
    code = "x = []\nwhile True:\n    x.append(bytearray(50 * 2**20))"
    out = run(tmp_path, code, memory_mb=400)
    assert out.violation == "memory limit of 400 MB exceeded"


def test_cpu_time_limit(tmp_path):
    out = run(tmp_path, "while True: pass", cpu_s=2, wall_s=30)
    assert out.violation == "CPU time limit of 2 s exceeded"


def test_file_size_limit(tmp_path):
    code = "f = open('big', 'wb')\nwhile True:\n    f.write(b'0' * 2**20)"
    out = run(tmp_path, code, file_size_mb=5)
    assert out.returncode != 0 and "File too large" in out.stderr
    assert (tmp_path / "scratch" / "big").stat().st_size <= 5 * 2**20


def test_disk_limit(tmp_path):
    code = "i = 0\nwhile True:\n    open(f'f{i}', 'wb').write(b'0' * 4 * 2**20); i += 1"
    out = run(tmp_path, code, disk_mb=40, file_size_mb=8)
    assert out.violation == "disk limit of 40 MB exceeded in the working folder"


def test_output_is_capped(tmp_path):
    out = run(tmp_path, "print('x' * 4096 * 1024)", output_kb=16)
    assert out.output_truncated and len(out.stdout) <= 16 * 1024


@needs_bwrap
def test_fork_bomb_is_contained(tmp_path):
    code = ("import os  # fork-bomb-marker\nwhile True:\n    try:\n        os.fork()\n"
            "    except OSError:\n        pass")
    out = run(tmp_path, code, processes=64, wall_s=3)
    assert out.violation and "time limit" in out.violation
    import psutil

    time.sleep(0.5)
    leftovers = [p for p in psutil.process_iter(["cmdline"])
                 if "fork-bomb-marker" in " ".join(p.info["cmdline"] or [])]
    assert leftovers == []


def test_exit_codes_are_reported(tmp_path):
    assert run(tmp_path, "import os; os._exit(3)").returncode == 3
    killed = run(tmp_path, "import os, signal; os.kill(os.getpid(), signal.SIGKILL)")
    assert killed.returncode != 0 and killed.violation is None


LEASH = Path(__file__).resolve().parents[1] / "autograder" / "runner" / "leash.py"


def test_leash_starts_nothing_when_the_grader_is_already_gone(tmp_path):
    import subprocess

    marker = tmp_path / "ran"
    # A parent pid that is not ours: the launcher was re-parented, so it must not start the command.
    proc = subprocess.run([sys.executable, "-I", "-S", str(LEASH), "1", "touch", str(marker)])
    assert proc.returncode == 125
    assert not marker.exists()


def test_leash_kills_the_command_when_its_parent_dies(tmp_path):
    import signal
    import subprocess

    import psutil

    # An intermediate "grader" starts `sleep` on a leash, prints the sleeper's pid, then waits.
    grader = (
        "import os, subprocess, sys, time\n"
        f"p = subprocess.Popen([sys.executable, '-I', '-S', {str(LEASH)!r}, str(os.getpid()),"
        " 'sleep', '120'], start_new_session=True)\n"
        "print(p.pid, flush=True)\n"
        "time.sleep(120)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", grader], stdout=subprocess.PIPE, text=True)
    child = psutil.Process(int(parent.stdout.readline()))
    deadline = time.monotonic() + 10
    while child.name() != "sleep":  # the launcher has exec'd the command
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    child.wait(timeout=10)  # raises psutil.TimeoutExpired if the sleeper outlived its grader
    assert not child.is_running()
