"""``autograder demo``: a whole course cycle in a fresh course directory.

Generate and release the assignment with nbgrader, let simulated students fetch, fill in, run and
submit it through nbgrader's exchange, collect, grade (notebook tests + model vs reference),
write scores into the gradebook, and write the report.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ..course import Course
from ..errors import AutograderError
from ..results import SubmissionResult
from ..tasks import get_task
from .students import SimulatedStudent, demo_assignments, students_of

MARKER = ".autograder-demo"
COURSE_ID = "dl-course"

_CONFIG = '''"""nbgrader configuration of a demo course written by `autograder demo`."""
import os

from autograder.nbgrader_plugins import configure

c = get_config()  # noqa: F821
c.CourseDirectory.course_id = "{course_id}"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.max_file_size = 50_000
c.Exchange.root = os.path.join(c.CourseDirectory.root, "exchange")
# Every simulated student is the same OS user here; a real JupyterHub spawner runs each student
# as their own user (or container), and then this check should stay on.
c.ExchangeCollect.check_owner = False
configure(c)
'''


def repo_root() -> Path:
    """The checkout this package runs from (it holds source/ and reference_models/)."""
    root = Path(__file__).resolve().parents[2]
    if not (root / "source").is_dir() or not (root / "reference_models").is_dir():
        raise AutograderError(
            "the demo needs the course repository (source/ and reference_models/); install the "
            "project from its checkout with `pip install -e .` or run `make demo` there"
        )
    return root


@dataclass(frozen=True)
class DemoOutcome:
    course: Course
    results: dict[str, list[SubmissionResult]]
    reports: dict[str, tuple[Path, Path]]
    seconds: float


def prepare_course(course_dir: Path, assignments: list[str], repo: Path | None = None) -> Course:
    """A fresh course directory holding the assignments' sources and reference models."""
    repo = repo or repo_root()
    course_dir = Path(course_dir).resolve()
    if course_dir.exists():
        if not (course_dir / MARKER).exists():
            raise AutograderError(
                f"{course_dir} exists and is not a demo course; choose another --course-dir"
            )
        shutil.rmtree(course_dir)
    course_dir.mkdir(parents=True)
    (course_dir / MARKER).write_text("written by `autograder demo`; safe to delete\n")
    (course_dir / "nbgrader_config.py").write_text(_CONFIG.format(course_id=COURSE_ID))
    for a in assignments:
        shutil.copytree(repo / "source" / a, course_dir / "source" / a)
        shutil.copytree(repo / "reference_models" / a, course_dir / "reference_models" / a)
    course = Course.at(course_dir)
    for a in assignments:  # references a task reads besides its own (e.g. the GAN's judge classifier)
        spec = course.spec(a)
        if spec.tests_only:  # no model, so no task
            continue
        for other in getattr(get_task(spec.task), "uses_references", ()):
            if not course.reference_dir(other).exists():
                shutil.copytree(repo / "reference_models" / other, course.reference_dir(other))
    return course


def simulate_students(
    course: Course, assignment: str, students: tuple[SimulatedStudent, ...],
    log: Callable[[str], None], workers: int = 2,
) -> None:
    """Each student fetches, fills in, runs and submits the assignment through the exchange."""
    from . import student as st

    exchange = course.root / "exchange"

    def one(s: SimulatedStudent) -> None:
        home = course.root / "students" / s.student_id
        folder = st.fetch(COURSE_ID, exchange, home, assignment, s.student_id)
        notebook = folder / f"{course.spec(assignment).notebook}.ipynb"
        st.fill_in(notebook, s.answers)
        t0 = time.perf_counter()
        st.run_notebook(notebook)
        st.submit(COURSE_ID, exchange, home, assignment, s.student_id)
        log(f"  {s.student_id}: fetched, ran ({time.perf_counter() - t0:.0f} s), submitted "
            f"- {s.description}")

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(one, students))


def run_demo(
    course_dir: Path,
    assignments: list[str] | None = None,
    mode: str | None = None,
    log: Callable[[str], None] = lambda msg: print(msg, file=sys.stderr, flush=True),
) -> DemoOutcome:
    from ..instructor_report import make_report
    from ..runner.grade import grade_assignment

    start = time.perf_counter()
    assignments = assignments or demo_assignments()
    unknown = [a for a in assignments if a not in demo_assignments()]
    if unknown:
        raise AutograderError(f"no demo for {unknown}; demos exist for {demo_assignments()}")
    course = prepare_course(course_dir, assignments)
    log(f"Demo course in {course.root}")
    api = course.nbgrader_api()
    results, reports = {}, {}
    for a in assignments:
        students = students_of(a)
        for s in students:
            api.gradebook.update_or_create_student(s.student_id)
        _check(api.generate_assignment(a, force=True, create=True), f"generate_assignment {a}")
        _check(api.release_assignment(a), f"release_assignment {a}")
        log(f"{a}: generated and released with nbgrader; {len(students)} students at work")
        simulate_students(course, a, students, log)
        _check(api.collect(a), f"collect {a}")
        log(f"{a}: collected {len(course.submitted_students(a))} submissions; grading")
        results[a] = grade_assignment(course, a, mode=mode, log=log, force=True)
        written = make_report(course, a)
        reports[a] = (written.folder / "report.csv", written.folder / "report.html")
    return DemoOutcome(course, results, reports, time.perf_counter() - start)


def _check(outcome: dict, what: str) -> None:
    if not outcome.get("success"):
        raise AutograderError(f"nbgrader {what} failed:\n{outcome.get('error') or outcome.get('log')}")
