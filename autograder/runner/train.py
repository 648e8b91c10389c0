"""Train mode, the parent side: rebuild a student's model in a child process, within budget."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

from ..errors import StudentCodeError, TimeLimitError
from ..notebook import cell_sources
from ..spec import GradingSpec


def train_model_from_notebook(
    notebook: Path, spec: GradingSpec, workdir: Path, *, seed: int | None = None
) -> Path:
    """Run the notebook's model cells (``spec.train.cells``) in a child process and train.

    Returns the path of the trained ``.keras`` model, saved by the child. The caller evaluates it
    in its own process with safe loading, so no student code runs there.

    Raises:
        NotebookError: a model cell is missing or the notebook is unreadable.
        StudentCodeError: the student's code raised, or did not give a compiled Keras model.
        TimeLimitError: training exceeded ``spec.budget.time_limit_s``.
    """
    import numpy as np

    from ..data import load_dataset

    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    for stale in workdir.iterdir():
        if stale.is_file():
            stale.unlink()
    train = load_dataset(spec.dataset, "train")
    train_file = workdir / "train.npz"
    np.savez(train_file, x=train.x, y=train.y)
    token = secrets.token_hex(16)
    job = {
        "cells": cell_sources(notebook, spec.train.cells),
        "builder": spec.train.builder,
        "seed": spec.seed if seed is None else seed,
        "epochs": spec.budget.epochs,
        "batch_size": spec.budget.batch_size,
        "out": str(workdir / "trained.keras"),
        "status": str(workdir / "status.json"),
        "train_file": str(train_file),
        "token": token,
    }
    job_path = workdir / "job.json"
    job_path.write_text(json.dumps(job))
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONHASHSEED="0")
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "autograder.runner.train_worker", str(job_path)],
            cwd=workdir, env=env, capture_output=True, text=True,
            timeout=spec.budget.time_limit_s,
        )
    except subprocess.TimeoutExpired:
        raise TimeLimitError(
            f"training your model took longer than the limit of {spec.budget.time_limit_s:g} s"
        ) from None
    status = _read_status(workdir / "status.json", token)
    if status and not status.get("ok"):
        raise StudentCodeError(
            f"retraining your model failed in {status['where']}: {status['message']}"
        )
    if proc.returncode != 0 or not status:
        tail = (proc.stderr or "").strip().splitlines()[-1:] or ["no output"]
        raise StudentCodeError(
            f"retraining your model stopped with exit code {proc.returncode}: {tail[0][:300]}"
        )
    return Path(job["out"])


def _read_status(path: Path, token: str) -> dict | None:
    """The worker's status, or None when it is missing, unreadable or not the worker's own."""
    try:
        status = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(status, dict) or status.get("token") != token:
        return None
    return status
