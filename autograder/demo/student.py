"""The student side of nbgrader's exchange, driven from Python: fetch, fill in, run, submit.

This is what a student does in JupyterLab's Assignments tab, through the same nbgrader classes.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

from ..errors import AutograderError
from ..notebook import grade_id


def _student_config(course_id: str, exchange_root: Path, home: Path, assignment: str,
                    student_id: str):
    from traitlets.config import Config

    c = Config()
    c.CourseDirectory.course_id = course_id
    c.CourseDirectory.assignment_id = assignment
    c.CourseDirectory.student_id = student_id
    c.CourseDirectory.root = str(home)
    c.Exchange.root = str(exchange_root)
    c.Exchange.assignment_dir = str(home)
    return c


def _run_exchange(kind: str, config) -> None:
    from nbgrader.auth import Authenticator
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.exchange import ExchangeError, ExchangeFactory

    coursedir = CourseDirectory(config=config)
    auth = Authenticator(config=config)
    factory = ExchangeFactory(config=config)
    app = getattr(factory, kind)(coursedir=coursedir, authenticator=auth, config=config)
    try:
        app.start()
    except ExchangeError as exc:
        raise AutograderError(f"nbgrader {kind} failed: {exc}") from exc


def fetch(course_id: str, exchange_root: Path, home: Path, assignment: str, student: str) -> Path:
    """Fetch a released assignment into the student's home; returns the assignment folder."""
    home.mkdir(parents=True, exist_ok=True)
    _run_exchange("FetchAssignment",
                  _student_config(course_id, exchange_root, home, assignment, student))
    return home / assignment


def submit(course_id: str, exchange_root: Path, home: Path, assignment: str, student: str) -> None:
    _run_exchange("Submit", _student_config(course_id, exchange_root, home, assignment, student))


def fill_in(notebook_path: Path, answers: dict[str, str]) -> None:
    """Replace the student's solution cells (by grade id) with ``answers``."""
    nb = nbformat.read(notebook_path, as_version=4)
    missing = set(answers)
    for cell in nb.cells:
        gid = grade_id(cell)
        if gid in answers:
            cell.source = answers[gid].strip("\n")
            missing.discard(gid)
    if missing:
        raise AutograderError(f"{notebook_path.name} has no solution cells {sorted(missing)}")
    nbformat.write(nb, notebook_path)


def run_notebook(notebook_path: Path, timeout: int = 600) -> None:
    """Run every cell as the student would (errors do not stop the run), and save outputs."""
    from nbclient import NotebookClient

    from ..nbgrader_plugins import KERNEL_ARGS

    nb = nbformat.read(notebook_path, as_version=4)
    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", allow_errors=True,
        extra_arguments=KERNEL_ARGS,
        resources={"metadata": {"path": str(notebook_path.parent)}},
    )
    client.execute()
    nbformat.write(nb, notebook_path)
