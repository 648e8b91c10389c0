"""Grading a batch: for each submission, notebook tests (nbgrader autograde), then the model.

One submission's failure is a result (0 points with a reason), never a crashed batch. Each
finished result is written atomically, then its scores go to the gradebook, so a batch that is
interrupted can be rerun and skips what is already graded.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import shutil
import stat
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from ..check_runs import checked_parts
from ..cost import Cost, budget_overrun
from ..course import Course
from ..data import Split, load_dataset
from ..errors import SubmissionError
from ..evaluate import Measurement, measure_model_file, score_measurement
from ..gradebook import notebook_cells, read_grades, record_check_scores, record_model_scores
from ..model_reuse import thread_cache
from ..notebook import cell_failures, grade_id, read_notebook
from ..results import AWAITING_MANUAL_GRADE, PartResult, SubmissionResult, read_result, write_result
from ..spec import GradingSpec, ReferenceMetrics
from ..tasks import get_task
from .metering import SCORING, in_process, metering
from .sandbox import isolation_mode

VERSIONED_PACKAGES = ("tensorflow", "tensorflow-cpu", "keras", "numpy", "nbgrader")


def package_versions() -> dict[str, str]:
    out = {}
    for name in VERSIONED_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


@dataclass(frozen=True)
class ModelContext:
    """One graded model: its spec (a single model or one part), reference and hidden data."""

    spec: GradingSpec
    reference: ReferenceMetrics
    test: Split


@dataclass(frozen=True)
class GradingContext:
    """What every submission of one assignment is graded against (loaded once per batch)."""

    course: Course
    spec: GradingSpec
    models: tuple[ModelContext, ...]
    #: this run's function checks (its secret seed, the instructor's outputs once computed)
    checks: object = None

    @classmethod
    def load(cls, course: Course, assignment: str, mode: str | None = None) -> GradingContext:
        spec = course.spec(assignment)
        if mode:
            spec = spec.with_mode(mode)
        models = tuple(
            ModelContext(m, course.reference_metrics(m), load_dataset(m.dataset, "test"))
            for m in spec.models()
        )
        from ..check_runs import CheckRun

        return cls(course, spec, models, CheckRun(spec.checks) if spec.checks else None)

    @property
    def data_fingerprint(self) -> str:
        return _joined({m.spec.part: m.test.fingerprint for m in self.models})

    @property
    def reference_version(self) -> str:
        return _joined({m.spec.part: m.reference.version for m in self.models})


def _joined(by_part: dict[str, str]) -> str:
    """One value for a single model; ``part=value`` pairs for a multi-model assignment."""
    if len(by_part) == 1:
        return next(iter(by_part.values()))
    return ",".join(f"{part}={value}" for part, value in by_part.items())


def submission_timestamp(course: Course, assignment: str, student: str) -> str:
    path = course.submitted_dir(assignment, student) / "timestamp.txt"
    return path.read_text().strip() if path.is_file() else ""


def test_parts(ctx: GradingContext, student: str, autograde_error: str) -> tuple[PartResult, ...]:
    """One part per graded cell of every notebook (tests with nbgrader's points and the reason a
    cell failed; manually graded cells as graded by hand, or awaiting it), model cells excepted."""
    spec, course = ctx.spec, ctx.course
    grades = {(g.notebook, g.cell): g for g in read_grades(course.db_url, spec.assignment, student)}
    notebooks = spec.graded_notebooks
    parts: list[PartResult] = []
    for notebook in notebooks:
        parts += _notebook_parts(ctx, student, notebook, autograde_error, grades, several=len(notebooks) > 1)
    return tuple(parts)


def _notebook_parts(ctx: GradingContext, student: str, notebook: str, autograde_error: str,
                    grades: dict, *, several: bool) -> list[PartResult]:
    spec, course = ctx.spec, ctx.course
    model_cells = {m.model_grade_id for m in spec.models() if m.notebook == notebook}
    nb_path = course.autograded_dir(spec.assignment, student) / f"{notebook}.ipynb"
    missing = not (course.submitted_dir(spec.assignment, student) / f"{notebook}.ipynb").is_file()
    failures: dict[str, str] = {}
    present: set[str] | None = None
    if not autograde_error and nb_path.is_file():
        try:
            failures = cell_failures(nb_path)
            present = {grade_id(c) for c in read_notebook(nb_path).cells}
        except SubmissionError:
            failures = {}
    parts = []
    for cell in notebook_cells(course.db_url, spec.assignment, notebook):
        if cell.name in model_cells:
            continue  # the model's points land there (model parts)
        kind = "test" if cell.kind == "test" else "manual"
        grade = grades.get((notebook, cell.name))
        pending = False
        if autograde_error:
            points, reason = 0.0, autograde_error
        elif missing:
            points, reason = 0.0, f"the notebook '{notebook}.ipynb' is missing from the submission"
        elif grade is None:
            points, reason = 0.0, "this cell was not graded"
        elif kind == "manual":
            points = grade.score
            pending = grade.manual_score is None and grade.auto_score is None
            if pending:
                reason = AWAITING_MANUAL_GRADE
            elif points >= cell.max_points:
                reason = ""
            elif grade.manual_score is None:
                reason = "no answer: the cell is as it was released"
            else:
                reason = "graded by hand (see the instructor's comment)"
        else:
            points = grade.score
            if points >= cell.max_points:
                reason = ""
            elif present is not None and cell.name not in present:
                reason = (f"the test cell '{cell.name}' is missing from the notebook (do not delete "
                          "graded cells)")
            else:
                reason = failures.get(cell.name, "the test did not pass")
        name = f"{notebook}/{cell.name}" if several else cell.name
        parts.append(PartResult(name=name, kind=kind, points=points, max_points=cell.max_points,
                                reason=reason, notebook=notebook, pending=pending))
    return parts


def autograde_notebook(ctx: GradingContext, student: str, api) -> str:
    """Run nbgrader autograde for one student; returns an error for the student, or ''.

    nbgrader gives 0 to the cells of a notebook missing from the submission; a submission with
    none of the assignment's notebooks is not autograded at all.
    """
    folder = ctx.course.submitted_dir(ctx.spec.assignment, student)
    names = [f"{n}.ipynb" for n in ctx.spec.graded_notebooks]
    if not any((folder / name).is_file() for name in names):
        if len(names) == 1:
            return f"the notebook '{names[0]}' is missing from the submission"
        return f"none of the assignment's notebooks ({', '.join(names)}) is in the submission"
    from .kernel import violation_for

    outcome = api.autograde(ctx.spec.assignment, student, force=True, create=True)
    violation = violation_for(ctx.course.autograded_dir(ctx.spec.assignment, student))
    if violation:
        return f"the notebook was stopped: {violation}"
    if outcome.get("success"):
        return ""
    return explain_autograde_failure((outcome.get("log") or "") + "\n" + (outcome.get("error") or ""))


# What nbgrader's log says -> what the student reads. First match wins.
_AUTOGRADE_FAILURES = (
    ("DeadKernelError", "the notebook's kernel died while running (did the code exit, kill "
     "itself or crash Python?)"),
    ("Kernel died", "the notebook's kernel died while running (did the code exit, kill itself or "
     "crash Python?)"),
    ("does not appear to be JSON", "the notebook file is not valid JSON: it is corrupted; "
     "download a fresh copy or restore it and submit again"),
    ("NotJSONError", "the notebook file is not valid JSON: it is corrupted; download a fresh copy "
     "or restore it and submit again"),
    ("No such grade cell", "the notebook has a grade cell that is not in the released "
     "assignment: do not copy, create or rename graded cells"),
    ("does not have a grade_id", "a graded cell lost its nbgrader metadata: do not edit cell "
     "metadata"),
    ("metadata may be corrupted", "the notebook's nbgrader cell metadata was changed or "
     "corrupted: do not edit cell metadata"),
    ("SpecialFileError", "the submission contains a special file (e.g. a named pipe): submit "
     "regular files only"),
    ("CellTimeoutError", "a cell ran longer than the per-cell time limit"),
)


def explain_autograde_failure(log: str) -> str:
    """A sentence for the student from nbgrader's log of a failed autograde."""
    for needle, sentence in _AUTOGRADE_FAILURES:
        if needle in log:
            return f"the notebook could not be graded: {sentence}"
    generic = ("NbGraderException", "Please see the", "There was an error processing")
    lines = [ln.strip() for ln in log.splitlines() if ln.strip()]
    for line in reversed(lines):
        if re.match(r"^[\w.]+(Error|Exception)\b", line) and not any(g in line for g in generic):
            return f"the notebook could not be graded: {line[:300]}"
    return "the notebook could not be graded by nbgrader (no further detail)"


def unsafe_files(folder: Path) -> str:
    """Why a submission folder is refused (links, special files), or ''."""
    if not folder.is_dir():
        return ""
    for root, dirs, files in os.walk(folder, followlinks=False):
        for name in dirs + files:
            path = Path(root, name)
            mode = path.lstat().st_mode
            rel = path.relative_to(folder)
            if stat.S_ISLNK(mode):
                return (f"the submission contains a symbolic link '{rel}': only regular files "
                        "and folders are accepted; replace it with the file itself and submit again")
            if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                return (f"the submission contains '{rel}', which is not a regular file (a special "
                        "file such as a named pipe): submit regular files only")
    return ""


#: modules never imported by a kernel factory: they pick process-wide state (a plotting backend)
#: that the kernel sets up itself as it starts
NOT_PRELOADED = ("matplotlib.pyplot", "pylab")


def kernel_preload(course: Course, spec: GradingSpec) -> tuple[str, ...]:
    """What the assignment's kernel factories import before forking: the spec's ``preload``, else
    the installed modules the source notebooks import (so a homework without TensorFlow never
    starts it)."""
    from ..notebook_imports import installed, notebook_imports

    if spec.preload is not None:
        return spec.preload
    paths = [course.source_dir(spec.assignment) / f"{name}.ipynb" for name in spec.graded_notebooks]
    return tuple(m for m in installed(notebook_imports(paths)) if m not in NOT_PRELOADED)


def kernel_overrides(spec: GradingSpec, course: Course | None = None) -> dict[str, object]:
    """nbgrader settings of this assignment: the spec's sandbox limits for every notebook kernel,
    the files of its own hidden splits masked in them (and no other assignment's), the modules
    its warm kernel factories preload (given the ``course``), and the training cells autograde
    serves from saved models instead of training again."""
    from ..data import hidden_files
    from ..nbgrader_plugins import serve_config

    lim = spec.limits
    preload = {} if course is None else {"SandboxedKernelManager.preload": list(kernel_preload(course, spec))}
    return {
        **preload,
        "ServeSavedModels.cells": serve_config(spec.models()),
        "SandboxedKernelManager.hidden_paths": [
            str(p) for p in hidden_files(dict.fromkeys(m.dataset for m in spec.models()))
        ],
        "SandboxedKernelManager.wall_s": lim.wall_s,
        "SandboxedKernelManager.cpu_s": lim.cpu_s,
        "SandboxedKernelManager.memory_mb": lim.memory_mb,
        "SandboxedKernelManager.processes": lim.processes,
        "SandboxedKernelManager.file_size_mb": lim.file_size_mb,
        "SandboxedKernelManager.disk_mb": lim.disk_mb,
        "LimitOutputBytes.max_kb": lim.output_kb,
    }


def measure_submission(ctx: GradingContext, student: str, model: ModelContext) -> Measurement:
    """Measure one of the submission's models: its saved file (load) or a retrained one (train)."""
    spec, course = model.spec, ctx.course
    task = get_task(spec.task, course.reference_dir(spec.assignment).parent)
    if hasattr(task, "measure_notebook"):  # the task grades notebook code itself, in the sandbox
        with _scratch(course, spec, student) as scratch:
            return task.measure_notebook(_graded_notebook(ctx, student, spec), spec, scratch, model.test)
    if spec.mode == "load":
        from ..picture_cache import remember

        path = course.submitted_dir(spec.assignment, student) / spec.model_file

        def pictures(loaded) -> None:  # the report's pictures of this model, made while it is loaded
            if path.is_file() and not path.is_symlink():
                remember(course, spec.assignment, student, spec, path, loaded, model.test)

        with _scratch(course, spec, student) as scratch, in_process(SCORING, gpu=_uses_gpu()):
            return measure_model_file(path, spec, task, model.test, then=pictures, cache=thread_cache(),
                                      source=_evaluation_source(ctx, student, spec, scratch))
    from .train import train_model_from_notebook

    with _scratch(course, spec, student) as scratch:
        try:
            trained = train_model_from_notebook(_graded_notebook(ctx, student, spec), spec, scratch,
                                                kind=getattr(task, "train_job", "train"))
        except SubmissionError as exc:
            return Measurement(values={}, error=exc)
        with in_process(SCORING, gpu=_uses_gpu()):
            measured = measure_model_file(trained, spec, task, model.test, cache=thread_cache(),
                                          source=_evaluation_source(ctx, student, spec, scratch / "eval"))
        if measured.error is not None:  # name the model as the student knows it
            reason = measured.error.reason.replace(f"'{trained.name}'", "the model your code built")
            measured = Measurement(values={}, error=type(measured.error)(reason))
        return measured


def _uses_gpu() -> bool:
    """Whether this grading process runs its TensorFlow on a GPU (its scoring holds it)."""
    from ..models import current_device

    return current_device() != "CPU"


@contextlib.contextmanager
def _scratch(course: Course, spec: GradingSpec, student: str):
    """A fresh, empty scratch folder for one submission's sandboxed job, removed afterwards."""
    scratch = course.scratch_dir(spec.assignment, student)
    shutil.rmtree(scratch, ignore_errors=True)
    try:
        yield scratch
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _evaluation_source(ctx: GradingContext, student: str, spec: GradingSpec, scratch: Path):
    """Where a sandbox finds the classes of a model that needs the student's own (the submitted
    notebook: the student's code only, no hidden tests), and its scratch folders."""
    from ..sandboxed_eval import EvaluationSource

    notebook = ctx.course.submitted_dir(spec.assignment, student) / f"{spec.notebook}.ipynb"
    return EvaluationSource(notebook=notebook, spec=spec, workdir=scratch)


def _graded_notebook(ctx: GradingContext, student: str, spec: GradingSpec) -> Path:
    """The autograded notebook (hidden tests restored by nbgrader), else the submitted one."""
    name = f"{spec.notebook}.ipynb"
    autograded = ctx.course.autograded_dir(spec.assignment, student) / name
    return autograded if autograded.is_file() else ctx.course.submitted_dir(spec.assignment, student) / name


def model_parts(ctx: GradingContext, student: str, refused: str = "") -> tuple[PartResult, ...]:
    """The points of every model of the submission (all 0 with ``refused`` as the reason)."""
    parts: list[PartResult] = []
    for model in ctx.models:
        if refused:
            measurement = Measurement(values={}, error=SubmissionError(refused))
        else:
            measurement = measure_submission(ctx, student, model)
        parts.extend(dataclasses.replace(p, notebook=model.spec.notebook)
                     for p in score_measurement(model.spec, model.reference, measurement))
    return tuple(parts)


def grade_submission(ctx: GradingContext, student: str, api) -> SubmissionResult:
    """Grade one submission completely: tests, model, then record it (gradebook, result file)."""
    result = compute_submission(ctx, student, api)
    record(ctx, result)
    return result


def record(ctx: GradingContext, result: SubmissionResult) -> None:
    """Model scores into the gradebook, then the result file (its existence means "done")."""
    record_result(ctx.course, ctx.spec, result)


def record_result(course: Course, spec: GradingSpec, result: SubmissionResult) -> None:
    """:func:`record` without a grading context (which loads the hidden split): what a process
    that only records, like the grading service's, needs."""
    record_model_scores(course.db_url, spec, result)
    record_check_scores(course.db_url, result)
    write_result(result, course.result_path(spec.assignment, result.student))


def compute_submission(ctx: GradingContext, student: str, api) -> SubmissionResult:
    """Grade one submission (notebook tests via nbgrader, then the model) without recording it."""
    from ..models import current_device

    start = time.perf_counter()
    with metering() as meter:  # what the student's code and the scoring use (the cost)
        refused = unsafe_files(ctx.course.submitted_dir(ctx.spec.assignment, student))
        if refused:
            tests = test_parts(ctx, student, refused)
        else:
            error = autograde_notebook(ctx, student, api)
            tests = checked_parts(ctx, student, test_parts(ctx, student, error))
        model = model_parts(ctx, student, refused)
    model, cost = apply_budget(ctx.spec, model, meter.cost())
    result = SubmissionResult(
        assignment=ctx.spec.assignment, student=student, mode=ctx.spec.mode,
        # a tests-only assignment has no model: TensorFlow is not even imported
        parts=tests + model, device=current_device() if ctx.models else "CPU", seed=ctx.spec.seed,
        data_fingerprint=ctx.data_fingerprint, reference_version=ctx.reference_version,
        duration_s=round(time.perf_counter() - start, 2), versions=package_versions(),
        submitted_at=submission_timestamp(ctx.course, ctx.spec.assignment, student),
        isolation=isolation_mode(), cost=cost,
    )
    return result


def apply_budget(spec: GradingSpec, model: tuple[PartResult, ...],
                 cost: Cost) -> tuple[tuple[PartResult, ...], Cost]:
    """The model parts and cost once the spec's ``[cost]`` budget is checked: over it, the cost
    says why, and (``action = "zero"``) the model parts get 0 points with that reason, as when a
    training exceeds a limit; notebook test cells keep nbgrader's points."""
    over = budget_overrun(spec.cost, cost)
    if not over:
        return model, cost
    if spec.cost.action == "zero":
        model = tuple(dataclasses.replace(p, points=0.0, reason=over) for p in model)
    return model, dataclasses.replace(cost, over_budget=over)


def is_done(ctx: GradingContext, student: str) -> bool:
    """A valid result exists for this very submission in this mode (corrupt files are redone)."""
    path = ctx.course.result_path(ctx.spec.assignment, student)
    if not path.is_file():
        return False
    try:
        old = read_result(path)
    except ValueError:
        return False
    stamp = submission_timestamp(ctx.course, ctx.spec.assignment, student)
    return old.mode == ctx.spec.mode and old.submitted_at == stamp


def describe(result: SubmissionResult) -> str:
    return (
        f"{result.student}: {result.total:.2f}/{result.max_total:g} points "
        f"(tests {result.test_points:g}"
        f"{f', model {result.model_points:.2f}' if result.max_model_points else ''}"
        f"{f', extra {result.extra_credit:.2f}' if result.extra_credit else ''}"
        f"{f', {result.pending_points:g} to grade by hand' if result.pending_points else ''}) "
        f"in {result.duration_s:.1f} s on {result.device}"
    )


def grade_assignment(
    course: Course,
    assignment: str,
    *,
    mode: str | None = None,
    students: list[str] | None = None,
    force: bool = False,
    workers: int | None = None,
    executor=None,
    log: Callable[[str], None] = lambda msg: print(msg, file=sys.stderr, flush=True),
) -> list[SubmissionResult]:
    """Grade every collected submission of ``assignment`` (or only ``students``).

    Submissions already graded (same submission, same mode, a valid result file) are skipped
    unless ``force``. The rest are graded by ``executor`` (default: a
    :class:`~.executors.LocalExecutor` of ``workers`` warm worker processes, one per CPU core),
    each result recorded here as soon as it is ready, with progress, rate and ETA.
    """
    from .executors import LocalExecutor

    ctx = GradingContext.load(course, assignment, mode)
    todo = students or course.submitted_students(assignment)
    for notebook in ctx.spec.graded_notebooks if todo else ():
        notebook_cells(course.db_url, assignment, notebook)  # released? (else: say so, grade no one)
    results: dict[str, SubmissionResult] = {}
    pending = []
    for student in todo:
        if not force and is_done(ctx, student):
            result = read_result(course.result_path(assignment, student))
            log(f"{student}: already graded ({result.total:g} points), skipped")
            results[student] = result
        else:
            pending.append(student)
    progress = Progress(len(pending), log)
    executor = executor or LocalExecutor(workers)
    for result in executor.run(ctx, pending, log) if pending else ():
        record(ctx, result)
        results[result.student] = result
        progress.done(describe(result))
    return [results[s] for s in todo if s in results]


class Progress:
    """Progress lines with rate and ETA for a batch."""

    def __init__(self, total: int, log: Callable[[str], None]):
        self.total = total
        self.count = 0
        self.start = time.perf_counter()
        self.log = log

    def done(self, message: str) -> None:
        self.count += 1
        elapsed = time.perf_counter() - self.start
        rate = self.count / elapsed if elapsed > 0 else 0.0
        eta = (self.total - self.count) / rate if rate > 0 else 0.0
        self.log(f"[{self.count}/{self.total}] {message} | {rate * 60:.1f}/min, ETA {eta:.0f} s")

