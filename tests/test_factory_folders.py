"""Kernel factories' temporary folders: named after their grading process, and swept when that
process died without removing them (no sandbox needed for these)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from autograder.runner import warm_kernels
from autograder.runner.sandbox import Limits


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_folders_of_dead_processes_are_swept(tmp_path: Path) -> None:
    dead = tmp_path / f"agz-{dead_pid()}-k2x9"
    (dead / "w").mkdir(parents=True)
    (dead / "w" / "notebook.ipynb").write_text("{}")
    mine = tmp_path / f"agz-{os.getpid()}-aaaa"
    alive = tmp_path / f"agz-{os.getppid()}-bbbb"
    unnamed = tmp_path / "agz-q1w2e3"  # the older naming, without a pid: not ours to judge
    other = tmp_path / f"other-{dead_pid()}-cccc"
    for folder in (mine, alive, unnamed, other):
        folder.mkdir()
    a_file = tmp_path / f"agz-{dead_pid()}-file"
    a_file.write_text("not a folder")

    assert warm_kernels.sweep_stale_folders(tmp_path) == 1
    assert not dead.exists()
    assert all(p.exists() for p in (mine, alive, unnamed, other, a_file))
    assert warm_kernels.sweep_stale_folders(tmp_path) == 0


def test_a_factory_folder_names_its_process(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    key = warm_kernels.FactoryKey(limits=Limits(), readonly=(), hidden=())
    factory = warm_kernels.KernelFactory(key)
    try:
        assert factory.root.parent == tmp_path
        assert factory.root.name.startswith(f"agz-{os.getpid()}-")
        assert warm_kernels.sweep_stale_folders(tmp_path) == 0  # this process is alive
    finally:
        factory.close()
    assert not factory.root.exists()
