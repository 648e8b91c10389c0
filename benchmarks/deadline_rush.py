"""The deadline rush: N students submit within a minute while the grading service runs.

    .venv/bin/python benchmarks/deadline_rush.py              # 100 submissions of digits
    .venv/bin/python benchmarks/deadline_rush.py --n 20 --window 15

It builds a demo course of ``--assignment`` (default digits) whose simulated students of
``autograder demo`` fetch, fill in, run and submit it once each, turns on feedback on submit, and
gives N students (cycling through the simulated ones: correct, weak, broken, ...) a copy of one of
those finished assignment folders. Then:

1. **rush**: the grading service (:class:`~autograder.hub.submissions.SubmissionWatcher` with its
   default warm local workers, stepping every second as ``autograder watch`` does) is started and
   warmed; the N students submit through nbgrader's exchange (nbgrader's own ``submit``), spread
   evenly over ``--window`` seconds. A student's latency is from the end of their submit to the
   release of their feedback;
2. **lone**: one more submission, alone, with the service still warm: its latency;
3. **batch**: the same N collected submissions graded by ``autograder grade <a> --force`` (a
   subprocess, defaults, report included), as an instructor grades after the deadline.

Every submission's total must be the same in the rush and the batch. Prints one JSON line, the
last line of stdout, with ``n``, ``p50_latency_s``, ``p95_latency_s``, ``max_latency_s``,
``rush_per_min`` (N over the time from the first submit to the last feedback), ``batch_per_min``,
``throughput_vs_batch`` (rush over batch) and ``lone_latency_s``. Not a test: nothing here fails
on a slow machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def build_course(workdir: Path, assignment: str, n: int):
    """A demo course with feedback on submit and ``n`` students holding a finished assignment."""
    from autograder.demo import _check, prepare_course, simulate_students
    from autograder.demo.students import students_of

    course = prepare_course(workdir / assignment, [assignment])
    spec = course.root / "reference_models" / assignment / "spec.toml"
    spec.write_text("feedback_on_submit = true\n" + spec.read_text())
    api = course.nbgrader_api()
    simulated = students_of(assignment)
    _check(api.generate_assignment(assignment, force=True, create=True), "generate_assignment")
    _check(api.release_assignment(assignment), "release_assignment")
    simulate_students(course, assignment, simulated, log)
    homes = course.root / "students"
    kinds = [s.student_id for s in simulated]
    students = [f"s{i:03d}" for i in range(n)]
    for i, student in enumerate(students):
        shutil.copytree(homes / kinds[i % len(kinds)], homes / student)
        api.gradebook.update_or_create_student(student)
    shutil.rmtree(course.root / "exchange" / "dl-course" / "inbound")  # the simulated students' own
    (course.root / "exchange" / "dl-course" / "inbound").mkdir()
    log(f"{assignment}: {n} students built from {len(kinds)} simulated students {kinds}")
    return course, students


def submit(course, assignment: str, student: str) -> float:
    """nbgrader's submit for ``student``; the time it returned."""
    from autograder.demo import COURSE_ID
    from autograder.demo import student as st

    st.submit(COURSE_ID, course.root / "exchange", course.root / "students" / student, assignment, student)
    return time.time()


def run_service(watcher, until, released: dict[str, float], stop: threading.Event) -> None:
    """``autograder watch``'s loop, noting when each student's feedback is released."""
    while not stop.is_set() and not until():
        done = watcher.step()
        now = time.time()
        for key in done.released:
            released[key.split("/", 1)[1]] = now
        for error in done.errors:
            log(f"  error: {error}")
        watcher.wait(1.0, stop)


def rush(course, assignment: str, students: list[str], window_s: float) -> dict:
    from autograder.hub.graders import PoolGrader
    from autograder.hub.submissions import SubmissionWatcher

    watcher = SubmissionWatcher(course, (assignment,), grader=PoolGrader(), log=lambda _m: None)
    t0 = time.perf_counter()
    watcher.start()
    log(f"service warm in {time.perf_counter() - t0:.1f} s")
    submitted: dict[str, float] = {}
    released: dict[str, float] = {}
    stop = threading.Event()

    def submit_all() -> None:
        start = time.time()
        for i, student in enumerate(students):
            time.sleep(max(0.0, start + i * window_s / len(students) - time.time()))
            submitted[student] = submit(course, assignment, student)

    submitter = threading.Thread(target=submit_all)
    first = time.time()
    submitter.start()
    service = threading.Thread(target=run_service, args=(
        watcher, lambda: len(released) == len(students), released, stop))
    service.start()
    submitter.join()
    log(f"{len(students)} submissions in {time.time() - first:.1f} s")
    service.join()
    latencies = sorted(released[s] - submitted[s] for s in students)
    rush_s = max(released.values()) - first
    log(f"rush: all feedback released {rush_s:.1f} s after the first submit")

    # one more submission, alone, with the service warm
    lone = students[0]
    released.pop(lone)
    service = threading.Thread(target=run_service, args=(watcher, lambda: lone in released, released, stop))
    service.start()
    at = submit(course, assignment, lone)
    service.join()
    lone_s = released[lone] - at
    log(f"lone submission: feedback {lone_s:.1f} s after submitting")
    watcher.close()
    totals = {s: course_total(course, assignment, s) for s in students}
    return {"latencies": latencies, "rush_s": rush_s, "lone_s": lone_s, "totals": totals}


def course_total(course, assignment: str, student: str) -> float:
    from autograder.results import read_result

    return read_result(course.result_path(assignment, student)).total


def batch(course, assignment: str, students: list[str]) -> tuple[float, dict[str, float]]:
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", TF_CPP_MIN_LOG_LEVEL="2")
    start = time.perf_counter()
    proc = subprocess.run([str(BIN / "autograder"), "grade", assignment, "--course-dir", str(course.root),
                           "--force"], env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"autograder grade failed:\n{proc.stderr[-3000:]}")
    return seconds, {s: course_total(course, assignment, s) for s in students}


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100, help="submissions (default: 100)")
    parser.add_argument("--window", type=float, default=60.0, help="seconds they arrive in (default: 60)")
    parser.add_argument("--assignment", default="digits")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rush-") as tmp:
        course, students = build_course(Path(tmp), args.assignment, args.n)
        got = rush(course, args.assignment, students, args.window)
        batch_s, batch_totals = batch(course, args.assignment, students)
        log(f"batch: {batch_s:.1f} s")
        differ = {s: (got["totals"][s], batch_totals[s]) for s in students
                  if got["totals"][s] != batch_totals[s]}
        if differ:
            raise SystemExit(f"totals differ between the rush and the batch: {differ}")
    rush_per_min = args.n / got["rush_s"] * 60
    batch_per_min = args.n / batch_s * 60
    lat = got["latencies"]
    print(json.dumps({
        "n": args.n, "p50_latency_s": round(percentile(lat, 50), 1),
        "p95_latency_s": round(percentile(lat, 95), 1), "max_latency_s": round(max(lat), 1),
        "rush_per_min": round(rush_per_min, 1), "batch_per_min": round(batch_per_min, 1),
        "throughput_vs_batch": round(rush_per_min / batch_per_min, 2),
        "lone_latency_s": round(got["lone_s"], 1),
    }))


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    main()
