"""The whole flow on the four simulated students of the demo (slow: runs notebooks and trains).

release -> fetch/fill in/run/submit through nbgrader's exchange -> collect -> autograde ->
model scored vs reference -> gradebook -> report, in load mode; then train mode on the same course.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.course import Course
from autograder.demo import DemoOutcome
from autograder.gradebook import read_grades
from autograder.reports import load_results
from autograder.runner.grade import grade_assignment

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """`autograder demo` as a user runs it, with TensorFlow asked to log everything it can."""
    folder = tmp_path_factory.mktemp("course") / "demo"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "0"}
    env.pop("AUTOGRADER_RAW_STDERR", None)
    proc = subprocess.run([str(Path(sys.executable).parent / "autograder"), "demo", "--course-dir",
                           str(folder)], capture_output=True, text=True, timeout=900, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return folder, proc


@pytest.fixture(scope="module")
def demo(demo_run):
    folder, _proc = demo_run
    course = Course.at(folder)
    report = course.report_dir("digits")
    return DemoOutcome(course=course, results={"digits": load_results(course, "digits")},
                       reports={"digits": (report / "report.csv", report / "report.html")}, seconds=0)


def test_demo_output_has_no_tensorflow_startup_lines(demo_run):
    """The fork server, kernel factories, kernels and the demo students' TensorFlow print their
    start-up notices (CPU features, absl's InitializeLog notice) to the terminal: none shows."""
    _folder, proc = demo_run
    output = proc.stdout + proc.stderr
    for needle in ("absl::InitializeLog", "cpu_feature_guard", "rebuild TensorFlow", "oneDNN", "I0000"):
        assert needle not in output, output[-3000:]
    # What the demo does still shows: its progress on stderr, the score table on stdout.
    assert "[4/4]" in proc.stderr and "collected 4 submissions" in proc.stderr
    assert "correct" in proc.stdout and "demo finished" in proc.stdout


def _by_student(results):
    return {r.student: r for r in results}


def test_correct_solution_earns_full_marks(demo):
    r = _by_student(demo.results["digits"])["correct"]
    assert r.model_points >= 0.95 * r.max_model_points
    # Every notebook test passes: TensorFlow's stderr log lines did not zero any test cell.
    assert r.test_points == sum(p.max_points for p in r.parts if p.kind == "test") == 4
    assert r.extra_credit > 0
    assert all(p.reason == "" for p in r.parts if p.kind == "test")


def test_weak_model_scores_strictly_between(demo):
    r = _by_student(demo.results["digits"])["weak_model"]
    assert 0 < r.model_points < r.max_model_points
    accuracy = next(p for p in r.parts if p.metric == "accuracy")
    assert accuracy.baseline < accuracy.value < accuracy.reference
    assert "accuracy" in accuracy.reason and "reference" in accuracy.reason


@pytest.mark.parametrize("student", ["cell_raises", "forgot_to_save"])
def test_broken_submissions_get_zero_model_points_with_reasons(demo, student):
    r = _by_student(demo.results["digits"])[student]
    model = [p for p in r.parts if p.kind == "model"]
    assert model and all(p.points == 0 and p.value is None for p in model)
    assert all("digits_model.keras" in p.reason for p in model)


def test_raising_cell_is_reported_and_other_parts_still_graded(demo):
    r = _by_student(demo.results["digits"])["cell_raises"]
    build = next(p for p in r.parts if p.name == "test_build_model")
    assert build.points == 0 and "ValueError" in build.reason and "softmaks" in build.reason
    # The student who forgot to save still gets the notebook test points: the batch went on.
    forgot = _by_student(demo.results["digits"])["forgot_to_save"]
    assert forgot.test_points == 4


def _training_cell_output(demo, student: str) -> tuple[str, str]:
    from autograder.notebook import grade_id, read_notebook

    nb = read_notebook(demo.course.autograded_dir("digits", student) / "digits.ipynb")
    cell = next(c for c in nb.cells if grade_id(c) == "train_model")
    return cell.source, "".join(o.get("text", "") for o in cell.outputs)


def test_autograde_loads_the_saved_model_instead_of_training_again(demo):
    """Never train twice: the training cell was served from the student's saved file, and the
    graded notebook still shows the student's own code."""
    source, output = _training_cell_output(demo, "correct")
    assert "model.fit(" in source and "autograder" not in source
    assert "loaded digits_model.keras, the model you saved" in output
    assert "Epoch" not in output  # verbose=2 training would print one line per epoch
    # Without a saved file the cell trains as written (its epochs are in the output).
    source, output = _training_cell_output(demo, "forgot_to_save")
    assert "Epoch" in output and "loaded digits_model.keras" not in output


def test_every_result_records_how_it_was_made(demo):
    for r in demo.results["digits"]:
        assert r.device == "CPU" or r.device.startswith("GPU")
        assert r.mode == "load"
        assert r.data_fingerprint and r.reference_version and r.submitted_at
        assert "keras" in r.versions and "nbgrader" in r.versions
        # what it cost: the notebook's kernel ran the student's code; the grader scored the model
        assert r.cost.student.cpu_s > 0 and r.cost.student.peak_memory_mb > 0
        assert r.cost.student.wall_s >= r.cost.student.cpu_s / (os.cpu_count() or 1)
    correct = next(r for r in demo.results["digits"] if r.student == "correct")
    assert correct.cost.scoring.cpu_s > 0 and correct.cost.scoring.peak_memory_mb > 100  # TensorFlow


def test_gradebook_holds_every_score(demo):
    course = demo.course
    grades = read_grades(course.db_url, "digits")
    for r in demo.results["digits"]:
        mine = {g.cell: g for g in grades if g.student == r.student}
        for p in r.parts:
            if p.kind == "test":
                assert mine[p.name].score == pytest.approx(p.points)
        task = mine["model_quality"]
        assert task.manual_score == pytest.approx(r.model_points, abs=1e-3)
        assert task.extra_credit == pytest.approx(r.extra_credit, abs=1e-3)
        assert sum(g.score for g in mine.values()) == pytest.approx(r.total, abs=1e-3)
        assert read_grades(course.db_url, "digits", r.student) == [
            g for g in grades if g.student == r.student]
    assert read_grades(course.db_url, "digits", "nobody") == []


def test_nbgrader_export_shows_model_scores(demo, tmp_path):
    out = tmp_path / "grades.csv"
    proc = subprocess.run(
        [sys.executable, "-m", "nbgrader", "export", "--to", str(out)],
        cwd=demo.course.root, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = {row["student_id"]: row for row in csv.DictReader(out.open())}
    for r in demo.results["digits"]:
        assert float(rows[r.student]["raw_score"]) == pytest.approx(r.total, abs=1e-3)
        assert float(rows[r.student]["max_score"]) == pytest.approx(r.max_total)


def test_report_files_match_results(demo):
    csv_path, html_path = demo.reports["digits"]
    rows = {row["student"]: row for row in csv.DictReader(csv_path.open())}
    assert set(rows) == {"correct", "weak_model", "cell_raises", "forgot_to_save"}
    for r in demo.results["digits"]:
        assert float(rows[r.student]["total"]) == pytest.approx(round(r.total, 2))
        assert float(rows[r.student]["gradebook_total"]) == pytest.approx(round(r.total, 2))
    page = html_path.read_text()
    assert "<table" in page and "correct" in page and "digits_model.keras" in page


def test_report_pictures_are_the_grading_workers_and_need_no_tensorflow(demo):
    """Grading stored each saved model's pictures; a report made afterwards uses them without
    importing TensorFlow, and they are the very pictures the report would have made itself."""
    import numpy as np

    from autograder.data import load_dataset
    from autograder.pictures import PICTURE_EXAMPLES, first, model_pictures

    course = demo.course
    spec = course.spec("digits")
    saved = sorted(r.student for r in demo.results["digits"]
                   if (course.submitted_dir("digits", r.student) / spec.model_file).is_file())
    assert saved and "forgot_to_save" not in saved
    stored = course.results_dir("digits") / "pictures"
    assert sorted(p.name for p in stored.glob("*.npz")) == [f"{s}.{spec.model_grade_id}.npz" for s in saved]
    code = (
        "import sys, json; from pathlib import Path; from autograder.course import Course; "
        "from autograder.pictures import class_pictures; "
        f"found = class_pictures(Course(Path({str(course.root)!r})), 'digits', {saved!r}); "
        f"print(json.dumps([sorted(found.by_model[{spec.model_grade_id!r}]), "
        "'tensorflow' in sys.modules, 'keras' in sys.modules]))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    shown = json.loads(proc.stdout.strip().splitlines()[-1])
    assert shown == [[s for s in saved if s != "cell_raises"], False, False]
    from autograder import picture_cache

    examples = first(load_dataset(spec.dataset, "test"), PICTURE_EXAMPLES)
    for student in saved:
        path = course.submitted_dir("digits", student) / spec.model_file
        kept = picture_cache.lookup(course, "digits", student, spec, path, examples.fingerprint)
        made = model_pictures(path, spec, examples)
        assert (kept is None) == (made is None)
        if made is not None:
            assert np.array_equal(kept.confusion, made.confusion) and kept.confusion.sum() == len(examples)
            assert np.array_equal(kept.mistake_images, made.mistake_images)


def test_rerun_skips_finished_submissions(demo):
    messages = []
    again = grade_assignment(demo.course, "digits", log=messages.append)
    assert len(again) == 4 and all("already graded" in m for m in messages)
    assert {r.student: r.total for r in again} == {
        r.student: r.total for r in demo.results["digits"]
    }


def test_train_mode_retrains_from_notebook_code(demo):
    results = _by_student(grade_assignment(
        demo.course, "digits", mode="train",
        students=["correct", "cell_raises", "forgot_to_save"], log=print,
    ))
    for student in ("correct", "forgot_to_save"):
        r = results[student]
        assert r.mode == "train"
        assert r.model_points >= 0.95 * r.max_model_points, r.parts
        # the training child is the student's code; the trained model's evaluation is scoring
        assert r.cost.student.cpu_s > 0 and r.cost.scoring.cpu_s > 0
    raised = [p for p in results["cell_raises"].parts if p.kind == "model"]
    assert all(p.points == 0 for p in raised)
    assert all("build_model" in p.reason and "ValueError" in p.reason for p in raised)


def _grade_cli(course, *args):
    return [sys.executable, "-m", "autograder.cli", "grade", "digits",
            "--course-dir", str(course.root), *args]


def test_batch_survives_kill_9_and_redoes_corrupt_results(demo):
    import os
    import signal
    import time

    import psutil

    from autograder.runner.sandbox import is_sandbox_uid

    course = demo.course
    results = course.root / "results" / "digits"
    for student in ("correct", "weak_model"):
        (results / f"{student}.json").unlink()
    students = ["--student", "correct", "--student", "weak_model"]
    proc = subprocess.Popen(_grade_cli(course, *students, "--workers", "1"), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 300
    while not (results / "correct.json").exists():
        assert proc.poll() is None, proc.stdout.read().decode()
        assert time.monotonic() < deadline
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    # The sandboxed kernel dies with the grader: soon nothing is left running as the sandbox user
    # (a kernel being torn down may take a moment on a loaded machine).
    # Only this course's sandboxes count (other tests may run sandboxes at the same time).
    def ours(p) -> bool:
        try:
            return Path(p.cwd()).resolve().is_relative_to(course.root.resolve())
        except (psutil.Error, OSError):
            return False

    deadline = time.monotonic() + 15
    while survivors := [p for p in psutil.process_iter(["uids", "status"])
                        if p.info["uids"] and is_sandbox_uid(p.info["uids"].real)
                        and p.info["status"] != psutil.STATUS_ZOMBIE and ours(p)]:
        assert time.monotonic() < deadline, survivors
        time.sleep(0.2)
    assert not (results / "weak_model.json").exists()

    rerun = subprocess.run(_grade_cli(course, *students), capture_output=True, text=True,
                           timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert "correct: already graded" in rerun.stderr
    assert "weak_model: already graded" not in rerun.stderr
    assert (results / "weak_model.json").exists()

    # A partial result file is detected and redone.
    path = results / "correct.json"
    path.write_text(path.read_text()[:40])
    again = subprocess.run(_grade_cli(course, "--student", "correct"), capture_output=True,
                           text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "already graded" not in again.stderr
    assert json.loads(path.read_text())["student"] == "correct"


def test_ray_executor_gives_the_local_executors_scores(demo):
    """Two submissions graded as Ray tasks on a local Ray instance score as the local pool did."""
    import ray

    from autograder.runner.executors import RayExecutor, init_ray

    students = ["correct", "weak_model"]
    local = _by_student(demo.results["digits"])
    results = demo.course.root / "results" / "digits"
    for student in students:
        (results / f"{student}.json").unlink()
    messages = []
    init_ray(ray, num_cpus=2)  # what `ray.init(num_cpus=2)` does, retried if it starts too slowly
    try:
        graded = _by_student(grade_assignment(
            demo.course, "digits", mode="load", students=students, executor=RayExecutor(),
            log=messages.append,
        ))
    finally:
        ray.shutdown()
    assert set(graded) == set(students)
    for student in students:
        ours, theirs = graded[student], local[student]
        assert [(p.name, p.points, p.value) for p in ours.parts] == [
            (p.name, p.points, p.value) for p in theirs.parts
        ]
        assert ours.total == theirs.total and ours.device == "CPU"
        # Recorded by the driver as each finished: result file and gradebook.
        saved = json.loads((results / f"{student}.json").read_text())
        assert sum(p["points"] for p in saved["parts"]) == pytest.approx(ours.total)
    task = {g.student: g for g in read_grades(demo.course.db_url, "digits")
            if g.cell == "model_quality"}
    assert all(task[s].manual_score == pytest.approx(graded[s].model_points, abs=1e-3) for s in students)
    assert any("Ray cluster: 2 CPUs, 0 GPUs" in m for m in messages)
    progress = [m for m in messages if m.startswith("[")]
    assert len(progress) == 2 and progress[-1].startswith("[2/2]") and "ETA" in progress[-1]
