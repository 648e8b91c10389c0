"""The course that the demo hub serves: the demo's course layout, released to the hub's students."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..course import Course
from ..errors import AutograderError

DEMO_INSTRUCTOR = "instructor"
DEMO_STUDENTS = ("student1", "student2", "student3")


@dataclass(frozen=True)
class HubCourse:
    """Who uses the hub, and the course they use."""

    course: Course
    course_id: str
    exchange_root: Path
    instructor: str = DEMO_INSTRUCTOR
    students: tuple[str, ...] = DEMO_STUDENTS

    @classmethod
    def of(cls, course: Course, instructor: str = DEMO_INSTRUCTOR,
           students: tuple[str, ...] = DEMO_STUDENTS) -> HubCourse:
        config = course.nbgrader_config()
        course_id = config.CourseDirectory.get("course_id", "")
        root = config.Exchange.get("root", "")
        if not course_id or not root:
            raise AutograderError(f"{course.root}/nbgrader_config.py must set CourseDirectory.course_id "
                                  "and Exchange.root for the hub")
        return cls(course, str(course_id), Path(root), instructor, tuple(students))


def release(course: Course, assignment: str, students: tuple[str, ...] = DEMO_STUDENTS) -> None:
    """Generate and release ``assignment`` with nbgrader; add the students to the gradebook."""
    from ..demo import _check

    api = course.nbgrader_api()
    for s in students:
        api.gradebook.update_or_create_student(s)
    _check(api.generate_assignment(assignment, force=True, create=True), f"generate_assignment {assignment}")
    _check(api.release_assignment(assignment), f"release_assignment {assignment}")


def setup_hub_course(course_dir: Path, assignments: list[str],
                     students: tuple[str, ...] = DEMO_STUDENTS) -> HubCourse:
    """A fresh demo course (``autograder demo``'s layout) with ``assignments`` released."""
    from ..demo import prepare_course

    course = prepare_course(Path(course_dir), assignments)
    for a in assignments:
        release(course, a, students)
    return HubCourse.of(course, students=students)
