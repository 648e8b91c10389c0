"""Plain values across a sandbox's wall: arrays as ``.npy`` (no pickles), strings, lists, dicts.

A value is written as a small JSON manifest plus one ``.npy`` file per array; reading it back
loads arrays with ``allow_pickle=False`` and accepts only files named as the manifest's writer
names them (no links, nothing outside the folder). Used both by function checks' sandboxes
(:mod:`autograder.runner.check_worker`) and by the grader (:mod:`autograder.check_runs`); numpy
only, so the sandboxed side imports nothing heavy.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

_FILE = re.compile(r"[a-z]+-\d+(-\d+)*\.npy")
#: array dtypes that cross: booleans, integers, floats, unicode strings
PLAIN_KINDS = "biufU"


class NotPlain(ValueError):
    """A value that is not plain data (its message says what it is, for the student)."""


def to_plain(value: Any, depth: int = 0) -> Any:
    """A function's return value as plain data: arrays (tensors converted with ``numpy()`` or
    ``__array__``), numbers as 0-d arrays, strings, ``None``, lists (from lists and tuples) and
    dicts with string keys. Raises :class:`NotPlain` for anything else."""
    if depth > 20:
        raise NotPlain("values nested more than 20 levels deep")
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        return [to_plain(v, depth + 1) for v in value]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise NotPlain("a dict whose keys are not all strings")
        return {k: to_plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (bool, int, float, np.generic, np.ndarray)):
        arr = np.asarray(value)
    elif callable(getattr(value, "numpy", None)) and not isinstance(value, type):
        try:
            arr = np.asarray(value.numpy())
        except Exception as exc:  # noqa: BLE001 - whatever it is, it is not plain data
            raise NotPlain(f"a {type(value).__name__} whose numpy() failed: {exc}") from None
    elif hasattr(value, "__array__") and not isinstance(value, type):
        try:
            arr = np.asarray(value)
        except Exception as exc:  # noqa: BLE001
            raise NotPlain(f"a {type(value).__name__} that is not an array: {exc}") from None
    else:
        kind = type(value).__name__
        if any(c.__name__ in ("Model", "Layer") for c in type(value).__mro__):
            kind = f"Keras {kind}"
        raise NotPlain(f"a {kind}, not numbers, strings or a list of them")
    arr = np.array(arr)  # a copy, detached from whatever object it came from
    if arr.dtype.kind not in PLAIN_KINDS:
        raise NotPlain(f"an array of {arr.dtype} values, not numbers or strings")
    return arr


def write_value(value: Any, folder: Path, prefix: str) -> Any:
    """Write plain ``value`` (see :func:`to_plain`) into ``folder``; returns its JSON manifest.
    A ``{"linear_model": [W, b]}`` table (a generated model argument) is kept as such."""
    count = [0]

    def walk(v):
        if v is None:
            return {"t": "none"}
        if isinstance(v, str):
            return {"t": "str", "v": v}
        if isinstance(v, list):
            return {"t": "list", "v": [walk(x) for x in v]}
        if isinstance(v, dict):
            if set(v) == {"linear_model"}:
                return {"t": "linear_model", "v": [walk(x) for x in v["linear_model"]]}
            return {"t": "dict", "v": {k: walk(x) for k, x in v.items()}}
        name = f"{prefix}-{count[0]}.npy"
        count[0] += 1
        np.save(Path(folder) / name, np.asarray(v), allow_pickle=False)
        return {"t": "array", "f": name}

    return walk(value)


def read_value(manifest: Any, folder: Path) -> Any:
    """The value a manifest describes, arrays loaded without pickles from ``folder``.

    Raises:
        NotPlain: a malformed manifest, a file not named as written, a link, an unreadable or
            object array.
    """

    def walk(m, depth=0):
        if depth > 25 or not isinstance(m, dict):
            raise NotPlain("a malformed result")
        kind = m.get("t")
        if kind == "none":
            return None
        if kind == "str" and isinstance(m.get("v"), str):
            return m["v"]
        if kind == "list" and isinstance(m.get("v"), list):
            return [walk(x, depth + 1) for x in m["v"]]
        if kind == "linear_model" and isinstance(m.get("v"), list):
            return {"linear_model": [walk(x, depth + 1) for x in m["v"]]}
        if kind == "dict" and isinstance(m.get("v"), dict):
            return {str(k): walk(x, depth + 1) for k, x in m["v"].items()}
        if kind == "array" and isinstance(m.get("f"), str) and _FILE.fullmatch(m["f"]):
            path = Path(folder) / m["f"]
            if path.is_symlink() or not path.is_file():
                raise NotPlain("a result file is missing or is not a regular file")
            try:
                arr = np.load(path, allow_pickle=False)
            except (OSError, ValueError) as exc:
                raise NotPlain(f"a result file could not be read without pickles: {exc}") from None
            if not isinstance(arr, np.ndarray) or arr.dtype.kind not in PLAIN_KINDS:
                raise NotPlain("a result that is not numbers or strings")
            return arr
        raise NotPlain("a malformed result")

    return walk(manifest)
