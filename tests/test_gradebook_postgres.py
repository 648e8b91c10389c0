"""The gradebook in PostgreSQL (``c.CourseDirectory.db_url``): nbgrader and the grader share it.

A throwaway PostgreSQL cluster (Debian's server binaries, `make postgres-tools`) runs on a Unix
socket in a temporary folder, as an unprivileged user when the tests run as root; the test skips and
says why when PostgreSQL or the driver is missing.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from tiny_assignment import NAME, set_feedback_on_submit, tiny_course_copy

pytestmark = pytest.mark.slow


def pg_bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def _as_owner(cmd: list[str], owner: str | None) -> list[str]:
    return ["runuser", "-u", owner, "--", *cmd] if owner else cmd


@pytest.fixture
def postgres():
    """A running PostgreSQL server on a Unix socket; yields its SQLAlchemy URL; stopped after."""
    pytest.importorskip("psycopg2", reason="psycopg2-binary is not installed (pip install '.[postgres]')")
    initdb, pg_ctl = pg_bin("initdb"), pg_bin("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed: `make postgres-tools` "
                    "installs Debian's postgresql when run as root")
    owner = None
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        if not shutil.which("runuser"):
            pytest.skip("running as root without runuser: cannot start PostgreSQL as another user")
        owner = "nobody"
    folder = Path(tempfile.mkdtemp(prefix="ag-pg-"))
    data, sock = folder / "data", folder / "sock"
    sock.mkdir()
    if owner:
        user = pwd.getpwnam(owner)
        for p in (folder, sock):
            os.chown(p, user.pw_uid, user.pw_gid)
    started = False
    try:
        subprocess.run(_as_owner([initdb, "-D", str(data), "-U", "grader", "--auth=trust", "-E", "UTF8"],
                                 owner), check=True, capture_output=True, timeout=120)
        subprocess.run(_as_owner([pg_ctl, "-D", str(data), "-l", str(folder / "log"), "-w", "-t", "60",
                                  "-o", f"-k {sock} -c listen_addresses=''", "start"], owner),
                       check=True, capture_output=True, timeout=90)
        started = True
        import psycopg2

        conn = psycopg2.connect(dbname="postgres", user="grader", host=str(sock))
        try:
            conn.autocommit = True  # CREATE DATABASE cannot run in a transaction
            conn.cursor().execute("CREATE DATABASE gradebook")
        finally:
            conn.close()
        yield f"postgresql+psycopg2://grader@/gradebook?host={sock}", sock
    finally:
        if started:
            subprocess.run(_as_owner([pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"], owner),
                           capture_output=True, timeout=60)
        shutil.rmtree(folder, ignore_errors=True)


def test_grading_on_submit_with_a_postgresql_gradebook(postgres, tiny_course_template, tmp_path):
    import psycopg2

    from autograder.course import Course
    from autograder.demo import COURSE_ID
    from autograder.demo import student as st
    from autograder.gradebook import read_grades
    from autograder.hub.course import release
    from autograder.hub.submissions import SubmissionWatcher

    url, sock = postgres
    course = tiny_course_copy(tiny_course_template, tmp_path / "course")
    set_feedback_on_submit(course.root, False)
    (course.root / "gradebook.db").unlink()
    shutil.rmtree(course.root / "exchange" / COURSE_ID / "outbound" / NAME)
    with open(course.root / "nbgrader_config.py", "a") as fh:
        fh.write(f"c.CourseDirectory.db_url = {url!r}\n")
    course = Course.at(course.root)
    assert course.db_url == url
    release(course, NAME, ("student1",))  # nbgrader writes the assignment into PostgreSQL

    home = tmp_path / "home"
    st.fetch(COURSE_ID, course.root / "exchange", home, NAME, "student1")
    st.fill_in(home / NAME / f"{NAME}.ipynb", {"square": "def square(x):\n    return x + x"})
    st.submit(COURSE_ID, course.root / "exchange", home, NAME, "student1")
    start = time.perf_counter()
    done = SubmissionWatcher(course, log=print).poll_once()
    print(f"graded in {time.perf_counter() - start:.1f} s")
    assert done.errors == () and len(done.graded) == 1
    # x + x: square(3) == 9 fails (test_square, 2 points), square(0) == 0 passes (test_zero, 1 point)
    assert done.graded[0].total == 1.0
    grades = {g.cell: g.score for g in read_grades(course.db_url, NAME) if g.student == "student1"}
    assert grades == {"test_square": 0.0, "test_zero": 1.0}
    assert not (course.root / "gradebook.db").exists()  # SQLite was never used
    conn = psycopg2.connect(dbname="gradebook", user="grader", host=str(sock))
    try:
        cur = conn.cursor()
        cur.execute("SELECT count(*) FROM grade")
        assert cur.fetchone()[0] == 2
    finally:
        conn.close()


def test_sqlite_stays_the_default(tiny_course_template, tmp_path):
    course = tiny_course_copy(tiny_course_template, tmp_path / "course")
    assert course.db_url == f"sqlite:///{course.root / 'gradebook.db'}"
