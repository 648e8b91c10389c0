import os
import sys
import warnings
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
warnings.filterwarnings("ignore", message=".*not in session.*")

from autograder._env import ensure_tools_on_path  # noqa: E402

ensure_tools_on_path()

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


def python() -> str:
    return sys.executable


@pytest.fixture(scope="session")
def tiny_course_template(tmp_path_factory):
    """A demo-layout course with the tiny tests-only assignment released (copy it: see tiny_course_copy)."""
    from tiny_assignment import write_tiny_assignment

    from autograder.demo import prepare_course
    from autograder.hub.course import release

    course = prepare_course(tmp_path_factory.mktemp("tiny") / "course", [])
    release(course, write_tiny_assignment(course.root), ("student1", "student2", "student3"))
    return course.root

