"""Grade a class of N submissions three ways and compare (issue "Fast grading at class scale").

    .venv/bin/python benchmarks/grade_class.py --n 30                      # digits and autoencoder
    .venv/bin/python benchmarks/grade_class.py --n 10 --assignment digits

For each assignment it builds a demo course, lets the simulated students of ``autograder demo``
fetch, fill in, run and submit it (once each), then copies those submissions into N students
(cycling through the simulated ones: correct, weak, broken, ...). Then, on the same course:

1. **stock**: ``nbgrader autograde <a> --force`` (one command, submissions one at a time) with
   nbgrader's own kernels (jupyter_client's kernel manager: not our sandboxed, warm one), then one
   scoring process that loads each saved model and scores it (TensorFlow loaded once);
2. **ours**: ``autograder grade <a> --force`` with default settings (a subprocess; its pool
   workers' resident memory is sampled);
2b. when the spec declares function checks, **ours** again with them removed from the spec (the
   notebook's test cells then decide those points): ``checks_overhead`` is ours over that, the
   grading time the checks add (``--ours-only``: only 2 and 2b);
3. **limit**: in this one warm process, without isolation: for each submission, run the code
   cells of its notebook (its training), then evaluate its saved model. Timed after warm-up.

It checks that every submission's total is the same for stock and ours and that the model points
are the same for all three, and prints one JSON line per assignment, the last lines of stdout.
Not a test: nothing here fails on a slow machine.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
MIB = 1024 * 1024
STOCK_KERNEL_MANAGER = "jupyter_client.manager.AsyncKernelManager"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _env() -> dict[str, str]:
    return dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
                TF_CPP_MIN_LOG_LEVEL="2")


# --- building the class ---------------------------------------------------------------------------

def build_class(workdir: Path, assignment: str, n: int):
    """A demo course with ``n`` collected submissions of ``assignment``; returns the Course."""
    from autograder.demo import _check, prepare_course, simulate_students
    from autograder.demo.students import students_of

    course = prepare_course(workdir / assignment, [assignment])
    api = course.nbgrader_api()
    simulated = students_of(assignment)
    for s in simulated:
        api.gradebook.update_or_create_student(s.student_id)
    _check(api.generate_assignment(assignment, force=True, create=True), "generate_assignment")
    _check(api.release_assignment(assignment), "release_assignment")
    simulate_students(course, assignment, simulated, log)
    _check(api.collect(assignment), "collect")
    kinds = course.submitted_students(assignment)
    base = course.root / "submitted"
    for i in range(n):
        student = f"s{i:03d}"
        shutil.copytree(base / kinds[i % len(kinds)], base / student)
        api.gradebook.update_or_create_student(student)
    for kind in kinds:
        shutil.rmtree(base / kind)
    log(f"{assignment}: {n} submissions built from {len(kinds)} simulated students {kinds}")
    return course


# --- 1. stock ---------------------------------------------------------------------------------------

def stock_scores(root: Path, assignment: str) -> dict[str, float]:
    """Model points of each submission's saved model (the stock instructor's scoring script)."""
    from autograder.course import Course
    from autograder.runner.grade import GradingContext

    course = Course(root)
    ctx = GradingContext.load(course, assignment)
    return {student: saved_model_points(ctx, student) for student in course.submitted_students(assignment)}


def worker_scoring_rate(root: Path, assignment: str) -> float:
    """Saved models scored per second by one warm process that runs no student code, as a
    grading worker scores them: an ArchitectureCache of its own, TensorFlow already busy, the
    threads a worker of ``autograder grade`` gets on this machine (its share of the cores)."""
    from autograder.runner.placement import plan_workers

    plan = plan_workers(0, os.cpu_count() or 1, 2**31)
    os.environ.update(plan.env_for(plan.slots[0]))  # before TensorFlow starts its thread pools
    from autograder.course import Course
    from autograder.evaluate import measure_model_file
    from autograder.model_reuse import ArchitectureCache
    from autograder.runner.grade import GradingContext
    from autograder.spec import REFERENCE_MODEL_FILE
    from autograder.tasks import get_task

    course = Course(root)
    ctx = GradingContext.load(course, assignment)
    for model in ctx.models:  # warm: TensorFlow's first model run, not a student's architecture
        measure_model_file(course.reference_dir(assignment) / REFERENCE_MODEL_FILE, model.spec,
                           get_task(model.spec.task), model.test)
    students, cache = course.submitted_students(assignment), ArchitectureCache()
    start = time.perf_counter()
    for student in students:
        saved_model_points(ctx, student, cache)
    return len(students) / (time.perf_counter() - start)


def saved_model_points(ctx, student: str, cache=None) -> float:
    """Points of the submission's saved model files (every model of the assignment); ``cache``:
    an ArchitectureCache, as the grading workers load them (None: Keras' load_model each time)."""
    from autograder.evaluate import measure_model_file, score_measurement
    from autograder.tasks import get_task

    points = 0.0
    for model in ctx.models:
        path = ctx.course.submitted_dir(model.spec.assignment, student) / model.spec.model_file
        measured = measure_model_file(path, model.spec, get_task(model.spec.task), model.test, cache=cache)
        points += sum(p.points for p in score_measurement(model.spec, model.reference, measured))
    return points


def _in_fresh_process(flag: str, course, assignment: str):
    """What this script prints (its last line, JSON) when run with ``flag ROOT ASSIGNMENT``."""
    proc = subprocess.run([sys.executable, __file__, flag, str(course.root), assignment],
                          env=_env(), capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{flag} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_stock(course, assignment: str) -> tuple[float, dict[str, float], dict[str, float]]:
    """Seconds, total per student, model points per student."""
    from autograder.gradebook import notebook_cells, read_grades

    start = time.perf_counter()
    # As an instructor runs it today: nbgrader's own kernels (this course's nbgrader_config.py
    # would otherwise give it our sandboxed, warm kernels).
    proc = subprocess.run([str(BIN / "nbgrader"), "autograde", assignment, "--force",
                           f"--Execute.kernel_manager_class={STOCK_KERNEL_MANAGER}"],
                          cwd=course.root, env=_env(), capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"nbgrader autograde failed:\n{proc.stderr[-3000:]}")
    model = _in_fresh_process("--stock-scoring", course, assignment)
    seconds = time.perf_counter() - start
    spec = course.spec(assignment)
    tests = {c.name for c in notebook_cells(course.db_url, assignment, spec.notebook) if c.kind == "test"}
    totals = dict.fromkeys(model, 0.0)
    for g in read_grades(course.db_url, assignment):
        if g.student in totals and g.cell in tests:
            totals[g.student] += g.score
    return seconds, {s: totals[s] + model[s] for s in model}, model


# --- 2. ours ----------------------------------------------------------------------------------------

@dataclass(eq=False)
class MemorySampler(threading.Thread):
    """Samples the resident memory of a grader's pool workers (spawned, or forked by its fork
    server)."""

    pid: int
    interval: float = 0.25
    samples: dict[int, list[tuple[float, float]]] = field(default_factory=dict)
    # Proportional set size of each worker's whole process tree: the worker, its kernel factory
    # and the kernel of the moment (pages a forked kernel shares with its factory count once).
    tree_pss: dict[int, list[float]] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self):
        super().__init__(daemon=True)

    def run(self) -> None:
        import psutil

        start = time.perf_counter()
        parent = psutil.Process(self.pid)
        tick = 0
        while not self.stop.is_set():
            try:
                workers = _pool_workers(parent)
            except psutil.NoSuchProcess:
                return
            for child in workers:
                try:
                    rss = child.memory_info().rss / MIB
                except psutil.Error:
                    continue
                self.samples.setdefault(child.pid, []).append((time.perf_counter() - start, rss))
                # PSS reads every mapping of ~3 TensorFlow processes per tree (~25 ms each, CPU
                # taken from the grading measured): every 5 s only
                if tick % 20 == 0:
                    self.tree_pss.setdefault(child.pid, []).append(_tree_pss_mib(child))
            tick += 1
            self.stop.wait(self.interval)

    def summary(self) -> dict[str, float | int]:
        """Peak per worker, and the peak over each third of the run (flatness)."""
        if not self.samples:
            return {"workers": 0}
        end = max(t for s in self.samples.values() for t, _ in s)
        def peak(lo, hi):
            vals = [r for s in self.samples.values() for t, r in s if lo <= t <= hi]
            return round(max(vals), 1) if vals else None
        return {
            "workers": len(self.samples),
            "peak_rss_mib_per_worker": round(max(r for s in self.samples.values() for _, r in s), 1),
            "rss_first_third_mib": peak(0, end / 3),  # (in a short run: mostly the start-up)
            "rss_middle_third_mib": peak(end / 3, 2 * end / 3),
            "rss_last_third_mib": peak(2 * end / 3, end),
            "peak_pss_mib_per_worker_tree": round(max(max(v) for v in self.tree_pss.values()), 1),
        }


def _pool_workers(parent) -> list:
    """The grader's pool workers: its spawned children, or the children of its fork server."""
    import psutil

    workers = []
    for child in parent.children(recursive=False):
        try:
            cmd = " ".join(child.cmdline())
            if "spawn_main" in cmd:
                workers.append(child)
            elif "multiprocessing.forkserver" in cmd:
                workers.extend(child.children(recursive=False))
        except psutil.Error:
            continue
    return workers


def _tree_pss_mib(proc) -> float:
    import psutil

    from autograder.runner.sandbox import process_tree

    total = 0
    for p in process_tree(proc.pid):
        try:
            total += p.memory_full_info().pss
        except psutil.Error:
            continue
    return total / MIB


def run_ours(course, assignment: str) -> tuple[float, dict[str, float], dict[str, float], dict]:
    """Seconds, total per student, model points per student, memory summary."""
    from autograder.results import read_result

    start = time.perf_counter()
    proc = subprocess.Popen(
        [str(BIN / "autograder"), "grade", assignment, "--course-dir", str(course.root), "--force"],
        env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    sampler = MemorySampler(proc.pid)
    sampler.start()
    out, err = proc.communicate()
    seconds = time.perf_counter() - start
    sampler.stop.set()
    sampler.join()
    (course.root / "grade.log").write_text(err)  # progress lines with their timing, for profiling
    if proc.returncode != 0:
        raise SystemExit(f"autograder grade failed:\n{err[-3000:]}")
    progress = [ln for ln in err.splitlines() if ln.startswith("[")]
    if progress:
        log(f"  last progress line: {progress[-1]}")
    totals, model = {}, {}
    for student in course.submitted_students(assignment):
        r = read_result(course.result_path(assignment, student))
        totals[student] = r.total
        model[student] = sum(p.points for p in r.parts if p.kind == "model")
    return seconds, totals, model, sampler.summary()


# --- 3. the limit -----------------------------------------------------------------------------------

def run_limit(course, assignment: str) -> tuple[float, dict[str, float], float]:
    """Seconds, model points per student, load-mode scorings per second; one warm process."""
    import matplotlib

    matplotlib.use("Agg")
    from IPython.core.interactiveshell import InteractiveShell

    from autograder.model_reuse import ArchitectureCache
    from autograder.models import current_device
    from autograder.notebook import read_notebook
    from autograder.runner.grade import GradingContext

    ctx = GradingContext.load(course, assignment)
    current_device()  # warm: TensorFlow imported before the clock starts
    shell = InteractiveShell.instance()
    model, scoring_s, cache = {}, 0.0, ArchitectureCache()
    here = Path.cwd()
    start = time.perf_counter()
    for student in course.submitted_students(assignment):
        source = course.autograded_dir(assignment, student)
        nb = read_notebook(source / f"{ctx.spec.notebook}.ipynb")
        with tempfile.TemporaryDirectory() as tmp:
            shutil.copytree(source, tmp, dirs_exist_ok=True)
            os.chdir(tmp)
            shell.reset(new_session=False)
            try:
                with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                    for cell in nb.cells:
                        if cell.cell_type == "code":
                            shell.run_cell(cell.source, store_history=False, silent=True)
            finally:
                os.chdir(here)
        t0 = time.perf_counter()
        model[student] = saved_model_points(ctx, student, cache)
        scoring_s += time.perf_counter() - t0
    seconds = time.perf_counter() - start
    n = len(model)
    return seconds, model, (n / scoring_s if scoring_s else float("inf"))


# --- the three, compared ----------------------------------------------------------------------------

def existing_class(workdir: Path, assignment: str, n: int):
    """The course a previous run built in ``workdir`` with exactly ``n`` submissions, or None."""
    from autograder.course import Course

    root = workdir / assignment
    if not (root / "nbgrader_config.py").is_file():
        return None
    course = Course(root)
    return course if len(course.submitted_students(assignment)) == n else None


@contextlib.contextmanager
def checks_removed(course, assignment: str):
    """The assignment's spec without its ``[[checks]]`` tables (the notebook's own test cells then
    decide those cells' points), restored after."""
    import tomllib

    path = course.root / "reference_models" / assignment / "spec.toml"
    text = path.read_text()
    kept, skipping = [], False
    for line in text.splitlines(keepends=True):
        header = line.strip()
        if header.startswith("["):
            skipping = header.startswith("[[checks]]")
        if not skipping:
            kept.append(line)
    path.write_text("".join(kept))
    assert "checks" not in tomllib.loads(path.read_text())
    try:
        yield
    finally:
        path.write_text(text)


def bench(workdir: Path, assignment: str, n: int, reuse: bool = False, ours_only: bool = False) -> dict:
    course = (reuse and existing_class(workdir, assignment, n)) or build_class(workdir, assignment, n)
    load = [os.getloadavg()[0]]
    if not ours_only:
        log(f"{assignment}: 1. stock (nbgrader autograde, then scoring)")
        stock_s, stock_total, stock_model = run_stock(course, assignment)
        log(f"{assignment}:    {stock_s:.1f} s")
    log(f"{assignment}: 2. ours (autograder grade)")
    load.append(os.getloadavg()[0])
    ours_s, ours_total, ours_model, memory = run_ours(course, assignment)
    log(f"{assignment}:    {ours_s:.1f} s")
    checks = {}
    if course.spec(assignment).checks:
        log(f"{assignment}: 2b. ours without the spec's function checks")
        with checks_removed(course, assignment):
            bare_s, bare_total, _, _ = run_ours(course, assignment)
        log(f"{assignment}:    {bare_s:.1f} s")
        checks = {"ours_without_checks_s": round(bare_s, 1), "checks_overhead": round(ours_s / bare_s, 3),
                  # honest or not, the simulated students' checked cells keep their points
                  "checks_keep_totals": all(abs(bare_total[s] - ours_total[s]) < 1e-6 for s in ours_total)}
    if ours_only:
        return {"assignment": assignment, "n": n, "cores": os.cpu_count(), "ours_s": round(ours_s, 1),
                **checks, "peak_rss_mib_per_worker": memory.get("peak_rss_mib_per_worker"),
                "peak_pss_mib_per_worker_tree": memory.get("peak_pss_mib_per_worker_tree"),
                "loadavg_1min": [round(x, 1) for x in [*load, os.getloadavg()[0]]]}
    log(f"{assignment}: 3. the limit (bare training + evaluation, one warm process)")
    load.append(os.getloadavg()[0])
    limit_s, limit_model, scoring_rate = run_limit(course, assignment)
    load.append(os.getloadavg()[0])
    worker_rate = _in_fresh_process("--worker-scoring", course, assignment)
    log(f"{assignment}:    {limit_s:.1f} s")
    identical = (
        set(stock_total) == set(ours_total) == set(limit_model)
        and all(abs(stock_total[s] - ours_total[s]) < 1e-6 for s in ours_total)
        and all(abs(stock_model[s] - ours_model[s]) < 1e-6 for s in ours_model)
        and all(abs(limit_model[s] - ours_model[s]) < 1e-6 for s in ours_model)
    )
    if not identical:
        for s in sorted(ours_total):
            log(f"  {s}: total stock {stock_total.get(s)} ours {ours_total.get(s)}; model stock "
                f"{stock_model.get(s)} ours {ours_model.get(s)} limit {limit_model.get(s)}")
    return {
        "assignment": assignment, "n": n, "cores": os.cpu_count(),
        "stock_s": round(stock_s, 1), "ours_s": round(ours_s, 1), "limit_s": round(limit_s, 1),
        "speedup_vs_stock": round(stock_s / ours_s, 2), "overhead_vs_limit": round(ours_s / limit_s, 2),
        "scores_identical": identical, **checks,
        "peak_rss_mib_per_worker": memory.get("peak_rss_mib_per_worker"),
        "rss_first_third_mib": memory.get("rss_first_third_mib"),
        "rss_middle_third_mib": memory.get("rss_middle_third_mib"),
        "rss_last_third_mib": memory.get("rss_last_third_mib"),
        "workers": memory.get("workers"),
        "peak_pss_mib_per_worker_tree": memory.get("peak_pss_mib_per_worker_tree"),
        # the class's saved models scored as a grading worker scores them: a fresh warm process
        # that runs no student code, with a worker's thread share (first loads included)
        "load_scoring_per_s": round(worker_rate, 1),
        # the same, timed inside the limit's process (which also ran every notebook's cells, and
        # whose TensorFlow has every core)
        "load_scoring_per_s_in_limit": round(scoring_rate, 1),
        # Other work on the machine slows every way down: the 1-minute load before, between, after.
        "loadavg_1min": [round(x, 1) for x in load],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=30, help="submissions per assignment (default 30)")
    parser.add_argument("--assignment", action="append", help="digits and autoencoder by default")
    parser.add_argument("--workdir", type=Path, help="where the courses are built (default: a temp dir)")
    parser.add_argument("--reuse", action="store_true",
                        help="reuse the class a previous run built in --workdir (same --n)")
    parser.add_argument("--ours-only", action="store_true",
                        help="time only `autograder grade` (with and without the function checks)")
    parser.add_argument("--stock-scoring", nargs=2, metavar=("ROOT", "ASSIGNMENT"), help=argparse.SUPPRESS)
    parser.add_argument("--worker-scoring", nargs=2, metavar=("ROOT", "ASSIGNMENT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if args.stock_scoring:
        root, assignment = args.stock_scoring
        print(json.dumps(stock_scores(Path(root), assignment)))
        return 0
    if args.worker_scoring:
        root, assignment = args.worker_scoring
        print(json.dumps(worker_scoring_rate(Path(root), assignment)))
        return 0
    from autograder._env import ensure_tools_on_path

    ensure_tools_on_path()
    assignments = args.assignment or ["digits", "autoencoder"]
    with contextlib.ExitStack() as stack:
        workdir = args.workdir or Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix="grade-class-")))
        lines = [bench(workdir.resolve(), a, args.n, args.reuse, args.ours_only) for a in assignments]
    for line in lines:
        print(json.dumps(line), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
