"""Tests for autograder.runner.bundle and .shipping: grading on machines that do not share the course.

The end-to-end test starts a second Ray node on this machine in a mount namespace where the course
(and the hidden split beside it) does not exist, and grades there.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import nbformat
import pytest
from own_course import (
    ASSIGNMENT,
    HW3_CELLS,
    MODEL_ASSIGNMENT,
    nbgrader,
    submit,
    write_course,
    write_model_course,
)

from autograder.course import Course
from autograder.gradebook import read_grades
from autograder.runner.bundle import (
    GRADEBOOK,
    BundleError,
    course_members,
    node_course,
    pack_bundle,
    relocated,
)
from autograder.runner.executors import LocalExecutor, RayExecutor, import_ray, init_ray
from autograder.runner.grade import GradingContext, grade_assignment
from autograder.runner.shipping import ShippedResult, WorkerError, grade_shipped, receive

SPEC = '''assignment = "hw3"
notebook = "hw3"
task = "classifier"
mode = "load"
seed = 1234
model_file = "iris_model.keras"
model_grade_id = "model_quality"

[dataset]
format = "csv"
train = "source/hw3/data/train.csv"
hidden = "{hidden}"
label = "species"

[train]
cells = ["imports", "build_model"]

[autograde]
training_cell = "train_model"
model_variable = "model"

[[metrics]]
name = "accuracy"
points = 4
baseline = "majority_class"
'''


@pytest.fixture(scope="module")
def tests_only_course(tmp_path_factory):
    """The instructor's own tests-only course (``hw1``), released, with its submissions."""
    root = write_course(tmp_path_factory.mktemp("shipping") / "course")
    submit(root)
    return Course.at(root)


def _bundle_names(bundle) -> set[str]:
    with tarfile.open(fileobj=io.BytesIO(bundle.archive)) as tar:
        return set(tar.getnames())


def test_a_bundle_holds_what_grading_reads_and_a_gradebook_snapshot(tests_only_course):
    ctx = GradingContext.load(tests_only_course, ASSIGNMENT)
    assert [str(p) for p in course_members(tests_only_course, ctx.spec)] == [
        "nbgrader_config.py", f"source/{ASSIGNMENT}"]  # no reference_models folder: none to ship
    bundle = pack_bundle(ctx)
    names = _bundle_names(bundle)
    assert {"nbgrader_config.py", f"source/{ASSIGNMENT}/arith.ipynb", GRADEBOOK} <= names
    assert not any(n.startswith(("submitted", "release", "autograded")) for n in names)
    assert bundle.shared_db_url is None and bundle.driver_root == str(tests_only_course.root)


def test_a_node_unpacks_a_bundle_once_and_grades_against_its_snapshot(tests_only_course, tmp_path):
    bundle = pack_bundle(GradingContext.load(tests_only_course, ASSIGNMENT))
    fetched = []

    def fetch():
        fetched.append(1)
        return bundle

    root = node_course(bundle.digest, fetch, tmp_path)
    assert node_course(bundle.digest, fetch, tmp_path) == root and len(fetched) == 1
    ctx = relocated(bundle, root)
    assert ctx.course.db_url == f"sqlite:///{root / GRADEBOOK}"
    assert (root / "source" / ASSIGNMENT / "strings.ipynb").is_file()


def test_a_node_draws_its_own_secret_seed_for_function_checks(tests_only_course, tmp_path):
    """Checks are applied on a Ray node too; the driver's seed never travels in the bundle."""
    from autograder.function_checks import parse_checks

    ctx = GradingContext.load(tests_only_course, ASSIGNMENT)
    checks = parse_checks([{"cell": "test_add", "function": "add",
                            "args": [{"kind": "int", "low": 0, "high": 9}] * 2}], "spec.toml")
    ctx = dataclasses.replace(ctx, spec=dataclasses.replace(ctx.spec, checks=checks))
    from autograder.check_runs import CheckRun

    ctx = dataclasses.replace(ctx, checks=CheckRun(checks))
    bundle = pack_bundle(ctx)
    assert str(ctx.checks.seed) not in repr(bundle.spec)
    node = relocated(bundle, node_course(bundle.digest, lambda: bundle, tmp_path))
    assert node.spec.checks == checks and node.checks is not None
    assert node.checks.seed != ctx.checks.seed


def test_a_node_that_cannot_unpack_the_bundle_says_so(tests_only_course, tmp_path, monkeypatch):
    bundle = pack_bundle(GradingContext.load(tests_only_course, ASSIGNMENT))
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    with pytest.raises(BundleError, match="cannot unpack the grading bundle into"):
        node_course(bundle.digest, lambda: bundle, blocker)
    monkeypatch.setenv("AUTOGRADER_BUNDLE_DIR", str(blocker))
    with pytest.raises(WorkerError, match="Ray worker on .* cannot grade: cannot unpack the grading bundle"):
        grade_shipped(bundle.digest, [bundle], "correct", b"")


def test_outputs_outside_the_students_own_are_refused(tests_only_course, tmp_path):
    course = Course(tmp_path)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in ((f"autograded/ann/{ASSIGNMENT}/arith.ipynb", b"{}"),
                           (f"results/{ASSIGNMENT}/pictures/ann.test.npz", b"x"),
                           (f"results/{ASSIGNMENT}/ann.json", b"forged"),
                           (f"autograded/bob/{ASSIGNMENT}/arith.ipynb", b"{}"),
                           ("nbgrader_config.py", b"import os")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo(f"autograded/ann/{ASSIGNMENT}/secret")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(link)
    refused = receive(course, ASSIGNMENT, "ann", ShippedResult({}, buf.getvalue(), None, "node"))
    assert sorted(refused) == sorted([f"results/{ASSIGNMENT}/ann.json", "nbgrader_config.py",
                                      f"autograded/bob/{ASSIGNMENT}/arith.ipynb",
                                      f"autograded/ann/{ASSIGNMENT}/secret"])
    assert (tmp_path / "autograded" / "ann" / ASSIGNMENT / "arith.ipynb").is_file()
    assert (tmp_path / "results" / ASSIGNMENT / "pictures" / "ann.test.npz").is_file()
    assert not (tmp_path / "nbgrader_config.py").exists()


def test_a_ray_worker_that_cannot_grade_says_why_without_a_traceback(tests_only_course, tmp_path,
                                                                     monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("AUTOGRADER_BUNDLE_DIR", str(blocker))  # Ray's local workers inherit it
    ray = import_ray()
    init_ray(ray, num_cpus=1)
    try:
        messages = []
        ctx = GradingContext.load(tests_only_course, ASSIGNMENT)
        results = list(RayExecutor().run(ctx, ["correct", "empty"], messages.append))
    finally:
        ray.shutdown()
    assert results == []
    failures = [m for m in messages if "not graded, will retry on rerun" in m]
    assert sorted(m.split(":")[0] for m in failures) == ["correct", "empty"]
    assert all("cannot unpack the grading bundle" in m and "Traceback" not in m for m in failures)
    assert not (tests_only_course.root / "results").exists()


def test_the_grading_service_grades_through_ray_as_a_batch_does(tests_only_course, tmp_path):
    from autograder.hub.graders import RayGrader

    courses = {k: Course.at(shutil.copytree(tests_only_course.root, tmp_path / k)) for k in ("ray", "local")}
    batch = {r.student: r for r in grade_assignment(courses["local"], ASSIGNMENT,
                                                     students=["correct", "empty"],
                                                     executor=LocalExecutor(1), log=lambda m: None)}
    ray, messages, grader = import_ray(), [], RayGrader()
    init_ray(ray, num_cpus=1)
    try:
        grader.start(courses["ray"], (ASSIGNMENT,), messages.append)
        futures = {s: grader.submit(courses["ray"], ASSIGNMENT, s) for s in ("correct", "empty")}
        served = {s: grader.finish(courses["ray"], ASSIGNMENT, s, f.result(timeout=300), messages.append)
                  for s, f in futures.items()}
    finally:
        grader.close()
        ray.shutdown()
    assert any(f"grading bundle of {ASSIGNMENT}" in m for m in messages)
    assert set(served) == set(batch) == {"correct", "empty"}
    for student, result in served.items():
        assert [(p.name, p.points) for p in result.parts] == [
            (p.name, p.points) for p in batch[student].parts]
        assert courses["ray"].result_path(ASSIGNMENT, student).is_file()  # recorded by the service
    assert served["correct"].total > served["empty"].total

    def gradebook(course):
        return sorted((g.student, g.cell, g.score) for g in read_grades(course.db_url, ASSIGNMENT)
                      if g.student in served)

    assert gradebook(courses["ray"]) == gradebook(courses["local"])


# --- a second Ray node that does not see the course ---------------------------------------------


def _student(root: Path, name: str, epochs: int) -> None:
    """A submission: the released notebook with the solution, and a model trained ``epochs``."""
    import keras
    import numpy as np

    folder = root / "submitted" / name / MODEL_ASSIGNMENT
    shutil.copytree(root / "release" / MODEL_ASSIGNMENT, folder)
    nb = nbformat.read(folder / f"{MODEL_ASSIGNMENT}.ipynb", as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") in ("build_model", "train_model"):
            cell.source = HW3_CELLS[cell.metadata.nbgrader.grade_id]
    nbformat.write(nb, folder / f"{MODEL_ASSIGNMENT}.ipynb")
    data = np.loadtxt(folder / "data" / "train.csv", delimiter=",", skiprows=1)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(data[:, :4].astype("float32"), data[:, 4].astype("int64"), epochs=epochs, verbose=0)
    model.save(folder / "iris_model.keras")
    (folder / "timestamp.txt").write_text("2026-12-01 10:00:00.000000 UTC")


@pytest.fixture(scope="module")
def model_course(tmp_path_factory):
    """``hw3`` (a classifier on the instructor's csv, hidden split outside the course), released,
    two submissions; two copies of it (``local``, ``remote``), nothing graded yet. The hidden split
    and both copies lie in one folder, which the second node does not see."""
    base = tmp_path_factory.mktemp("cluster")
    root = base / "template"
    _train, hidden = write_model_course(root, base / "private")
    nbgrader(root, "generate_assignment", MODEL_ASSIGNMENT, "--force")
    ref = root / "reference_models" / MODEL_ASSIGNMENT
    ref.mkdir(parents=True)
    (ref / "spec.toml").write_text(SPEC.format(hidden=hidden))
    from autograder.data import load_dataset

    spec = Course.at(root).spec(MODEL_ASSIGNMENT)
    (ref / "metrics.json").write_text(json.dumps({
        "reference": {"accuracy": 0.93}, "baseline": {"accuracy": {"majority_class": 0.3}},
        "data_fingerprint": load_dataset(spec.dataset, "test").fingerprint, "version": "x"}))
    _student(root, "trained", epochs=40)
    _student(root, "untrained", epochs=0)
    copies = {name: Course.at(shutil.copytree(root, base / name)) for name in ("local", "remote")}
    return base, copies


def _namespace(masked: Path) -> tuple[list[str], str] | None:
    """How to start a process that sees neither ``masked`` nor this machine's temporary folder (a
    fresh, empty one, as on another machine; this checkout, with its Python, bound back in when it
    lives there): as root, a mount namespace; otherwise a user namespace that mounts, then a nested
    one that is this user again (so the grader is not root in it and sandboxes stay unprivileged).
    None: neither works here."""
    if not shutil.which("unshare"):
        return None
    tmp, repo = Path(tempfile.gettempdir()).resolve(), Path(__file__).resolve().parents[1]
    mounts = [f"mount -t tmpfs none {shlex.quote(str(p))}" for p in dict.fromkeys([masked, tmp])]
    prefix = Path(sys.prefix).resolve()
    if prefix.is_relative_to(tmp) and not prefix.is_relative_to(repo):
        return None  # a Python in the temporary folder, outside this checkout: nothing to run there
    if repo.is_relative_to(tmp):
        # the working folder keeps the checkout reachable under the fresh temporary folder
        q = shlex.quote(str(repo))
        mounts = [f"cd {q}", *mounts, f"mkdir -p {q}", f"mount --no-canonicalize --bind . {q}", "cd /"]
    mount = " && ".join(mounts)
    if os.geteuid() == 0:
        outer, inner = ["unshare", "--mount", "--propagation", "private"], ""
    else:
        outer = ["unshare", "--user", "--map-root-user", "--mount"]
        inner = f"unshare --user --map-user={os.getuid()} --map-group={os.getgid()} "
    check = f"test ! -e {shlex.quote(str(masked))}/x -a -e {shlex.quote(str(repo / 'autograder'))}"
    probe = subprocess.run([*outer, "sh", "-c", f"{mount} && {inner}{check}"], capture_output=True,
                           timeout=30)
    return (outer, f"{mount} && exec {inner}") if probe.returncode == 0 else None


def _stop(proc: subprocess.Popen) -> None:
    for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue
        except ProcessLookupError:
            return


@pytest.mark.slow
def test_a_ray_node_without_the_course_grades_as_the_local_executor(model_course):
    base, courses = model_course
    (base / "x").write_text("")  # what the namespace probe must not see
    namespace = _namespace(base)
    if namespace is None:
        pytest.skip("user or mount namespaces are unavailable here (unshare cannot mount a tmpfs)")
    outer, prefix = namespace
    local = {r.student: r for r in grade_assignment(courses["local"], MODEL_ASSIGNMENT,
                                                     executor=LocalExecutor(1), log=lambda m: None)}

    ray = import_ray()
    init_ray(ray, num_cpus=0, object_store_memory=80 * 2**20)  # the head runs no task
    node = None
    try:
        bin_dir = Path(sys.executable).parent
        start = (f"{bin_dir / 'ray'} start --address={ray.get_runtime_context().gcs_address} --num-cpus=1 "
                 f"--resources='{{\"nocourse\": 1}}' --object-store-memory={80 * 2**20} --block "
                 "--disable-usage-stats")
        env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
        node = subprocess.Popen([*outer, "sh", "-c", prefix + start], cwd="/", env=env,
                                start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        end = time.monotonic() + 120
        while ray.cluster_resources().get("nocourse", 0) < 1:
            assert node.poll() is None and time.monotonic() < end, "the second Ray node did not start"
            time.sleep(0.5)

        @ray.remote(num_cpus=1, resources={"nocourse": 1})
        def sees(path: str) -> bool:
            return os.path.exists(path)

        # the only node with a CPU does not see the course, nor the hidden split beside it
        assert ray.get(sees.remote(str(courses["remote"].root))) is False
        messages = []
        remote = {r.student: r for r in grade_assignment(courses["remote"], MODEL_ASSIGNMENT,
                                                          executor=RayExecutor(), log=messages.append)}
    finally:
        if node is not None:
            _stop(node)
        ray.shutdown()

    assert set(remote) == set(local) == {"trained", "untrained"}
    for student, ours in remote.items():
        theirs = local[student]
        assert [(p.name, p.points, p.reason) for p in ours.parts] == [
            (p.name, p.points, p.reason) for p in theirs.parts]
        assert [p.value for p in ours.parts] == pytest.approx([p.value for p in theirs.parts])
        assert ours.data_fingerprint == theirs.data_fingerprint and ours.isolation == theirs.isolation
    assert remote["trained"].total > remote["untrained"].total
    assert remote["trained"].test_points == 1  # the notebook's own test ran on the node
    assert any("grading bundle of hw3" in m for m in messages)

    def gradebook(course):
        return sorted((g.student, g.notebook, g.cell, g.score, g.auto_score, g.manual_score)
                      for g in read_grades(course.db_url, MODEL_ASSIGNMENT))

    assert gradebook(courses["remote"]) == gradebook(courses["local"])  # autograde's rows came back
    for student in remote:
        for name in ("autograded/{s}/hw3/hw3.ipynb", "results/hw3/pictures/{s}.model_quality.npz"):
            assert (courses["local"].root / name.format(s=student)).is_file()
            assert (courses["remote"].root / name.format(s=student)).is_file(), name
        graded = nbformat.read(courses["remote"].autograded_dir(MODEL_ASSIGNMENT, student) / "hw3.ipynb", 4)
        assert any(c.get("outputs") for c in graded.cells if c.cell_type == "code")
        assert not (courses["remote"].root / ".scratch").exists()
