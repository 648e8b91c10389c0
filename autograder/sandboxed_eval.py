"""Sandboxed evaluation, the grader's side: models that need the student's own classes.

Keras safe mode refuses, in the grader's process, any model built from classes Keras does not
ship: a VAE's ``Sampling`` layer, an attention block, a subclassed ``keras.Model``. Such a model
is evaluated in a fresh sandbox per call instead (:mod:`autograder.runner.eval_worker`, no
network, nothing kept afterwards, the assignment's ``[limits]``): the sandbox runs the notebook's
definitions (:mod:`autograder.definitions`), loads the file, runs it, or one named sub-model, on
the inputs the grader hands it as ``.npy`` files, and gives back plain ``.npy`` arrays. The grader
reads them without pickles, checks their type and rows, and measures them itself: metrics, labels
and comparisons never enter the sandbox.

A :class:`SandboxedModel` stands in for a loaded Keras model where tasks run models
(:func:`autograder.models.run_batches`, :func:`autograder.tasks._submodels.get_submodel`). Each
sub-model runs in a sandbox of its own, so an autoencoder's encoder and decoder share nothing but
the codes the grader passes from one to the other. Which models go to a sandbox is the spec's
``[evaluation] sandbox``: ``auto`` (those safe mode refuses for a custom class), ``always`` or
``never`` (refused, as before).
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import errors
from .definitions import Definitions, notebook_definitions
from .errors import (
    ModelLoadError,
    ModelShapeError,
    ResourceLimitError,
    StudentCodeError,
    SubmissionError,
    TimeLimitError,
)
from .models import check_model_archive, load_model_safely
from .spec import GradingSpec

SAFE_MODE = "safe_mode"
SANDBOX = "sandbox"
_LOCATE = re.compile(r"Could not locate (?:class|function) '([^']+)'")
_OUTPUT_NAME = re.compile(r"out-\d+-\d+\.npy")


#: the modules Keras names for what a notebook defines: its kernel's ``__main__``, the training
#: child's namespace, and ``builtins`` for a plain function (an activation); or no module at all
NOTEBOOK_MODULES = ("__main__", "__student__", "builtins")


def custom_names(path: Path) -> tuple[str, ...]:
    """The classes and functions of a notebook that the model's ``config.json`` names (empty when
    the archive cannot be read). Names from any other module (``os``, ``subprocess``: a crafted
    file) are not a notebook's classes, and the file stays refused."""
    try:
        with zipfile.ZipFile(path) as zf:
            config = json.loads(zf.read("config.json"))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, RecursionError):
        return ()
    names: list[str] = []

    def walk(node) -> None:
        if isinstance(node, dict):
            module = node.get("module")
            name = node.get("class_name")
            # (Keras writes no module for some custom classes; "__keras_tensor__" is its own)
            if (isinstance(name, str) and "module" in node and not name.startswith("__")
                    and (module is None or module in NOTEBOOK_MODULES)):
                if name == "function" and isinstance(node.get("config"), str):
                    name = node["config"]
                if isinstance(name, str) and name not in names:
                    names.append(name)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    try:
        walk(config)
    except RecursionError:
        return ()
    return tuple(names)


def refused_reason(path: Path, names: tuple[str, ...]) -> str:
    """Why a model that needs custom classes is not graded where sandboxed evaluation is off
    (instead of Keras' advice to register the classes, which would change nothing here)."""
    listed = ", ".join(f"'{n}'" for n in names[:5])
    return (
        f"'{Path(path).name}' needs your own classes or functions ({listed}), and this assignment "
        "grades only models built from Keras' own layers: rebuild the model from built-in layers "
        "(for a VAE, compute the sampling with layers such as GaussianNoise, Multiply and Add), "
        "save it and submit again"
    )


@dataclass
class EvaluationSource:
    """What a sandbox needs to rebuild a student's model: the notebook whose definitions it runs,
    the spec (its ``[evaluation]`` cells and ``[limits]``), and a folder for the sandboxes' scratch
    folders (each made fresh and removed after its run)."""

    notebook: Path
    spec: GradingSpec
    workdir: Path
    _definitions: Definitions | None = field(default=None, repr=False)

    def definitions(self) -> Definitions:
        """The notebook's definitions, read once (raises NotebookError when it is unreadable)."""
        if self._definitions is None:
            self._definitions = notebook_definitions(self.notebook, self.spec.evaluation.cells)
        return self._definitions


@dataclass
class _Runs:
    """Outputs already computed, per sub-model: a call on the first rows of earlier inputs (the
    report's pictures after grading) is answered without a sandbox."""

    done: dict[str, list[tuple[np.ndarray, object]]] = field(default_factory=dict)

    def lookup(self, submodel: str, x: np.ndarray):
        for seen, out in self.done.get(submodel, []):
            if (seen.shape[1:] == x.shape[1:] and len(x) <= len(seen) and seen.dtype == x.dtype
                    and np.array_equal(seen[:len(x)], x)):
                if isinstance(out, list):
                    return [o[:len(x)] for o in out]
                return out[:len(x)]
        return None

    def keep(self, submodel: str, x: np.ndarray, out) -> None:
        self.done.setdefault(submodel, []).append((x, out))


class SandboxedModel:
    """A model file whose every run happens in a fresh sandbox (see the module's documentation).

    Stands in for a loaded Keras model: :meth:`run_isolated` is what
    :func:`autograder.models.run_batches` returns for it, :meth:`isolated_submodel` what
    :func:`autograder.tasks._submodels.get_submodel` does.
    """

    def __init__(self, path: Path, source: EvaluationSource, submodel: str = "",
                 runs: _Runs | None = None):
        self.path = Path(path)
        self.source = source
        self.submodel = submodel
        self.name = submodel or self.path.stem
        self._runs = runs if runs is not None else _Runs()

    def isolated_submodel(self, name: str) -> SandboxedModel:
        """The sub-model ``name``, run in sandboxes of its own."""
        return SandboxedModel(self.path, self.source, name, self._runs)

    def run_isolated(self, x: np.ndarray):
        """The model's outputs on ``x`` (one array, or a list for several outputs).

        Raises:
            SubmissionError: a subclass saying why the model could not be run.
        """
        x = np.asarray(x)
        known = self._runs.lookup(self.submodel, x)
        if known is not None:
            return known
        out = run_in_sandbox(self.path, self.source, self.submodel, x)
        self._runs.keep(self.submodel, x, out)
        return out


def package_env() -> dict[str, str]:
    """The child imports the grader's own ``autograder`` package (the folder mounted read-only)."""
    from .runner.train import PACKAGE_DIR

    return {"PYTHONPATH": str(PACKAGE_DIR.parent)}


def run_in_sandbox(path: Path, source: EvaluationSource, submodel: str, x: np.ndarray):
    """Run the model saved at ``path`` (or its sub-model ``submodel``) on ``x`` in a fresh sandbox.

    Returns one array, or a list of arrays when the model has several outputs, each read back
    without pickles and checked to hold numbers, one row per input.
    """
    from .runner.sandbox import Sandbox, run_sandboxed
    from .runner.train import PACKAGE_DIR, _read_status, grader_only_paths

    definitions = source.definitions()
    spec = source.spec
    Path(source.workdir).mkdir(parents=True, exist_ok=True)
    run_dir = Path(tempfile.mkdtemp(prefix="eval-", dir=source.workdir))
    try:
        model_copy = run_dir / "model.keras"
        shutil.copyfile(path, model_copy)
        np.save(run_dir / "in-0.npy", x, allow_pickle=False)
        token = secrets.token_hex(16)
        job = {
            "cells": [list(c) for c in definitions.cells],
            "model": str(model_copy),
            "submodel": submodel,
            "needed": list(custom_names(path)),
            "inputs": [str(run_dir / "in-0.npy")],
            "outputs": str(run_dir),
            "status": str(run_dir / "status.json"),
            "token": token,
        }
        (run_dir / "job.json").write_text(json.dumps(job))
        box = Sandbox(scratch=run_dir, readonly=(PACKAGE_DIR,), hidden=grader_only_paths(spec),
                      limits=spec.limits, purpose="scoring")
        outcome = run_sandboxed(
            [sys.executable, "-m", "autograder.runner.eval_worker", str(run_dir / "job.json")],
            box, env=package_env(),
        )
        what = f"the {submodel}" if submodel else "the model"
        if outcome.violation:
            if outcome.violation.startswith("time limit"):
                raise TimeLimitError(f"running {what} in the grader's sandbox took longer than the "
                                     f"limit of {spec.limits.wall_s:g} s")
            raise ResourceLimitError(f"running {what} in the grader's sandbox was stopped: "
                                     f"{outcome.violation}")
        status = _read_status(run_dir / "status.json", token)
        if status is None or (outcome.returncode != 0 and status.get("ok")):
            tail = (outcome.stderr or "").strip().splitlines()[-1:] or ["no output"]
            raise StudentCodeError(f"running {what} in the grader's sandbox stopped with exit code "
                                   f"{outcome.returncode}: {tail[0][:300]}")
        if not status.get("ok"):
            raise _error(status, definitions, path)
        outs = _read_outputs(run_dir, status, len(x), what)
        return outs if status.get("structured") else outs[0]
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


def _error(status: dict, definitions: Definitions, path: Path) -> SubmissionError:
    """The student's reason for a failed sandbox run, from the worker's status."""
    kind, where, message = status.get("kind"), str(status.get("where", "")), str(status.get("message", ""))
    file = Path(path).name
    if kind == "cell":
        return StudentCodeError(
            f"to load '{file}' the grader runs your notebook's imports, classes and functions (not "
            f"its training); cell '{where}' failed: {message}"
        )
    if kind == "missing":
        return ModelLoadError(definitions.why_missing(tuple(where.split(",")), file))
    if kind == "load":
        found = _LOCATE.search(message)
        if found:
            return ModelLoadError(definitions.why_missing((found.group(1),), file))
        hint = ""
        if "__init__" in message or "deserializ" in message or "from_config" in message:
            hint = (": a custom layer or model whose __init__ takes arguments must return them "
                    "from get_config(), so that it can be rebuilt from the saved file")
        return ModelLoadError(f"'{file}' could not be loaded with your notebook's classes: "
                              f"{_without_register_advice(message)}{hint}")
    if kind == "submission":
        cls = next((c for c in _submission_errors() if c.code == status.get("code")), SubmissionError)
        return cls(message)
    return ModelShapeError(message or f"the model could not be run ({kind})")


def _submission_errors() -> list[type[SubmissionError]]:
    return [c for c in vars(errors).values()
            if isinstance(c, type) and issubclass(c, SubmissionError)]


def _without_register_advice(message: str) -> str:
    """Keras' message without its advice to decorate classes (wrong advice here)."""
    sentences = re.split(r"(?<=\.)\s+", message)
    kept = [s for s in sentences if "register_keras_serializable" not in s]
    return " ".join(kept)[:300] or message[:300]


def _read_outputs(run_dir: Path, status: dict, rows: int, what: str) -> list[np.ndarray]:
    names = status.get("outputs")
    if not (isinstance(names, list) and len(names) == 1 and isinstance(names[0], list) and names[0]):
        raise StudentCodeError(f"{what} gave no outputs back from the grader's sandbox")
    outs = []
    for name in names[0]:
        file = run_dir / str(name)
        if not (_OUTPUT_NAME.fullmatch(str(name)) and file.is_file() and not file.is_symlink()):
            raise StudentCodeError(f"{what} gave back an output the grader did not ask for")
        try:
            arr = np.load(file, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise StudentCodeError(f"the outputs of {what} could not be read back: {exc}") from exc
        if not isinstance(arr, np.ndarray) or arr.dtype.kind not in "biuf":
            raise ModelShapeError(f"{what} returned values that are not numbers")
        if arr.ndim < 1 or arr.shape[0] != rows:
            raise ModelShapeError(f"{what} returned an output of shape {arr.shape} for {rows} "
                                  "inputs; it should return one row per input")
        outs.append(arr)
    return outs


def load_for_evaluation(path: Path, spec: GradingSpec, source: EvaluationSource | None,
                        load: Callable = load_model_safely):
    """The model saved at ``path`` and how it is evaluated: ``(model, "safe_mode")`` loaded by
    ``load`` in this process, or ``(SandboxedModel, "sandbox")`` per the spec's
    ``[evaluation] sandbox`` when ``source`` says where its classes come from.

    Raises:
        SubmissionError: the file is refused (missing, too large, a Lambda layer, custom classes
            where sandboxed evaluation is off).
    """
    max_mb = spec.budget.max_model_mb
    policy = spec.evaluation.sandbox if source is not None else "never"
    if policy == "always":
        check_model_archive(path, max_mb=max_mb)
        return SandboxedModel(path, source), SANDBOX
    try:
        return load(path, max_mb=max_mb), SAFE_MODE
    except ModelLoadError as exc:
        names = custom_names(path)
        if not names:
            raise
        if policy == "never":
            raise ModelLoadError(refused_reason(path, names)) from exc
        return SandboxedModel(path, source), SANDBOX
