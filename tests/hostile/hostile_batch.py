"""One course, one graded batch of hostile submissions, and what it left behind.

:func:`grade_hostile_batch` (the module-scoped fixture ``batch`` of ``conftest.py``):

1. builds a course in tmp (``prepare_course``, the digits and autoencoder assignments, generated with
   nbgrader's API) with the [limits] of spec.toml tightened for speed, plants canaries (a secret file
   in the course, one outside it, a marker in the instructor's solution and in the control
   student's notebook);
2. grades the control submission (``correct``) alone: its reference score;
3. writes every hostile submission straight into ``submitted/<student>/<assignment>/``;
4. snapshots everything outside the sandboxes (source/, release/, reference_models/, submitted/,
   the canaries, the venv's nbgrader) and listens on TCP and an abstract Unix socket;
5. grades the whole digits batch once with ``grade_assignment`` (then the two autoencoder attacks);
6. records what changed, what was created outside ``autograded/``, which sandbox processes are
   left, which connections arrived.

The tests (``test_hostile_submissions.py``) then only read the :class:`Batch`. Each attack's
submission is written by ``hostile_submissions.py``.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import socket
import stat
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from hostile_submissions import (
    ASSIGNMENT,
    AUTOENCODER,
    CONTROL,
    LIMITS,
    Attack,
    Env,
    attacks,
    release_copy,
    write_notebook,
)

from autograder.course import Course
from autograder.demo import prepare_course
from autograder.demo.students.digits import _GOOD_MODEL, _NEXT_LIKELY, _TRAIN_AND_SAVE
from autograder.gradebook import GradeRow, read_grades
from autograder.notebook import grade_id
from autograder.results import SubmissionResult, read_result
from autograder.runner.grade import grade_assignment
from autograder.runner.sandbox import is_sandbox_uid

# Where a sandbox may legitimately make the grader write: nbgrader's and our outputs.
ALLOWED_NEW = ("autograded", "results", "gradebook.db", "reports", ".scratch", "exchange")


@dataclass
class Batch:
    env: Env
    attacks: dict[str, Attack]
    solo: SubmissionResult  # the control graded alone, before the hostile submissions existed
    results: dict[str, SubmissionResult]  # every submission of the digits batch (and autoencoder)
    students: list[str]  # who was submitted
    seconds: float
    before: dict[str, tuple]
    after: dict[str, tuple]
    own_before: dict[str, tuple]
    own_after: dict[str, tuple]
    new_outside: list[str]  # paths created outside the allowed output folders of the course
    host_escapes: list[str]  # files named after the token in the host's shared folders
    leftover: list[str]  # sandbox processes still alive after the batch
    connections: list[str]  # what reached the test's listeners
    late_writes: list[str]  # files of a graded folder changed after that submission's result
    grades: dict[str, list[GradeRow]] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)

    def notebook_text(self, student: str, assignment: str = ASSIGNMENT) -> str:
        """The graded notebook of ``student`` as the student would see it (its outputs)."""
        folder = self.env.course / "autograded" / student / assignment
        path = folder / f"{assignment}.ipynb"
        if not path.is_file():
            return ""
        return path.read_bytes().decode("utf-8", "replace")


# ---------------------------------------------------------------------------------------------
# Snapshots


def _entry(path: Path) -> tuple:
    st = os.lstat(path)
    mode = stat.S_IMODE(st.st_mode)
    if stat.S_ISLNK(st.st_mode):
        return ("link", os.readlink(path))
    if stat.S_ISDIR(st.st_mode):
        return ("dir", mode)
    if stat.S_ISREG(st.st_mode):
        return ("file", mode, hashlib.sha256(path.read_bytes()).hexdigest())
    return ("special", stat.S_IFMT(st.st_mode), mode)


def snapshot(paths: list[Path]) -> dict[str, tuple]:
    """Content, mode or link target of every path under ``paths`` (links are not followed)."""
    out: dict[str, tuple] = {}
    for root in paths:
        if not os.path.lexists(root):
            out[str(root)] = ("absent",)
            continue
        out[str(root)] = _entry(root)
        if root.is_dir() and not root.is_symlink():
            for dirpath, dirnames, filenames in os.walk(root):
                for name in dirnames + filenames:
                    p = Path(dirpath) / name
                    out[str(p)] = _entry(p)
    return out


def tree(root: Path) -> set[str]:
    """Every path under ``root``, except the course's legitimate output folders."""
    course = root / "course"
    skip = {course / name for name in ALLOWED_NEW}
    found: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = [d for d in dirnames if here / d not in skip]
        for name in dirnames + filenames:
            p = here / name
            if here == course and any(name.startswith(s) for s in ALLOWED_NEW):
                continue  # gradebook.db-journal and the like
            found.add(str(p))
    return found


def late_writes(course: Path) -> list[str]:
    """Files in ``autograded/<student>/<assignment>/`` changed after that student's result was
    written: only another sandbox (or a process that outlived its own) could have changed them."""
    out = []
    for folder in sorted((course / "autograded").glob("*/*")):
        student, assignment = folder.parent.name, folder.name
        result = course / "results" / assignment / f"{student}.json"
        if not result.is_file():
            continue
        done = result.stat().st_mtime
        for dirpath, dirnames, filenames in os.walk(folder):
            for name in dirnames + filenames:
                path = Path(dirpath) / name
                if os.lstat(path).st_mtime > done:
                    out.append(str(path))
    return out


def host_escapes(token: str) -> list[str]:
    """Files named after ``token`` in the host's shared folders (attacks write them if they can)."""
    found = []
    for folder in ("/tmp", "/var/tmp", "/dev/shm", "/", str(Path.home())):
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        found += [os.path.join(folder, n) for n in names if token in n]
    return sorted(set(found))


def sandbox_processes(since: float, root: Path) -> list[str]:
    """Processes of the sandbox user from this batch (none may outlive it).

    Other test sessions on the machine may run sandboxes too: a process is this batch's if it
    started since ``since`` and its working folder, its initial ``PWD`` or the command line of it
    or of an ancestor (bubblewrap's names the sandbox's folders) lies under ``root``.
    """
    import psutil

    def places(proc) -> list[str]:
        try:
            return [proc.cwd(), proc.environ().get("PWD", ""), " ".join(proc.cmdline())]
        except psutil.Error:
            return []

    out = []
    for p in psutil.process_iter(["uids", "create_time", "cmdline"]):
        try:
            # psutil derives create_time from the boot time: allow it to read a little early.
            if (not p.info["uids"] or not is_sandbox_uid(p.info["uids"].real)
                    or p.info["create_time"] < since - 5):
                continue
            seen = [place for proc in (p, *p.parents()) for place in places(proc)]
        except psutil.Error:
            continue  # a process that vanished is not left over
        if any(str(root) in place for place in seen):
            out.append(f"pid {p.pid}: {' '.join(p.info['cmdline'] or [])[:200]}")
    return out


class Listener:
    """A TCP server on 127.0.0.1 and an abstract Unix socket: nothing sandboxed may reach them."""

    def __init__(self, unix_name: str):
        self.received: list[str] = []
        self.tcp = socket.create_server(("127.0.0.1", 0))
        self.port = self.tcp.getsockname()[1]
        self.unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.unix.bind("\0" + unix_name)
        self.unix.listen()
        self._threads = [threading.Thread(target=self._serve, args=(s, name), daemon=True)
                         for s, name in ((self.tcp, "tcp"), (self.unix, "unix"))]
        for t in self._threads:
            t.start()

    def _serve(self, sock: socket.socket, name: str) -> None:
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    data = conn.recv(200)
                except OSError:
                    data = b""
            self.received.append(f"{name}: {data!r}")

    def close(self) -> None:
        for s in (self.tcp, self.unix):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


# ---------------------------------------------------------------------------------------------
# The course


def _set_limits(course_root: Path, assignment: str) -> None:
    """Replace the spec's [limits] table with the suite's (tight, for speed)."""
    path = course_root / "reference_models" / assignment / "spec.toml"
    kept, skipping = [], False
    for line in path.read_text().splitlines():
        header = line.strip()
        if header.startswith("["):
            skipping = header.split("#")[0].strip() == "[limits]"
        if not skipping:
            kept.append(line)
    kept += ["", "[limits]"] + [f"{k} = {v}" for k, v in LIMITS.items()]
    path.write_text("\n".join(kept) + "\n")


def _plant_solution_canary(course_root: Path, token: str) -> None:
    """A marker inside the instructor's solution of build_model (stripped from the release)."""
    path = course_root / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if grade_id(cell) == "build_model":
            cell.source = cell.source.replace(
                "### BEGIN SOLUTION", f"### BEGIN SOLUTION\n    # INSTRUCTOR-SOLUTION-CANARY-{token}", 1)
    nbformat.write(nb, path)


def _hidden_file() -> Path:
    from autograder.data.digits import mnist5k_path

    return mnist5k_path()


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build_env(tmp: Path, listener_port: int, unix_name: str, token: str) -> tuple[Course, Env]:
    course = prepare_course(tmp / "course", [ASSIGNMENT, AUTOENCODER])
    for a in (ASSIGNMENT, AUTOENCODER):
        _set_limits(course.root, a)
        assert course.spec(a).limits.wall_s == LIMITS["wall_s"]
    _plant_solution_canary(course.root, token)
    api = course.nbgrader_api()
    for a in (ASSIGNMENT, AUTOENCODER):
        outcome = api.generate_assignment(a, force=True, create=True)
        assert outcome.get("success"), outcome.get("error") or outcome.get("log")
    env = Env(
        tmp=tmp, token=token, port=listener_port, unix_name=unix_name, hidden_file=_hidden_file(),
        reference_sha=_sha(course.reference_dir(ASSIGNMENT) / "reference.keras"),
        hidden_sha=_sha(_hidden_file()),
    )
    env.course_canary.write_text(env.course_secret + "\n")
    env.outside_canary.write_text(env.outside_secret + "\n")
    (env.course / "swap_target.txt").write_text(f"SWAP-TARGET-{token}\n")
    (tmp / "swap_target_outside.txt").write_text(f"SWAP-TARGET-OUTSIDE-{token}\n")
    env.markers.mkdir()
    return course, env


def write_control(env: Env) -> None:
    """The control: the demo's correct answers (3 epochs), the reference model as its model file."""
    folder = env.course / "submitted" / CONTROL / ASSIGNMENT
    release_copy(env.course, folder)
    answers = {
        "build_model": _GOOD_MODEL,
        "train_model": _TRAIN_AND_SAVE.replace("epochs=10", "epochs=3"),
        "next_likely": _NEXT_LIKELY + f"\n# {env.control_secret}\n",
    }
    write_notebook(folder, answers=answers, first=None)
    shutil.copy(env.course / "reference_models" / ASSIGNMENT / "reference.keras",
                folder / "digits_model.keras")


def write_attack(env: Env, attack: Attack) -> None:
    folder = env.course / "submitted" / attack.name / attack.assignment
    release_copy(env.course, folder, attack.assignment)
    attack.build(env, folder)


def grading_order(names: list[str]) -> list[str]:
    """The control, the two wall-clock attacks, the fork bomb, then the others alphabetically.

    Sandboxes of parallel workers share one user's process limit (test_shared_limits.py shows
    it), and the fork bomb fills that limit for a moment. This batch tests each submission, not
    that interference, so the fork bomb runs when the other worker holds only the sleeping
    kernel of ``sleep_past_limit`` (which starts no threads), and the control runs before both.
    """
    first = ["infinite_loop", "sleep_past_limit", "fork_bomb"]
    return [CONTROL] + [n for n in first if n in names] + sorted(n for n in names if n not in first)


def grade_hostile_batch(tmp: Path) -> Batch:
    """Build the course in ``tmp``, grade the control alone, then the hostile batch."""
    started = time.time()
    token = secrets.token_hex(8)
    unix_name = f"hostile-{token}"
    listener = Listener(unix_name)
    log: list[str] = []

    def say(msg: str) -> None:
        log.append(msg)
        print(msg, file=sys.stderr, flush=True)

    try:
        course, env = build_env(tmp, listener.port, unix_name, token)
        write_control(env)
        t0 = time.perf_counter()
        (solo,) = grade_assignment(course, ASSIGNMENT, students=[CONTROL], force=True, log=say)
        say(f"control graded alone in {time.perf_counter() - t0:.0f} s: {solo.total:g} points")

        catalogue = {a.name: a for a in attacks()}
        t0 = time.perf_counter()
        for a in catalogue.values():
            write_attack(env, a)
        say(f"{len(catalogue)} hostile submissions written in {time.perf_counter() - t0:.0f} s")

        protected = [
            env.course / "source", env.course / "release", env.course / "reference_models",
            env.course / "submitted", env.course / "nbgrader_config.py", env.course_canary,
            env.outside_canary, env.markers, *_venv_targets(),
        ]
        own = [env.tmp / p for a in catalogue.values() for p in a.own_canaries]
        before, own_before, tree_before = snapshot(protected), snapshot(own), tree(tmp)

        digits = [n for n, a in catalogue.items() if a.assignment == ASSIGNMENT]
        order = grading_order(digits)
        batch_start = time.time()
        t0 = time.perf_counter()
        results = {r.student: r for r in grade_assignment(
            course, ASSIGNMENT, students=order, force=True, log=say)}
        seconds = time.perf_counter() - t0
        say(f"digits batch of {len(order)} graded in {seconds:.0f} s")
        ae = [n for n, a in catalogue.items() if a.assignment == AUTOENCODER]
        t0 = time.perf_counter()
        for r in grade_assignment(course, AUTOENCODER, students=ae, force=True, workers=1, log=say):
            results[r.student] = r
        say(f"autoencoder attacks graded in {time.perf_counter() - t0:.0f} s")

        leftover = _wait_for_no_sandbox_processes(batch_start, tmp)
        after, own_after = snapshot(protected), snapshot(own)
        new_outside = sorted(tree(tmp) - tree_before)
        grades: dict[str, list[GradeRow]] = {}
        for assignment in (ASSIGNMENT, AUTOENCODER):
            for g in read_grades(course.db_url, assignment):
                grades.setdefault(f"{assignment}/{g.student}", []).append(g)
        result = Batch(
            env=env, attacks=catalogue, solo=solo, results=results,
            students=[CONTROL, *catalogue], seconds=seconds, before=before, after=after,
            own_before=own_before, own_after=own_after, new_outside=new_outside,
            host_escapes=host_escapes(token), leftover=leftover,
            connections=list(listener.received), late_writes=late_writes(env.course),
            grades=grades, log=log,
        )
        say(f"hostile suite set-up and grading took {time.time() - started:.0f} s")
    finally:
        listener.close()
    return result


def _venv_targets() -> list[Path]:
    """What patch_grader_modules tries to change: nbgrader's code, files it would add to the venv."""
    import nbgrader

    return [Path(nbgrader.__file__).parent / "preprocessors", Path(nbgrader.__file__).parent / "api.py",
            *[Path(p) / name for p in _site_packages() for name in ("sitecustomize.py",
                                                                        "hostile_patch.pth")]]


def _site_packages() -> list[str]:
    import site

    return site.getsitepackages()


def _wait_for_no_sandbox_processes(since: float, root: Path, timeout: float = 15.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        left = sandbox_processes(since, root)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.5)


def read_result_file(env: Env, attack: Attack) -> SubmissionResult:
    return read_result(env.course / "results" / attack.assignment / f"{attack.name}.json")
