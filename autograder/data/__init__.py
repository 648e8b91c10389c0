"""Dataset loaders: offline sets that ship inside packages, and the real online loaders.

Every dataset has a ``train`` split (what students get, written into the assignment's ``data/``
folder) and a hidden ``test`` split that only the grader loads.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import AutograderError


@dataclass(frozen=True)
class Split:
    """One split of a dataset: model inputs ``x`` and targets ``y``."""

    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.x)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.x, self.y)


def fingerprint(*arrays: np.ndarray) -> str:
    """A short, stable hash of arrays' shapes, dtypes and bytes (recorded in every result)."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.shape}{a.dtype}".encode())
        h.update(a.tobytes())
    return h.hexdigest()[:16]


Loader = Callable[[str, str], Split]
StudentFiles = Callable[[Path], list[Path]]
_LOADERS: dict[str, Loader] = {}
_STUDENT_FILES: dict[str, StudentFiles] = {}


def register(name: str, student_files: StudentFiles | None = None) -> Callable[[Loader], Loader]:
    """Register a dataset loader (and the writer of the files students get) under ``name``."""

    def deco(fn: Loader) -> Loader:
        _LOADERS[name] = fn
        if student_files is not None:
            _STUDENT_FILES[name] = student_files
        return fn

    return deco


def hidden_sources() -> list[Path]:
    """Every file from which a dataset's hidden split can be read (masked inside sandboxes).

    A dataset module lists them in a function ``hidden_files() -> list[Path]``.
    """
    out: list[Path] = []
    for module_path in sorted(Path(__file__).parent.glob("*.py")):
        if module_path.stem.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{module_path.stem}")
        finder = getattr(module, "hidden_files", None)
        if finder is None:
            continue
        try:
            out.extend(Path(p) for p in finder())
        except AutograderError:
            continue
    return out


def _import_dataset(name: str) -> None:
    """Datasets live in ``autograder/data/<module>.py`` and register themselves on import.

    A dataset ``name`` is in module ``name``; ``module.part`` names one of several datasets of a module.
    """
    module = name.split(".")[0]
    if name not in _LOADERS and (Path(__file__).parent / f"{module}.py").is_file():
        importlib.import_module(f"{__name__}.{module}")


def write_npz(path: Path, **arrays: np.ndarray) -> None:
    """A compressed ``.npz`` whose bytes depend only on the arrays (fixed zip timestamps)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for key, arr in arrays.items():
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arr), allow_pickle=False)
            zf.writestr(info, buf.getvalue())
    tmp.replace(path)


def write_student_files(name: str, dest: Path) -> list[Path]:
    """Write the training split of dataset ``name`` into ``dest`` for students."""
    _import_dataset(name)
    if name not in _STUDENT_FILES:
        raise AutograderError(f"dataset {name!r} has no student files; known: {sorted(_STUDENT_FILES)}")
    return _STUDENT_FILES[name](Path(dest))


def load_dataset(name: str, split: str, source: str = "offline") -> Split:
    """Load ``split`` (``train`` or ``test``) of dataset ``name``.

    Args:
        name: a registered dataset, e.g. ``digits``.
        split: ``train`` (students' data) or ``test`` (hidden, grader only).
        source: ``offline`` (data shipped in packages, the default) or ``online`` (downloads).
    """
    _import_dataset(name)
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if source not in ("offline", "online"):
        raise ValueError(f"source must be 'offline' or 'online', got {source!r}")
    try:
        loader = _LOADERS[name]
    except KeyError:
        raise AutograderError(f"unknown dataset {name!r}; known: {sorted(_LOADERS)}") from None
    return loader(split, source)
