"""The report's pictures of each saved model, computed by the grading worker that has just run it.

The instructor report shows pictures of every student's saved model on the first examples of the
hidden split (:func:`autograder.pictures.class_pictures`). To score a submission, a grading worker
has already loaded that very model, with TensorFlow warm: it computes the pictures then and stores
them beside the results (``results/<assignment>/pictures/<student>.<grade id>.npz``). The report
takes them from there when they were made from the same model file (its SHA-256) and the same
examples (their fingerprint), and loads only the models it finds none for: when every picture is
there, the report does not import TensorFlow at all.

Files are plain ``.npz`` (no pickles); one that cannot be read is ignored, and computed again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from .data import Split
from .pictures import (
    PICTURE_EXAMPLES,
    ClassifierPictures,
    NeighbourPictures,
    Pictures,
    ReconstructionPictures,
    first,
)

FORMAT = 1
KINDS = {cls.__name__: cls for cls in (ClassifierPictures, ReconstructionPictures, NeighbourPictures)}
#: What :func:`lookup` returns when nothing usable is stored (``None`` is a stored answer:
#: "this model could not be run").
MISSING = object()


def cache_path(course, assignment: str, student: str, grade_id: str) -> Path:
    return course.results_dir(assignment) / "pictures" / f"{student}.{grade_id}.npz"


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def picture_key(model_file: Path, examples_fingerprint: str) -> str:
    """What the pictures were made of: the model file's bytes and the examples shown."""
    return f"{FORMAT}:{file_digest(model_file)}:{examples_fingerprint}"


def save(path: Path, key: str, pictures: Pictures | None) -> None:
    """Store ``pictures`` (``None``: the model could not be run) under ``key``, atomically."""
    meta: dict = {"key": key, "kind": None, "scalars": {}}
    arrays: dict[str, np.ndarray] = {}
    if pictures is not None:
        meta["kind"] = type(pictures).__name__
        for f in dataclasses.fields(pictures):
            value = getattr(pictures, f.name)
            if isinstance(value, np.ndarray):
                arrays[f.name] = value
            else:
                meta["scalars"][f.name] = value
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".npz")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, __meta__=np.array(json.dumps(meta)), **arrays)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load(path: Path, key: str):
    """The pictures stored at ``path`` under ``key`` (maybe ``None``), else :data:`MISSING`."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            meta = json.loads(str(stored["__meta__"]))
            if meta.get("key") != key:
                return MISSING
            if meta["kind"] is None:
                return None
            cls = KINDS[meta["kind"]]
            values = {name: stored[name] for name in stored.files if name != "__meta__"}
            return cls(**values, **meta["scalars"])
    except (OSError, ValueError, KeyError, TypeError):
        return MISSING


def lookup(course, assignment: str, student: str, spec, model_file: Path, examples_fingerprint: str):
    """Stored pictures of ``model_file`` on the examples of that fingerprint (maybe ``None``),
    else :data:`MISSING`."""
    path = cache_path(course, assignment, student, spec.model_grade_id)
    if not path.is_file():
        return MISSING
    try:
        key = picture_key(model_file, examples_fingerprint)
    except OSError:
        return MISSING
    return load(path, key)


def remember(course, assignment: str, student: str, spec, model_file: Path, model,
             test: Split) -> None:
    """In the grading worker: store the pictures of ``model`` (loaded from ``model_file``; ``None``
    when it could not be loaded) on the report's examples of ``test``. Never fails grading."""
    from .pictures import pictures_of_model

    try:
        examples = first(test, PICTURE_EXAMPLES)
        pictures = None if model is None else pictures_of_model(model, spec, examples)
        save(cache_path(course, assignment, student, spec.model_grade_id),
             picture_key(model_file, examples.fingerprint), pictures)
    except Exception:  # noqa: BLE001 - only a cache: the report computes what is missing
        return

