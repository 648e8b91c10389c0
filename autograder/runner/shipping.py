"""Grading a submission on a machine without the course: what travels there and back.

There, a worker receives the submission's files and the assignment's :class:`~.bundle.GradingBundle`
(unpacked once per node), grades the submission in its node's course copy, and sends back a
:class:`ShippedResult`: the result, what grading wrote for that student (the autograded notebooks,
the report's pictures: every file of :func:`student_outputs`) and the rows nbgrader autograde wrote
into the node's gradebook snapshot. Here, :func:`receive` writes those files and rows into the real
course, then the driver records the result as for any executor.
"""

from __future__ import annotations

import io
import json
import shutil
import socket
import tarfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..course import Course
from ..errors import AutograderError
from .bundle import BundleError, GradingBundle, node_course, relocated


class WorkerError(AutograderError):
    """A worker cannot grade here: its node cannot unpack the bundle or load the assignment."""


@dataclass(frozen=True)
class ShippedResult:
    """What a worker sends back for one submission.

    Attributes:
        result: the :class:`~autograder.results.SubmissionResult` as a dict, paths of the node's
            course copy replaced by the driver's.
        outputs: tar of the files grading wrote for the student (relative to the course root).
        rows: what autograde wrote into the node's gradebook snapshot (None: the node used the
            shared gradebook itself, or autograde did not run).
        node: the host that graded it.
    """

    result: dict
    outputs: bytes
    rows: object | None
    node: str


def student_outputs(course: Course, assignment: str, student: str) -> list[Path]:
    """What grading writes for one student, relative to the course root: the autograded folder,
    and every file of ``results/<assignment>/`` (at any depth) named ``<student>.*`` or in a
    ``<student>/`` folder (the report's pictures, e.g. ``pictures/<student>.<grade id>.npz``)."""
    root = course.root
    out = []
    autograded = course.autograded_dir(assignment, student)
    if autograded.is_dir():
        out.append(autograded.relative_to(root))
    results = course.results_dir(assignment)
    if results.is_dir():
        for path in sorted(results.rglob("*")):
            rel = path.relative_to(results)
            if path.is_file() and _is_students(rel, student) and rel.name != f"{student}.json":
                out.append(path.relative_to(root))
    return out


def _is_students(rel: PurePosixPath | Path, student: str) -> bool:
    return student in rel.parts[:-1] or rel.name.startswith(f"{student}.")


def _allowed(name: str, assignment: str, student: str) -> bool:
    """An output path a worker may write into the real course (nothing else is accepted)."""
    rel = PurePosixPath(name)
    if rel.is_absolute() or ".." in rel.parts:
        return False
    if rel.parts[:3] == ("autograded", student, assignment):
        return True
    if rel.parts[:2] == ("results", assignment) and len(rel.parts) > 2:
        inner = PurePosixPath(*rel.parts[2:])
        return _is_students(inner, student) and inner.name != f"{student}.json"
    return False


def pack_submission(course: Course, assignment: str, student: str) -> bytes:
    """The submission folder as a tar (links and special files kept: grading refuses them)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.add(course.submitted_dir(assignment, student), arcname=".")
    return buf.getvalue()


def _pack(root: Path, members: list[Path]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for rel in members:
            tar.add(root / rel, arcname=rel.as_posix())
    return buf.getvalue()


# --- on the worker -------------------------------------------------------------------------------

_STATES: dict[str, tuple] = {}


def _bundle_state(digest: str, refs: list, env: dict[str, str] | None):
    """This process's warm state of bundle ``digest`` (the node's course copy made on first use)."""
    if digest in _STATES:
        return _STATES[digest]
    from .warm import warm_up

    fetched: list[GradingBundle] = []

    def fetch() -> GradingBundle:
        if not fetched:
            ref = refs[0]
            if isinstance(ref, GradingBundle):
                fetched.append(ref)
            else:
                import ray

                fetched.append(ray.get(ref))
        return fetched[0]

    try:
        root = node_course(digest, fetch)
        bundle = fetch()
        ctx = relocated(bundle, root)
        state = warm_up(ctx.course, ctx.spec, lambda: ctx, env)
    except BundleError as exc:
        raise WorkerError(f"the Ray worker on {socket.gethostname()} cannot grade: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - whatever fails here fails every submission of the node
        raise WorkerError(
            f"the Ray worker on {socket.gethostname()} cannot load the assignment from its grading "
            f"bundle: {type(exc).__name__}: {exc} (a worker node needs the same Python packages as "
            "the machine that runs `autograder grade`, and bubblewrap)") from None
    _STATES[digest] = (state, bundle.shared_db_url is None, bundle.driver_root)
    return _STATES[digest]


def grade_shipped(digest: str, refs: list, student: str, submission: bytes,
                  env: dict[str, str] | None = None) -> ShippedResult:
    """Grade one shipped submission on this node (a Ray task).

    Args:
        digest: the bundle's digest (the node's course copy is found by it).
        refs: ``[bundle]``: a Ray ``ObjectRef`` of the :class:`GradingBundle` (fetched only by a
            process that has not warmed up for it yet), or the bundle itself.
        student: whose submission.
        submission: :func:`pack_submission` of it.
        env: as for :func:`~.warm.warm_state`.

    Raises:
        WorkerError: this node cannot grade (bundle, assignment or submission not unpacked).
    """
    from ..gradebook import autograde_rows
    from .grade import compute_submission

    state, own_gradebook, driver_root = _bundle_state(digest, refs, env)
    ctx = state.ctx
    course, assignment = ctx.course, ctx.spec.assignment
    _forget(course, assignment, student)
    try:
        folder = course.submitted_dir(assignment, student)
        folder.mkdir(parents=True)
        with tarfile.open(fileobj=io.BytesIO(submission)) as tar:
            tar.extractall(folder, filter="tar")  # links kept: grading refuses them, as here
    except (OSError, tarfile.TarError) as exc:
        _forget(course, assignment, student)
        raise WorkerError(f"the Ray worker on {socket.gethostname()} cannot unpack {student}'s "
                          f"submission: {exc}") from None
    try:
        result = compute_submission(ctx, student, state.api)
        outputs = _pack(course.root, student_outputs(course, assignment, student))
        rows = autograde_rows(course.db_url, assignment, student) if own_gradebook else None
    finally:
        _forget(course, assignment, student)
    text = json.dumps(result.to_dict()).replace(json.dumps(str(course.root))[1:-1],
                                                json.dumps(driver_root)[1:-1])
    return ShippedResult(result=json.loads(text), outputs=outputs, rows=rows, node=socket.gethostname())


def _forget(course: Course, assignment: str, student: str) -> None:
    """Remove the student's files from the node's course copy (before and after grading)."""
    for rel in [Path("submitted", student, assignment), *student_outputs(course, assignment, student)]:
        path = course.root / rel
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


# --- back here ------------------------------------------------------------------------------------

def receive(course: Course, assignment: str, student: str, shipped: ShippedResult) -> list[str]:
    """Write what a worker sent back into the real course: the student's autograded folder
    (replaced), their other outputs, and autograde's gradebook rows. Returns the names of files
    refused (paths outside the student's outputs, links, special files)."""
    from ..gradebook import write_autograde_rows

    refused: list[str] = []

    def safe(member: tarfile.TarInfo, dest: str) -> tarfile.TarInfo | None:
        if not _allowed(member.name, assignment, student):
            refused.append(member.name)
            return None
        try:
            member = tarfile.data_filter(member, dest)
        except tarfile.FilterError:
            refused.append(member.name)
            return None
        if not (member.isreg() or member.isdir()):
            refused.append(member.name)
            return None
        return member

    shutil.rmtree(course.autograded_dir(assignment, student), ignore_errors=True)
    with tarfile.open(fileobj=io.BytesIO(shipped.outputs)) as tar:
        tar.extractall(course.root, filter=safe)
    if shipped.rows is not None:
        write_autograde_rows(course.db_url, shipped.rows)
    return refused
