"""Sandboxed evaluation, the child side: load a model that needs the student's classes, run it (or
one of its sub-models) on the inputs the grader gave, and hand back plain arrays.

Run as ``python -m autograder.runner.eval_worker JOB.json`` in a fresh scratch folder by
:mod:`autograder.sandboxed_eval`. The job names the notebook's definitions to run (imports,
classes, functions; never its training), the model file (a copy), the sub-model to run (or none:
the whole model) and the ``.npy`` files of its inputs. Inputs are read, then deleted, before any
student code runs. Outputs are written as ``out-<input>-<output>.npy`` (no pickles); the status
file, protected by the job's token, lists them, or says why there are none.

Nothing here measures anything: metrics, labels and comparisons stay in the grader's process.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def _write_status(job: dict, token: str, **fields) -> None:
    # The token proves the status was written by this worker (student code shares the process:
    # defence in depth, as in train_worker).
    Path(job["status"]).write_text(json.dumps({"token": token, **fields}))


def _fail(job: dict, token: str, kind: str, where: str, message: str, code: str = "") -> int:
    _write_status(job, token, ok=False, kind=kind, where=where, message=message, code=code)
    return 3


def _outputs_list(out) -> list:
    if isinstance(out, dict):
        return list(out.values())
    return list(out) if isinstance(out, (list, tuple)) else [out]


def run_job(job: dict, token: str) -> int:
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import numpy as np

    inputs = []
    for name in job["inputs"]:
        inputs.append(np.load(name, allow_pickle=False))
        Path(name).unlink()

    from autograder.errors import SubmissionError
    from autograder.runner.train_worker import _describe

    namespace: dict = {"__name__": "__student__"}  # (a main guard of a named cell stays off)
    for cell, source in job["cells"]:
        try:
            exec(compile(source, f"<cell {cell}>", "exec"), namespace)
        except BaseException as exc:  # noqa: BLE001 - any failure of student code is a result
            return _fail(job, token, "cell", cell, _describe(exc, f"<cell {cell}>"))
    import keras

    custom = {k: v for k, v in namespace.items() if isinstance(v, type) or callable(v)}
    for obj in list(custom.values()):  # (a class registered with a package is saved as "pkg>Name")
        try:
            custom.setdefault(keras.saving.get_registered_name(obj), obj)
        except Exception:  # noqa: BLE001, S112 - any object Keras cannot name is simply not added
            continue
    missing = [n for n in job.get("needed", []) if n not in custom
               and keras.saving.get_registered_object(n) is None]
    if missing:  # (Keras would only say that the outer model "could not be deserialized")
        return _fail(job, token, "missing", ",".join(missing), "")
    try:
        # Safe mode still: the model's code comes from the notebook's classes, never from bytecode
        # stored in the file (a Lambda layer stays refused).
        model = keras.saving.load_model(job["model"], compile=False, safe_mode=True,
                                        custom_objects=custom)
    except BaseException as exc:  # noqa: BLE001
        return _fail(job, token, "load", Path(job["model"]).name, _describe(exc, "<cell"))

    from autograder.models import run_batches
    from autograder.tasks._submodels import get_submodel

    what = "the model"
    try:
        if job["submodel"]:
            what = f"the {job['submodel']}"
            model = get_submodel(model, job["submodel"])
    except SubmissionError as exc:
        return _fail(job, token, "submission", what, exc.reason, code=exc.code)
    written: list[list[str]] = []
    structured = False
    for i, x in enumerate(inputs):
        try:
            out = run_batches(model, x)
        except BaseException as exc:  # noqa: BLE001
            expects = getattr(model, "input_shape", None)
            hint = f" (it expects inputs of shape {expects})" if expects else ""
            shape = "(batch, " + ", ".join(str(s) for s in x.shape[1:]) + ")"
            return _fail(job, token, "run", what,
                         f"{what} could not run on inputs of shape {shape}{hint}: "
                         f"{_describe(exc, '<cell')}")
        structured = isinstance(out, (list, tuple, dict))
        names = []
        for j, arr in enumerate(_outputs_list(out)):
            arr = np.asarray(arr)
            if arr.dtype.kind not in "biuf":
                return _fail(job, token, "run", what,
                             f"{what} returned {arr.dtype} values; it should return numbers")
            path = Path(job["outputs"]) / f"out-{i}-{j}.npy"
            np.save(path, arr, allow_pickle=False)
            names.append(path.name)
        written.append(names)
    _write_status(job, token, ok=True, outputs=written, structured=structured)
    return 0


def take_job(argv: list[str] | None = None) -> tuple[dict, str]:
    """The job file named on the command line, read then deleted before any student code runs
    (it holds the token that protects the status file), and its token."""
    argv = sys.argv[1:] if argv is None else argv
    job_path = Path(argv[0])
    job = json.loads(job_path.read_text())
    job_path.unlink()
    return job, job.pop("token")


def main(argv: list[str] | None = None) -> int:
    return run_job(*take_job(argv))


if __name__ == "__main__":
    sys.exit(main())
