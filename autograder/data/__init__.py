"""Dataset loaders: offline sets that ship inside packages, and the real online loaders.

Every dataset has a ``train`` split (what students get, written into the assignment's ``data/``
folder) and a hidden ``test`` split that only the grader loads. A spec names a dataset registered
in the ``autograder.datasets`` entry point group (the bundled ones, or a course plugin's: see
:mod:`autograder.plugins`), or declares files (:mod:`autograder.data.files`).
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

import numpy as np

from ..errors import AutograderError

if TYPE_CHECKING:
    from .files import FileDataset


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
    """Register a dataset loader (and the writer of the files students get) under ``name``.

    A module registered in the ``autograder.datasets`` entry point group may register its datasets
    this way when it is imported, e.g. several datasets of one module (``restoration.colorize``).
    """

    def deco(fn: Loader) -> Loader:
        _LOADERS[name] = fn
        if student_files is not None:
            _STUDENT_FILES[name] = student_files
        return fn

    return deco


@dataclass(frozen=True)
class DatasetLoader:
    """A registered dataset, as its plugin provides it.

    Attributes:
        name: the name specs use (``dataset = "digits"``).
        load: ``load(split, source) -> Split``.
        student_files: ``write_student_files(dest) -> list[Path]`` (None: students get no file).
        hidden: ``hidden_files() -> list[Path]``, the files the hidden split is read from (None:
            nothing to mask, e.g. generated data).
    """

    name: str
    load: Loader
    student_files: StudentFiles | None = None
    hidden: Callable[[], list[Path]] | None = None


#: a dataset of a spec: a registered name, or files declared in the spec
Dataset: TypeAlias = "str | FileDataset"


def known_datasets() -> list[str]:
    """The registered dataset names: the ``autograder.datasets`` entry points, built-in or not."""
    from .. import plugins

    return sorted({*plugins.names(plugins.DATASETS), *_LOADERS})


def dataset_loader(name: str) -> DatasetLoader:
    """The dataset registered as ``name`` in the ``autograder.datasets`` entry point group.

    The entry point's object is a module (or any object) with ``load(split, source)``, and
    optionally ``write_student_files(dest)`` and ``hidden_files()``; or a module that registers
    ``name`` with :func:`register` when imported.

    Raises:
        AutograderError: no such dataset, or its plugin is broken.
    """
    from .. import plugins

    plugin = plugins.find(plugins.DATASETS, name)
    obj = plugin.load() if plugin is not None else None
    if name in _LOADERS:  # registered on import (or by code that called register itself)
        return DatasetLoader(name, _LOADERS[name], _STUDENT_FILES.get(name),
                             getattr(obj, "hidden_files", None))
    if plugin is None:
        raise AutograderError(f"unknown dataset {name!r}; known: {known_datasets()}; install the "
                              "package that registers it, or declare files in a [dataset] table")
    if not callable(getattr(obj, "load", None)):
        raise AutograderError(f"{plugin.distribution} registers dataset {name!r} as {plugin.value!r}, "
                              "which has no load(split, source) function")
    return DatasetLoader(name, obj.load, getattr(obj, "write_student_files", None),
                         getattr(obj, "hidden_files", None))


def dataset_name(dataset: Dataset) -> str:
    """How messages name a dataset."""
    return dataset if isinstance(dataset, str) else dataset.name


def hidden_files(datasets: Iterable[Dataset]) -> list[Path]:
    """Exactly the files the hidden splits of ``datasets`` are read from (masked in sandboxes).

    A dataset whose files are missing (e.g. its package is not installed) has nothing to mask.
    """
    out: list[Path] = []
    for dataset in datasets:
        if not isinstance(dataset, str):
            found = dataset.hidden_files()
        else:
            finder = dataset_loader(dataset).hidden
            try:
                found = list(finder()) if finder is not None else []
            except AutograderError:
                continue
        out.extend(Path(p) for p in found if Path(p) not in out)
    return out


def hidden_sources() -> list[Path]:
    """The hidden files of every registered dataset (an assignment masks only its own: see
    :func:`hidden_files`)."""
    return hidden_files(known_datasets())


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


def write_student_files(dataset: Dataset, dest: Path) -> list[Path]:
    """Write the training split of ``dataset`` into ``dest`` (``source/<assignment>/data``) for
    students.

    A :class:`~autograder.data.files.FileDataset` already holds the students' file: when it lies in
    the assignment's source folder (``dest``'s parent) it is released as it is and returned;
    otherwise it is copied into ``dest``.
    """
    if not isinstance(dataset, str):
        from .files import copy_student_files

        return copy_student_files(dataset, Path(dest))
    loader = dataset_loader(dataset)
    if loader.student_files is None:
        raise AutograderError(f"dataset {dataset!r} has no student files")
    return loader.student_files(Path(dest))


def load_dataset(dataset: Dataset, split: str, source: str = "offline") -> Split:
    """Load ``split`` (``train`` or ``test``) of ``dataset``.

    Args:
        dataset: a registered dataset name, e.g. ``digits``, or files declared in the spec
            (:class:`~autograder.data.files.FileDataset`: ``train`` reads its ``train`` file,
            ``test`` its ``hidden`` one).
        split: ``train`` (students' data) or ``test`` (hidden, grader only).
        source: ``offline`` (data shipped in packages, the default) or ``online`` (downloads);
            files declared in the spec are the same for both.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if source not in ("offline", "online"):
        raise ValueError(f"source must be 'offline' or 'online', got {source!r}")
    if not isinstance(dataset, str):
        from .files import load_file_dataset

        return load_file_dataset(dataset, split)
    return dataset_loader(dataset).load(split, source)
