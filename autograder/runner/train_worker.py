"""Train mode, the child side: run a notebook's model code and train its model (or, for a job of
kind ``pipeline``, check and time the input pipeline it builds: :mod:`autograder.pipeline_checks`).

Run as ``python -m autograder.runner.train_worker JOB.json`` in a scratch directory. The job names
the code cells to run, the builder function they define, a file holding the training split (the
grader never loads the hidden split here), the seed and the budget. The trained model is saved to
``job["out"]``; when student code fails, ``job["status"]`` receives a JSON description of why.
"""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path


def _write_status(job: dict, **fields) -> None:
    # The token proves the status was written by this worker, not forged by student code.
    Path(job["status"]).write_text(json.dumps({"token": job["token"], **fields}))


def _fail(job: dict, kind: str, where: str, message: str) -> int:
    _write_status(job, ok=False, kind=kind, where=where, message=message)
    return 3


def run_job(job: dict) -> int:
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import numpy as np
    import tensorflow as tf

    # The parent wrote the training split (only) to a file. Job and data files are deleted before
    # student code runs. Student code shares this process, so the token is defence in depth, not a
    # guarantee: isolating student code from the worker is the sandbox's job.
    with np.load(job["train_file"]) as data:
        x_train, y_train = data["x"], data["y"]
    Path(job["train_file"]).unlink()
    keras.utils.set_random_seed(int(job["seed"]))
    tf.config.experimental.enable_op_determinism()
    namespace: dict = {"__name__": "__student__"}
    for gid, source in job["cells"]:
        try:
            exec(compile(source, f"<cell {gid}>", "exec"), namespace)
        except BaseException as exc:  # noqa: BLE001 - any failure of student code is a result
            return _fail(job, "cell", gid, _describe(exc, f"<cell {gid}>"))
    builder = namespace.get(job["builder"])
    if not callable(builder):
        return _fail(job, "builder", job["builder"],
                     f"the notebook does not define a function {job['builder']}()")
    if job.get("kind") == "pipeline":
        return _measure_pipeline(job, builder, x_train, y_train)
    if job.get("kind") == "fit":
        return _fit_function(job, builder, x_train, keras)
    try:
        model = builder()
    except BaseException as exc:  # noqa: BLE001
        return _fail(job, "builder", job["builder"], _describe(exc, "<cell"))
    if not isinstance(model, keras.Model):
        return _fail(job, "builder", job["builder"],
                     f"{job['builder']}() returned {type(model).__name__}, not a Keras model")
    if getattr(model, "optimizer", None) is None or getattr(model, "loss", None) is None:
        return _fail(job, "builder", job["builder"],
                     f"{job['builder']}() returned a model that is not compiled")
    try:
        y_fit = labels_for_loss(model, y_train)
        model.fit(x_train, y_fit, epochs=int(job["epochs"]), batch_size=int(job["batch_size"]),
                  verbose=0, shuffle=True)
    except BaseException as exc:  # noqa: BLE001
        # (it failed in training, not in the builder: name the step the student can look at)
        return _fail(job, "fit", f"model.fit of the model {job['builder']}() returned",
                     _describe(exc, "<cell"))
    model.save(job["out"])
    _write_status(job, ok=True, n_train=int(len(x_train)), numpy=np.__version__)
    return 0


#: losses that want one row of class probabilities per label (one-hot), not a class index
ONE_HOT_LOSSES = ("categorical_crossentropy", "categorical_focal_crossentropy", "categorical_hinge")


def labels_for_loss(model, y):
    """The training labels as the compiled loss wants them: the grader's integer class labels
    one-hot encoded for a model compiled with ``categorical_crossentropy`` (the tutorials'
    choice), as they are otherwise."""
    import numpy as np

    loss = model.loss
    name = loss if isinstance(loss, str) else (getattr(loss, "name", None)
                                               or getattr(loss, "__name__", ""))
    y = np.asarray(y)
    if name not in ONE_HOT_LOSSES or y.ndim != 1 or y.dtype.kind not in "iu" or not len(y):
        return y
    try:
        n_classes = int(model.output_shape[-1])
    except (AttributeError, TypeError, ValueError):  # a subclassed model is built by fit
        n_classes = int(y.max()) + 1
    n_classes = max(n_classes, int(y.max()) + 1)
    return np.eye(n_classes, dtype="float32")[y]


def _fit_function(job: dict, fit, x_train, keras) -> int:
    """Fit jobs: the builder trains in its own loop, ``fit(images, epochs, batch_size)``, and
    returns ``(model, history)``; the model is saved, and the history beside it as JSON."""
    name = job["builder"]
    try:
        result = fit(x_train, int(job["epochs"]), int(job["batch_size"]))
    except BaseException as exc:  # noqa: BLE001
        return _fail(job, "fit", name, _describe(exc, "<cell"))
    if not (isinstance(result, tuple) and len(result) == 2 and isinstance(result[0], keras.Model)):
        return _fail(job, "builder", name, f"{name}() should return (model, history), a Keras model and "
                     f"a dict of loss lists; got {type(result).__name__}")
    model, history = result
    try:
        text = json.dumps(history)
    except (TypeError, ValueError) as exc:
        return _fail(job, "builder", name, f"the history {name}() returned is not JSON data: {exc}")
    model.save(job["out"])
    Path(job["history"]).write_text(text)
    _write_status(job, ok=True, n_train=int(len(x_train)))
    return 0


def _measure_pipeline(job: dict, make_pipeline, images, labels) -> int:
    """Pipeline jobs: check and time the student's input pipeline instead of training a model."""
    from autograder.pipeline_checks import measure_pipeline

    try:
        report = measure_pipeline(make_pipeline, images, labels, int(job["batch_size"]), int(job["seed"]))
    except BaseException as exc:  # noqa: BLE001
        return _fail(job, "builder", job["builder"], _describe(exc, "<cell"))
    _write_status(job, ok=True, values=report.values(), problems=report.problems,
                  items_per_s={"pipeline": report.pipeline_items_per_s, "naive": report.naive_items_per_s})
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
    job_path = Path(argv[0])
    job = json.loads(job_path.read_text())
    job_path.unlink()
    return run_job(job)


if __name__ == "__main__":
    sys.exit(main())
