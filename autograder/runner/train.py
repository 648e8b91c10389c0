"""Train mode, the parent side: rebuild a student's model in a child process, within budget."""

from __future__ import annotations

import dataclasses
import json
import secrets
import sys
from pathlib import Path

from ..errors import ResourceLimitError, StudentCodeError, TimeLimitError
from ..histories import history_path
from ..notebook import cell_sources
from ..spec import GradingSpec
from .sandbox import Sandbox, run_sandboxed

PACKAGE_DIR = Path(__file__).resolve().parents[1]


def grader_only_paths(spec: GradingSpec) -> tuple[Path, ...]:
    """What sandboxed code must not read even where it can read the package and the venv: the
    hidden split of the model's dataset, and the demo's solutions."""
    from ..data import hidden_files

    return (*hidden_files([spec.dataset]), PACKAGE_DIR / "demo" / "students")


def train_model_from_notebook(
    notebook: Path, spec: GradingSpec, workdir: Path, *, seed: int | None = None, kind: str = "train"
) -> Path:
    """Run the notebook's model cells (``spec.train.cells``) in a child process and train.

    ``kind`` ``train`` fits the compiled model the builder returns; ``fit`` calls the builder as a
    training function, ``builder(images, epochs, batch_size) -> (model, history)``, for models that
    train in their own loop (a GAN), and keeps the loss history beside the model
    (:func:`autograder.histories.history_path`).

    Returns the path of the trained ``.keras`` model, saved by the child. The caller evaluates it
    in its own process with safe loading, so no student code runs there.

    Raises:
        NotebookError: a model cell is missing or the notebook is unreadable.
        StudentCodeError: the student's code raised, or did not give a compiled Keras model.
        TimeLimitError: training exceeded ``spec.budget.time_limit_s``.
        ResourceLimitError: training exceeded a memory, disk or CPU limit of ``spec.limits``.
    """
    from ..data import load_dataset

    train = load_dataset(spec.dataset, "train")
    job = run_notebook_job(notebook, spec, workdir, train.x, train.y, kind=kind, seed=seed)
    return Path(job["out"])


def run_notebook_job(notebook: Path, spec: GradingSpec, workdir: Path, x, y, *, kind: str,
                     seed: int | None = None) -> dict:
    """Run the notebook's cells and a ``kind`` job (``train`` or ``pipeline``) on ``x``, ``y`` in a
    sandboxed child; returns the job, with the child's ``status`` (raises as
    :func:`train_model_from_notebook` does when the student's code fails)."""
    import numpy as np

    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    for stale in workdir.iterdir():
        if stale.is_file():
            stale.unlink()
    train_file = workdir / "train.npz"
    np.savez(train_file, x=x, y=y)
    token = secrets.token_hex(16)
    job = {
        "kind": kind,
        "cells": cell_sources(notebook, spec.train.cells),
        "builder": spec.train.builder,
        "seed": spec.seed if seed is None else seed,
        "epochs": spec.budget.epochs,
        "batch_size": spec.budget.batch_size,
        "out": str(workdir / "trained.keras"),
        "history": str(history_path(workdir / "trained.keras")),
        "status": str(workdir / "status.json"),
        "train_file": str(train_file),
        "token": token,
    }
    job_path = workdir / "job.json"
    job_path.write_text(json.dumps(job))
    limits = dataclasses.replace(spec.limits, wall_s=spec.budget.time_limit_s)
    box = Sandbox(scratch=workdir, readonly=(PACKAGE_DIR,), hidden=grader_only_paths(spec),
                  limits=limits)
    outcome = run_sandboxed(
        [sys.executable, "-m", "autograder.runner.train_worker", str(job_path)], box,
        env={"PYTHONPATH": str(PACKAGE_DIR.parent)},  # the grader's own package, mounted read-only
    )
    what = "training your model" if kind in ("train", "fit") else "running your code"
    if outcome.violation:
        if outcome.violation.startswith("time limit"):
            raise TimeLimitError(f"{what} took longer than the limit of {limits.wall_s:g} s")
        raise ResourceLimitError(f"{what} was stopped: {outcome.violation}")
    status = _read_status(workdir / "status.json", token)
    if status and not status.get("ok"):
        raise StudentCodeError(f"{what} failed in {status['where']}: {status['message']}")
    if outcome.returncode != 0 or not status:
        tail = (outcome.stderr or "").strip().splitlines()[-1:] or ["no output"]
        raise StudentCodeError(
            f"{what} stopped with exit code {outcome.returncode}: {tail[0][:300]}"
        )
    job["status"] = status
    return job


def _read_status(path: Path, token: str) -> dict | None:
    """The worker's status, or None when it is missing, unreadable or not the worker's own."""
    try:
        status = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(status, dict) or status.get("token") != token:
        return None
    return status
