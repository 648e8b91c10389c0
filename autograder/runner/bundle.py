"""An assignment's grading bundle: what grading it reads, packed to ship to machines that do not
share the course's filesystem (Ray worker nodes).

A bundle holds:

* the course files grading reads, as a tar archive: ``nbgrader_config.py``, the assignment's
  ``source/`` folder (nbgrader autograde copies its data files, the kernels preload what its
  notebooks import), its ``reference_models/`` folder (spec, reference model, metrics) and those of
  other assignments its tasks read (``uses_references``, e.g. a GAN's judge), and the files of a
  ``[dataset]`` table that lie inside the course (a train-mode run reads the training split);
* a consistent snapshot of a SQLite gradebook (a gradebook on a database server is used where it
  is, by every node);
* the grading context already loaded: the spec, the reference metrics and the **hidden split as
  arrays**. The hidden split's files are never shipped: on a worker node the hidden data exists
  only in the grading process's memory (and Ray's object store), which the sandboxes cannot see.

A node unpacks the archive once into a private folder (:func:`node_course`) that every task of
the batch on that node reuses; a new batch (a new gradebook snapshot) is a new bundle.
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import io
import os
import shutil
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..course import Course
from ..errors import AutograderError
from ..spec import GradingSpec

#: where nodes unpack bundles (default: ``<tmp>/autograder-bundles``)
BUNDLE_DIR_VARIABLE = "AUTOGRADER_BUNDLE_DIR"
#: the gradebook snapshot inside a node's course copy
GRADEBOOK = "gradebook.db"
#: written last: a node's course copy is complete
READY = ".bundle-ready"
#: a node's copies of older bundles are removed once unused this long
STALE_S = 24 * 3600


class BundleError(AutograderError):
    """A grading bundle cannot be packed (here) or unpacked (on a worker node)."""


@dataclass(frozen=True)
class GradingBundle:
    """Everything a worker needs to grade one assignment's submissions without the course.

    Attributes:
        digest: identifies the bundle (its archive and context); nodes unpack it once.
        archive: tar of the course files grading reads (paths relative to the course root).
        driver_root: the course root on the machine that packed it (paths in the spec start there).
        spec: the assignment's spec, in the batch's mode.
        models: each graded model's spec, reference metrics and hidden split (``ModelContext``).
        shared_db_url: the gradebook every node uses where it is (a database server); None when a
            SQLite snapshot is in the archive.
    """

    digest: str
    archive: bytes
    driver_root: str
    spec: GradingSpec
    models: tuple
    shared_db_url: str | None


def course_members(course: Course, spec: GradingSpec) -> list[Path]:
    """The course's files and folders (relative to its root) that grading ``spec`` reads."""
    from ..tasks import get_task

    root = course.root.resolve()
    wanted = [Path("nbgrader_config.py"), course.source_dir(spec.assignment).relative_to(course.root),
              course.reference_dir(spec.assignment).relative_to(course.root)]
    for model in spec.models():
        task = get_task(model.task) if model.task else None
        wanted += [Path("reference_models", name) for name in getattr(task, "uses_references", ())]
        if not isinstance(model.dataset, str):
            for path in (model.dataset.train,):  # the hidden split travels loaded, never as a file
                if Path(path).resolve().is_relative_to(root):
                    wanted.append(Path(path).resolve().relative_to(root))
    out: list[Path] = []
    for rel in wanted:
        if (course.root / rel).exists() and not any(rel.is_relative_to(o) for o in out):
            out = [o for o in out if not o.is_relative_to(rel)] + [rel]
    return out


def pack_bundle(ctx) -> GradingBundle:
    """The bundle of a loaded grading context (:class:`~.grade.GradingContext`).

    Raises:
        BundleError: a file cannot be read, or the gradebook cannot be copied.
    """
    from ..gradebook import snapshot_sqlite

    course, spec = ctx.course, ctx.spec
    buf = io.BytesIO()
    try:
        with tempfile.TemporaryDirectory(prefix="autograder-bundle-") as tmp:
            db = Path(tmp) / GRADEBOOK
            shipped_db = snapshot_sqlite(course.db_url, db)
            hidden = _hidden_members(course, spec)
            with tarfile.open(fileobj=buf, mode="w") as tar:
                for rel in course_members(course, spec):
                    tar.add(course.root / rel, arcname=str(rel),
                            filter=lambda info: _regular_only(info, hidden))
                if shipped_db:
                    tar.add(db, arcname=GRADEBOOK)
    except (OSError, tarfile.TarError, ImportError) as exc:
        raise BundleError(f"cannot pack {spec.assignment!r} of {course.root} for the workers: {exc}") from exc
    except Exception as exc:  # noqa: BLE001 - sqlite3/sqlalchemy errors: say which step failed
        raise BundleError(f"cannot copy the gradebook {course.db_url} for the workers: {exc}") from exc
    archive = buf.getvalue()
    h = hashlib.sha256(archive)
    h.update(repr((str(course.root), spec, [m.spec for m in ctx.models])).encode())
    for m in ctx.models:
        h.update(m.test.fingerprint.encode())
    return GradingBundle(digest=h.hexdigest()[:24], archive=archive, driver_root=str(course.root),
                         spec=spec, models=tuple(ctx.models),
                         shared_db_url=None if shipped_db else course.db_url)


def _hidden_members(course: Course, spec: GradingSpec) -> set[Path]:
    """The hidden splits' files that lie inside the course (never shipped), relative to its root."""
    from ..data import hidden_files

    root = course.root.resolve()
    found = hidden_files(dict.fromkeys(m.dataset for m in spec.models()))
    return {Path(p).resolve().relative_to(root) for p in found if Path(p).resolve().is_relative_to(root)}


def _regular_only(info: tarfile.TarInfo, hidden: set[Path]) -> tarfile.TarInfo | None:
    """Course files are shipped as regular files and folders (no links, no devices), hidden
    splits' files left out."""
    if any(Path(info.name).is_relative_to(h) for h in hidden):
        return None
    return info if info.isreg() or info.isdir() else None


def bundle_base() -> Path:
    """Where this node unpacks bundles."""
    configured = os.environ.get(BUNDLE_DIR_VARIABLE)
    return Path(configured) if configured else Path(tempfile.gettempdir()) / "autograder-bundles"


def node_course(digest: str, fetch: Callable[[], GradingBundle], base: Path | None = None) -> Path:
    """This node's course copy of bundle ``digest``: unpacked on first use (``fetch`` gives the
    bundle then), under a lock so that the node's other worker processes wait and reuse it.

    Raises:
        BundleError: the bundle cannot be unpacked here (disk full, folder not writable, ...).
    """
    base = Path(base or bundle_base())
    folder = base / digest
    root = folder / "course"
    if (root / READY).is_file():
        _touch(folder)
        return root
    try:
        base.mkdir(mode=0o700, parents=True, exist_ok=True)
        with open(base / f"{digest}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not (root / READY).is_file():
                shutil.rmtree(folder, ignore_errors=True)
                _unpack(fetch(), folder / "unpacking")
                (folder / "unpacking").rename(root)
                (root / READY).write_text(digest)
        _prune(base, keep=digest)
    except (OSError, tarfile.TarError) as exc:
        raise BundleError(f"cannot unpack the grading bundle into {folder}: {exc}") from exc
    return root


def _unpack(bundle: GradingBundle, dest: Path) -> None:
    dest.mkdir(mode=0o700, parents=True)
    with tarfile.open(fileobj=io.BytesIO(bundle.archive)) as tar:
        tar.extractall(dest, filter="data")
    if bundle.shared_db_url is None:  # this copy grades against its own gradebook snapshot
        db = (dest.parent / "course" / GRADEBOOK).as_posix()
        with open(dest / "nbgrader_config.py", "a") as f:
            f.write(f"\n# added on this worker node: the gradebook snapshot shipped with the bundle\n"
                    f"c.CourseDirectory.db_url = {f'sqlite:///{db}'!r}\n")


def _touch(folder: Path) -> None:
    try:
        os.utime(folder)
    except OSError:
        pass


def _prune(base: Path, keep: str) -> None:
    """Remove course copies of bundles unused for :data:`STALE_S` (older batches)."""
    cutoff = time.time() - STALE_S
    for old in base.iterdir():
        if old.name != keep and old.is_dir() and old.stat().st_mtime < cutoff:
            shutil.rmtree(old, ignore_errors=True)
            (base / f"{old.name}.lock").unlink(missing_ok=True)


def relocated(bundle: GradingBundle, root: Path):
    """The bundle's grading context on a node whose course copy is at ``root``: files of the
    spec that lay inside the driver's course now point into the copy."""
    from .grade import GradingContext

    old = Path(bundle.driver_root)
    from ..check_runs import CheckRun

    spec = _moved_spec(bundle.spec, old, root)
    models = tuple(dataclasses.replace(m, spec=_moved_spec(m.spec, old, root)) for m in bundle.models)
    # the node's own function-check run: its secret seed never travels
    return GradingContext(Course(root), spec, models, CheckRun(spec.checks) if spec.checks else None)


def _moved_spec(spec: GradingSpec, old: Path, new: Path) -> GradingSpec:
    dataset = spec.dataset
    if not isinstance(dataset, str):
        dataset = dataclasses.replace(dataset, train=_moved(dataset.train, old, new),
                                      hidden=_moved(dataset.hidden, old, new))
    return dataclasses.replace(spec, dataset=dataset,
                               parts=tuple(_moved_spec(p, old, new) for p in spec.parts))


def _moved(path: Path, old: Path, new: Path) -> Path:
    path = Path(path)
    return new / path.relative_to(old) if path.is_relative_to(old) else path
