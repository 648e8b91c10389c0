"""Function checks, the sandboxed side: run what the checked functions need from one notebook,
call them on the grader's inputs, hand back plain values.

Run as ``python -m autograder.runner.check_worker JOB.json`` in a fresh scratch folder by
:mod:`autograder.check_runs`, once per notebook and side (the student's submitted notebook, or
the instructor's source notebook, in separate sandboxes). The job lists the statements to run
(:mod:`autograder.function_slice`: the functions and what they use, never training or tests) and
the calls: a function name and the manifest of its inputs (:mod:`autograder.plain_values`).
Inputs are read, then deleted, before any notebook code runs. Each call's return value is written
as plain data; the status file, protected by the job's token, lists each call's result manifest
or why it has none.

Nothing here compares anything: the grader compares the student's values with the instructor's
in its own process.
"""

from __future__ import annotations

import copy
import json
import signal
import sys
from pathlib import Path


class _CallTimeout(BaseException):
    """A call ran past its time (a BaseException: ``except Exception`` in student code does not
    swallow it)."""


def _linear_model_class():
    import numpy as np

    class LinearModel:
        """A classifier standing in for a trained Keras model: ``softmax(x @ W + b)``."""

        def __init__(self, w, b):
            self._w, self._b = w, b

        def predict(self, x, batch_size=None, verbose=0, **kwargs):
            x = np.asarray(x, dtype="float32").reshape(len(x), -1)
            z = x @ self._w + self._b
            z = np.exp(z - z.max(axis=1, keepdims=True))
            return (z / z.sum(axis=1, keepdims=True)).astype("float32")

        def __call__(self, x, training=False):
            return self.predict(x)

    return LinearModel


def _materialise(value, linear_model):
    if isinstance(value, list):
        return [_materialise(v, linear_model) for v in value]
    if isinstance(value, dict):
        if set(value) == {"linear_model"}:
            return linear_model(*value["linear_model"])
        return {k: _materialise(v, linear_model) for k, v in value.items()}
    return value


def run_job(job: dict, token: str) -> int:
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from autograder.plain_values import NotPlain, read_value, to_plain, write_value
    from autograder.runner.train_worker import _describe

    folder = Path(job["folder"])
    linear_model = _linear_model_class()
    calls = []
    for call in job["calls"]:
        args = read_value(call["args"], folder)
        kwargs = read_value(call["kwargs"], folder)
        calls.append((call["function"], _materialise(args, linear_model),
                      _materialise(kwargs, linear_model)))
    for path in folder.glob("in-*.npy"):
        path.unlink()

    namespace: dict = {"__name__": "__student__"}
    failed: list[str] = []
    for cell, source in job["cells"]:
        try:
            exec(compile(source, f"<cell {cell}>", "exec"), namespace)
        except BaseException as exc:  # noqa: BLE001 - a failing statement is a reason, not a crash
            failed.append(f"cell '{cell}': {_describe(exc, '<cell')}")

    def alarm(signum, frame):
        raise _CallTimeout()

    results = []
    timeout = float(job.get("call_timeout_s", 60))
    for i, (name, args, kwargs) in enumerate(calls):
        function = namespace.get(name)
        if not callable(function):
            results.append({"ok": False, "why": "missing"})
            continue
        signal.signal(signal.SIGALRM, alarm)
        signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            out = function(*copy.deepcopy(args), **copy.deepcopy(kwargs))
            signal.setitimer(signal.ITIMER_REAL, 0)
            value = to_plain(out)
        except _CallTimeout:
            results.append({"ok": False, "why": "timeout", "message": f"{timeout:g} s"})
            continue
        except NotPlain as exc:
            results.append({"ok": False, "why": "kind", "message": str(exc)})
            continue
        except BaseException as exc:  # noqa: BLE001
            signal.setitimer(signal.ITIMER_REAL, 0)
            results.append({"ok": False, "why": "raised", "message": _describe(exc, "<cell")})
            continue
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        results.append({"ok": True, "value": write_value(value, folder, f"out-{i}")})
    Path(job["status"]).write_text(json.dumps({"token": token, "ok": True, "failed": failed,
                                               "results": results}))
    return 0


def main(argv: list[str] | None = None) -> int:
    from .eval_worker import take_job

    return run_job(*take_job(argv))


if __name__ == "__main__":
    sys.exit(main())
