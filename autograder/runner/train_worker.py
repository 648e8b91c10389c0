"""Train mode, the child side: run a notebook's model code and train its model.

Run as ``python -m autograder.runner.train_worker JOB.json`` in a scratch directory. The job names
the code cells to run, the builder function they define, the dataset (training split only: the
hidden split never enters this process), the seed and the budget. The trained model is saved to
``job["out"]``; when student code fails, ``job["status"]`` receives a JSON description of why.
"""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path


def _fail(status: Path, kind: str, where: str, message: str) -> int:
    status.write_text(json.dumps({"ok": False, "kind": kind, "where": where, "message": message}))
    return 3


def run_job(job: dict) -> int:
    status = Path(job["status"])
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import numpy as np
    import tensorflow as tf

    from autograder.data import load_dataset

    keras.utils.set_random_seed(int(job["seed"]))
    tf.config.experimental.enable_op_determinism()
    namespace: dict = {"__name__": "__student__"}
    for gid, source in job["cells"]:
        try:
            exec(compile(source, f"<cell {gid}>", "exec"), namespace)
        except BaseException as exc:  # noqa: BLE001 - any failure of student code is a result
            return _fail(status, "cell", gid, _describe(exc, f"<cell {gid}>"))
    builder = namespace.get(job["builder"])
    if not callable(builder):
        return _fail(status, "builder", job["builder"],
                     f"the notebook does not define a function {job['builder']}()")
    try:
        model = builder()
    except BaseException as exc:  # noqa: BLE001
        return _fail(status, "builder", job["builder"], _describe(exc, "<cell"))
    if not isinstance(model, keras.Model):
        return _fail(status, "builder", job["builder"],
                     f"{job['builder']}() returned {type(model).__name__}, not a Keras model")
    if getattr(model, "optimizer", None) is None or getattr(model, "loss", None) is None:
        return _fail(status, "builder", job["builder"],
                     f"{job['builder']}() returned a model that is not compiled")
    train = load_dataset(job["dataset"], "train")
    try:
        model.fit(train.x, train.y, epochs=int(job["epochs"]), batch_size=int(job["batch_size"]),
                  verbose=0, shuffle=True)
    except BaseException as exc:  # noqa: BLE001
        return _fail(status, "fit", job["builder"], _describe(exc, "<cell"))
    model.save(job["out"])
    status.write_text(json.dumps({"ok": True, "train_fingerprint": train.fingerprint,
                                  "n_train": int(len(train)), "numpy": np.__version__}))
    return 0


def _describe(exc: BaseException, frame_prefix: str) -> str:
    """``Type: message (line N)``, the line taken from the student's own frame when there is one."""
    line = ""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename.startswith(frame_prefix):
            line = f" (line {frame.lineno})"
            break
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {msg[:300]}{line}"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    job = json.loads(Path(argv[0]).read_text())
    return run_job(job)


if __name__ == "__main__":
    sys.exit(main())
