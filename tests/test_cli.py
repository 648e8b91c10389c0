"""Tests for autograder.cli, run as a user runs it: a subprocess of this virtualenv's Python."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SUBCOMMANDS = ("demo", "grade", "report", "train-reference", "generate", "integrity")


def autograder(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.run(
        [sys.executable, "-m", "autograder.cli", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
    )


def test_help_lists_subcommands(tmp_path):
    start = time.monotonic()
    proc = autograder("--help", cwd=tmp_path, timeout=60)
    elapsed = time.monotonic() - start
    assert proc.returncode == 0, proc.stderr
    for name in SUBCOMMANDS:
        assert name in proc.stdout, f"{name!r} missing from --help:\n{proc.stdout}"
    assert elapsed < 30, f"--help took {elapsed:.1f} s"


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_subcommand_help(tmp_path, name):
    proc = autograder(name, "--help", cwd=tmp_path, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "--course-dir" in proc.stdout


def test_no_subcommand_is_a_usage_error(tmp_path):
    proc = autograder(cwd=tmp_path, timeout=60)
    assert proc.returncode == 2
    assert "usage: autograder" in proc.stderr


def test_import_is_light(tmp_path):
    code = (
        "import sys, autograder.cli\n"
        "heavy = [m for m in ('tensorflow', 'keras', 'pandas', 'nbgrader')\n"
        "         if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "", f"importing autograder.cli imports {proc.stdout.strip()}"


@pytest.mark.parametrize("command", ["grade", "report", "generate", "train-reference"])
def test_not_a_course_directory(tmp_path, command):
    proc = autograder(command, "digits", "--course-dir", str(tmp_path), cwd=tmp_path)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "autograder: error:" in proc.stderr
    assert "is not a course directory" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_course_dir_defaults_to_cwd(tmp_path):
    proc = autograder("grade", "digits", cwd=tmp_path)
    assert proc.returncode == 2
    assert str(tmp_path.resolve()) in proc.stderr and "not a course directory" in proc.stderr


def test_assignment_or_all_is_required(tmp_path):
    shutil.copy(REPO / "nbgrader_config.py", tmp_path / "nbgrader_config.py")
    proc = autograder("report", "--course-dir", str(tmp_path), cwd=tmp_path)
    assert proc.returncode == 2
    assert "name an assignment or pass --all" in proc.stderr


def test_report_without_results(tmp_path):
    """`report` needs only the course config: no results, no reference model, no submissions."""
    course = tmp_path / "course"
    course.mkdir()
    shutil.copy(REPO / "nbgrader_config.py", course / "nbgrader_config.py")
    proc = autograder("report", "digits", "--course-dir", str(course), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "digits: no results yet" in proc.stdout
    report = course / "reports" / "digits"
    assert (report / "report.csv").is_file() and (report / "report.html").is_file()
    assert "Grading report: digits" in (report / "report.html").read_text(encoding="utf-8")


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_grade_with_unreachable_ray_cluster_says_what_to_do(tmp_path):
    address = f"127.0.0.1:{_closed_port()}"
    proc = autograder("grade", "digits", "--executor", "ray", "--address", address, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert f"the Ray cluster at {address} is unreachable" in proc.stderr
    assert "ray start --head" in proc.stderr


def test_grade_address_needs_the_ray_executor(tmp_path):
    proc = autograder("grade", "digits", "--address", "127.0.0.1:6379", cwd=tmp_path)
    assert proc.returncode == 2
    assert "--address is for --executor ray" in proc.stderr


def test_grade_refuses_an_unknown_executor(tmp_path):
    proc = autograder("grade", "digits", "--executor", "dask", cwd=tmp_path)
    assert proc.returncode == 2
    assert "invalid choice: 'dask'" in proc.stderr
