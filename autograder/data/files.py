"""Datasets declared in ``spec.toml`` as files, with no Python: ``.npz``, ``.csv`` or image folders.

A ``[dataset]`` table names the students' split (``train``, released with the assignment) and the
hidden split (``hidden``, read by the grader only, masked in the assignment's sandboxes)::

    [dataset]
    format = "csv"                          # "npz", "csv" or "images"
    train = "source/hw2/data/train.csv"     # relative paths start at the course root
    hidden = "/srv/private/hw2/hidden.csv"  # anywhere the grader can read, never under
                                            # source/ or release/ (nbgrader releases those)
    label = "species"                       # csv: the target column
    # columns = ["sepal_length", ...]       # csv: the feature columns (default: all others)

* ``npz``: arrays ``x`` and ``y`` of the file (other names with ``x = "images"``, ``y = "labels"``).
* ``csv``: features as float32 ``(n, n_features)``; targets as int64 when every label is an integer,
  float32 when every label is a number, else class indices of the sorted class names of ``train``.
* ``images``: a folder per split, with either a labels file (``labels = "labels.csv"`` inside each
  folder, columns ``filename,label``) or one subfolder per class (class indices follow the sorted
  names of ``train``'s subfolders). ``x`` is float32 in [0, 1] of shape ``(n, h, w, channels)``
  (``color_mode`` ``"rgb"``: 3, ``"grayscale"``: 1); images are resized to ``size = [h, w]`` when
  given, else must all have the same size. Read with Pillow, without TensorFlow.
"""

from __future__ import annotations

import csv
import functools
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import AutograderError, SpecError

FORMATS = ("npz", "csv", "images")
COLOR_MODES = {"rgb": ("RGB", 3), "grayscale": ("L", 1)}
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
LABELS_HEADER = ["filename", "label"]
#: nbgrader's default exchange (``c.Exchange.root``); a course's own setting is refused as well
DEFAULT_EXCHANGE = Path("/srv/nbgrader/exchange")
#: the keys of a ``[dataset]`` table, by format
KEYS = {
    "npz": {"format", "train", "hidden", "x", "y"},
    "csv": {"format", "train", "hidden", "label", "columns"},
    "images": {"format", "train", "hidden", "labels", "size", "color_mode"},
}


@dataclass(frozen=True)
class FileDataset:
    """A dataset read from files; see the module's docstring for the spec's keys.

    Attributes:
        format: ``npz``, ``csv`` or ``images``.
        train: the students' file (or folder, for images).
        hidden: the hidden split's file (or folder); the grader only.
        x: npz: the array of inputs.
        y: npz: the array of targets.
        label: csv: the target column.
        columns: csv: the feature columns (empty: every column but ``label``).
        labels: images: the labels file inside each folder (empty: one subfolder per class).
        size: images: ``(height, width)`` every image is resized to (None: kept as they are).
        color_mode: images: ``rgb`` or ``grayscale``.
    """

    format: str
    train: Path
    hidden: Path
    x: str = "x"
    y: str = "y"
    label: str = ""
    columns: tuple[str, ...] = ()
    labels: str = ""
    size: tuple[int, int] | None = None
    color_mode: str = "rgb"

    @property
    def name(self) -> str:
        """How messages and results name it."""
        return f"files:{self.train.name}"

    def __str__(self) -> str:
        return self.name

    def path(self, split: str) -> Path:
        """The file (or folder) of ``split``: ``train`` (students) or ``test`` (hidden)."""
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        return self.train if split == "train" else self.hidden

    def hidden_files(self) -> list[Path]:
        """What sandboxes of the assignment mask: the hidden split."""
        return [self.hidden]


# --- the spec's [dataset] table -------------------------------------------------------------------


def parse_file_dataset(table: dict[str, Any], base: Path | None, where: str) -> FileDataset:
    """Validate a spec's ``[dataset]`` table; every problem is a :class:`SpecError` naming the fix.

    Args:
        table: the parsed table.
        base: the course root, where relative paths start (None: only absolute paths are accepted).
        where: the spec, for messages.
    """
    where = f"{where}: [dataset]"
    fmt = table.get("format")
    if fmt not in FORMATS:
        raise SpecError(f"{where}: format must be one of {', '.join(FORMATS)}; got {fmt!r}")
    unknown = set(table) - KEYS[fmt]
    if unknown:
        raise SpecError(f"{where}: unknown keys {sorted(unknown)}; a {fmt} dataset takes "
                        f"{sorted(KEYS[fmt])}")
    train = _path(table, "train", base, where, folder=fmt == "images")
    hidden = _path(table, "hidden", base, where, folder=fmt == "images")
    if hidden == train:
        raise SpecError(f"{where}: train and hidden are the same {hidden}; the hidden split must be "
                        "another file that students never get")
    _check_hidden_location(hidden, base, where)
    if fmt == "npz":
        ds = FileDataset(fmt, train, hidden, x=_string(table, "x", "x", where),
                         y=_string(table, "y", "y", where))
        for path in (train, hidden):
            _check_npz(path, (ds.x, ds.y), where)
        return ds
    if fmt == "csv":
        if "label" not in table:
            raise SpecError(f"{where}: a csv dataset needs label, the name of the target column")
        columns = table.get("columns", [])
        if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
            raise SpecError(f"{where}: columns must be a list of column names")
        ds = FileDataset(fmt, train, hidden, label=_string(table, "label", "", where),
                         columns=tuple(columns))
        for path in (train, hidden):
            _check_csv_header(path, ds, where)
        return ds
    ds = FileDataset(fmt, train, hidden, labels=_string(table, "labels", "", where),
                     size=_size(table, where), color_mode=_string(table, "color_mode", "rgb", where))
    if ds.color_mode not in COLOR_MODES:
        raise SpecError(f"{where}: color_mode must be one of {sorted(COLOR_MODES)}; got {ds.color_mode!r}")
    for path in (train, hidden):
        _check_image_folder(path, ds, where)
    return ds


def _string(table: dict[str, Any], key: str, default: str, where: str) -> str:
    if key not in table:
        return default
    value = table[key]
    if not isinstance(value, str) or not value:
        raise SpecError(f"{where}: {key} must be a non-empty string, got {value!r}")
    return value


def _path(table: dict[str, Any], key: str, base: Path | None, where: str, *, folder: bool) -> Path:
    what = "folder" if folder else "file"
    if key not in table:
        raise SpecError(f"{where}: missing {key}, the {what} of the "
                        f"{'students' if key == 'train' else 'hidden'} split")
    raw = _string(table, key, "", where)
    path = Path(raw).expanduser()
    if not path.is_absolute():
        if base is None:
            raise SpecError(f"{where}: {key} = {raw!r} is relative, but the course root is unknown; "
                            "give an absolute path or load the spec from its course")
        path = Path(base) / path
    path = path.resolve()
    if not (path.is_dir() if folder else path.is_file()):
        raise SpecError(f"{where}: {key} = {raw!r}: no such {what} ({path}); "
                        f"{'relative paths start at the course root' if not Path(raw).is_absolute() else ''}"
                        .rstrip("; "))
    return path


def _check_hidden_location(hidden: Path, base: Path | None, where: str) -> None:
    """Refuse a hidden split that nbgrader would hand to students."""
    refused = {f"the nbgrader exchange ({root})": root for root in _exchange_roots(base)}
    if base is not None:
        refused["the course's source/ folder (nbgrader releases it)"] = Path(base) / "source"
        refused["the course's release/ folder"] = Path(base) / "release"
    for what, root in refused.items():
        if hidden.is_relative_to(Path(root).resolve()):
            raise SpecError(f"{where}: hidden = {hidden} lies under {what}, which students can read; "
                            "move the hidden split outside it (anywhere the grader can read)")


def _exchange_roots(base: Path | None) -> list[Path]:
    """nbgrader's default exchange and, when the course sets one, its own."""
    config = Path(base) / "nbgrader_config.py" if base is not None else None
    if config is None or not config.is_file():
        return [DEFAULT_EXCHANGE]
    configured = _configured_exchange(config.resolve(), config.stat().st_mtime_ns)
    return [DEFAULT_EXCHANGE, *([Path(configured)] if configured else [])]


@functools.lru_cache(maxsize=8)
def _configured_exchange(config: Path, mtime_ns: int) -> str:
    """``c.Exchange.root`` of a course's nbgrader_config.py (read once per version of the file)."""
    from ..course import Course

    try:
        return str(Course(config.parent).nbgrader_config().Exchange.get("root") or "")
    except Exception:  # an unreadable config is reported by nbgrader itself
        return ""


def _check_npz(path: Path, names: tuple[str, ...], where: str) -> None:
    try:
        with np.load(path, allow_pickle=False) as npz:
            held = list(npz.files)
    except (OSError, ValueError) as exc:
        raise SpecError(f"{where}: {path} is not a readable .npz file ({exc})") from exc
    missing = [n for n in names if n not in held]
    if missing:
        raise SpecError(f"{where}: {path.name} has no array {missing[0]!r}; it holds {held} "
                        "(name the arrays with x = ... and y = ...)")


def _check_csv_header(path: Path, ds: FileDataset, where: str) -> None:
    header = _csv_header(path)
    for column in (ds.label, *ds.columns):
        if column not in header:
            raise SpecError(f"{where}: {path.name} has no column {column!r}; its columns are {header}")
    if not ds.columns and len(header) < 2:
        raise SpecError(f"{where}: {path.name} has no feature column besides {ds.label!r}")


def _size(table: dict[str, Any], where: str) -> tuple[int, int] | None:
    if "size" not in table:
        return None
    size = table["size"]
    if (not isinstance(size, list) or len(size) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in size)):
        raise SpecError(f"{where}: size must be [height, width] in pixels, got {size!r}")
    return (size[0], size[1])


def _check_image_folder(folder: Path, ds: FileDataset, where: str) -> None:
    if ds.labels:
        labels = folder / ds.labels
        if not labels.is_file():
            raise SpecError(f"{where}: no labels file {ds.labels!r} in {folder}")
        header = _csv_header(labels)
        if header != LABELS_HEADER:
            raise SpecError(f"{where}: {labels} must start with the header line "
                            f"{','.join(LABELS_HEADER)}; got {','.join(header)}")
    elif not _class_folders(folder):
        raise SpecError(f"{where}: {folder} has no class subfolders; put each class's images in "
                        "a subfolder named after it, or name a labels file with labels = ...")


def copy_student_files(ds: FileDataset, dest: Path) -> list[Path]:
    """The students' file (or folder): released as it is when it lies in the assignment's source
    folder (``dest``'s parent), else copied into ``dest``."""
    if ds.train.is_relative_to(Path(dest).resolve().parent):
        return [ds.train]
    target = Path(dest) / ds.train.name
    target.parent.mkdir(parents=True, exist_ok=True)
    if ds.train.is_dir():
        shutil.copytree(ds.train, target, dirs_exist_ok=True)
    else:
        shutil.copyfile(ds.train, target)
    return [target]


# --- reading --------------------------------------------------------------------------------------


def load_file_dataset(ds: FileDataset, split: str):
    """The :class:`autograder.data.Split` of ``split`` (``train`` or ``test``)."""
    from . import Split

    path = ds.path(split)
    try:
        if ds.format == "npz":
            with np.load(path, allow_pickle=False) as npz:
                x, y = npz[ds.x], npz[ds.y]
        elif ds.format == "csv":
            x, y = _read_csv(ds, path)
        else:
            x, y = _read_images(ds, path)
    except (OSError, KeyError, ValueError) as exc:
        raise AutograderError(f"dataset {ds.name}: cannot read the {split} split from {path}: "
                              f"{exc}") from exc
    if len(x) != len(y):
        raise AutograderError(f"dataset {ds.name}: {path.name} has {len(x)} inputs but {len(y)} targets")
    return Split(x=x, y=y)


def _csv_header(path: Path) -> list[str]:
    with open(path, newline="", encoding="utf-8") as f:
        return [c.strip() for c in next(csv.reader(f), [])]


def _csv_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path, newline="", encoding="utf-8") as f:
        rows = [r for r in csv.reader(f) if r]
    if not rows:
        raise ValueError(f"{path.name} is empty")
    return [c.strip() for c in rows[0]], rows[1:]


def _read_csv(ds: FileDataset, path: Path) -> tuple[np.ndarray, np.ndarray]:
    header, rows = _csv_rows(path)
    features = list(ds.columns) or [c for c in header if c != ds.label]
    index = {c: i for i, c in enumerate(header)}
    for column in (ds.label, *features):
        if column not in index:
            raise ValueError(f"no column {column!r}; its columns are {header}")
    x = np.empty((len(rows), len(features)), dtype=np.float32)
    for r, row in enumerate(rows, start=2):
        if len(row) != len(header):
            raise ValueError(f"line {r} has {len(row)} values for {len(header)} columns")
        for j, column in enumerate(features):
            try:
                x[r - 2, j] = float(row[index[column]])
            except ValueError:
                raise ValueError(f"line {r}, column {column!r}: {row[index[column]]!r} is not a "
                                 "number (list the numeric feature columns with columns = [...])") from None
    labels = [row[index[ds.label]].strip() for row in rows]
    return x, _targets(labels, lambda: _train_class_names(ds))


def _targets(labels: list[str], class_names) -> np.ndarray:
    """int64 labels when all are integers, float32 when all are numbers, else class indices."""
    try:
        return np.array([int(v) for v in labels], dtype=np.int64)
    except ValueError:
        pass
    try:
        return np.array([float(v) for v in labels], dtype=np.float32)
    except ValueError:
        pass
    names = class_names()
    index = {n: i for i, n in enumerate(names)}
    unseen = sorted(set(labels) - set(index))
    if unseen:
        raise ValueError(f"labels {unseen[:5]} are not classes of the training split ({names[:20]})")
    return np.array([index[v] for v in labels], dtype=np.int64)


def _train_class_names(ds: FileDataset) -> list[str]:
    """The sorted class names of the students' split: both splits index classes the same way."""
    if ds.format == "csv":
        header, rows = _csv_rows(ds.train)
        column = header.index(ds.label)
        return sorted({row[column].strip() for row in rows})
    if ds.labels:
        return sorted({label for _, label in _labels_file(ds.train / ds.labels)})
    return _class_folders(ds.train)


def _class_folders(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _labels_file(path: Path) -> list[tuple[str, str]]:
    header, rows = _csv_rows(path)
    if header != LABELS_HEADER:
        raise ValueError(f"{path.name} must start with the header line {','.join(LABELS_HEADER)}")
    return [(row[0].strip(), row[1].strip()) for row in rows]


def _read_images(ds: FileDataset, folder: Path) -> tuple[np.ndarray, np.ndarray]:
    if ds.labels:
        entries = _labels_file(folder / ds.labels)
        files = [folder / name for name, _ in entries]
        labels = [label for _, label in entries]
    else:
        files, labels = [], []
        for name in _class_folders(folder):
            found = sorted(p for p in (folder / name).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            files += found
            labels += [name] * len(found)
    if not files:
        raise ValueError(f"no images in {folder}")
    images = [_read_image(path, ds) for path in files]
    odd = next((f for f, im in zip(files, images, strict=True) if im.shape != images[0].shape), None)
    if odd is not None:
        raise ValueError(f"{odd.name} is {images[files.index(odd)].shape[:2]} pixels but "
                         f"{files[0].name} is {images[0].shape[:2]}; set size = [height, width]")
    x = np.stack(images)
    if ds.labels:
        y = _targets(labels, lambda: _train_class_names(ds))
    else:  # class subfolders: always class indices, even when folders are named 0, 1, ...
        names = _train_class_names(ds)
        unseen = sorted(set(labels) - set(names))
        if unseen:
            raise ValueError(f"classes {unseen[:5]} are not classes of the training split ({names[:20]})")
        y = np.array([names.index(v) for v in labels], dtype=np.int64)
    return x, y


def _read_image(path: Path, ds: FileDataset) -> np.ndarray:
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow comes with matplotlib
        raise AutograderError("image datasets need Pillow: pip install pillow") from None
    mode, channels = COLOR_MODES[ds.color_mode]
    if not path.is_file():
        raise ValueError(f"no image {path.name} in {path.parent}")
    with Image.open(path) as im:
        im = im.convert(mode)
        if ds.size is not None:
            im = im.resize((ds.size[1], ds.size[0]), Image.Resampling.BILINEAR)
        pixels = np.asarray(im, dtype=np.float32) / 255.0
    return pixels.reshape(*pixels.shape[:2], channels)

