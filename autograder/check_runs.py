"""Function checks, the grader's side: sandboxes for the student's and the instructor's functions,
the comparison, and the points of each checked cell.

For one grading run (:class:`CheckRun`, made with the :class:`~autograder.runner.grade.GradingContext`)
a seed is drawn with :mod:`secrets`; it stays in this process. The inputs of every check are drawn
from it. The instructor's outputs are computed once per run (per grading process), in a sandbox
that runs the source notebook's solution; they are kept in this process's memory only. For each
student, all checks of a notebook run in ONE sandbox (:mod:`autograder.runner.check_worker`) that
runs only what the checked functions need from the submitted notebook; its values come back as
plain data and are compared here (:func:`autograder.function_checks.compare`). When that code
imports a module slow to import (Keras), the sandbox is forked from this process's warm check
factory (:mod:`.runner.zygote`), which imported it once, instead of a new Python that imports it
for every submission.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import secrets
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .function_checks import FunctionCheck, compare, describe_inputs, draw_inputs
from .function_slice import function_slice
from .notebook import grade_id, read_notebook, strip_magics
from .plain_values import NotPlain, read_value, write_value
from .results import PartResult
from .spec import GradingSpec

#: the longest one call of a checked function may run (seconds)
CALL_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class CallResult:
    """One call's outcome: ``value`` (plain data) or ``error`` (a reason for the student)."""

    value: object = None
    error: str = ""


@dataclass
class CheckRun:
    """One grading run's checks: the secret seed, the inputs, the instructor's outputs (lazily,
    once)."""

    checks: tuple[FunctionCheck, ...]
    seed: int = field(default_factory=lambda: secrets.randbits(64), repr=False)
    _inputs: list | None = field(default=None, repr=False)
    _expected: dict | None = field(default=None, repr=False)
    _warm: dict = field(default_factory=dict, repr=False)

    def inputs(self) -> list[list[tuple[list, dict]]]:
        """Per check, its input sets."""
        if self._inputs is None:
            self._inputs = [draw_inputs(c, self.seed + k) for k, c in enumerate(self.checks)]
        return self._inputs

    def warm(self, course, spec: GradingSpec, notebook: str, indices: list[int]) -> tuple[str, ...]:
        """:func:`warm_modules` of the instructor's code of these checks (once per notebook): the
        students' functions import the same."""
        if notebook not in self._warm:
            functions = tuple(dict.fromkeys(self.checks[k].function for k in indices))
            self._warm[notebook] = warm_modules(course.source_dir(spec.assignment) / f"{notebook}.ipynb",
                                                functions)
        return self._warm[notebook]

    def expected(self, course, spec: GradingSpec) -> dict[tuple[int, int], CallResult]:
        """The instructor's output of every (check, set), computed once per run."""
        if self._expected is None:
            self._expected = {}
            for notebook, indices in _by_notebook(self.checks, spec).items():
                path = course.source_dir(spec.assignment) / f"{notebook}.ipynb"
                scratch = course.scratch_dir(spec.assignment, ".instructor-checks")
                self._expected.update(run_calls(path, self, indices, scratch, spec,
                                                files=assignment_files(course, spec.assignment,
                                                                       instructor=True),
                                                warm=self.warm(course, spec, notebook, indices)))
        return self._expected


def assignment_files(course, assignment: str, instructor: bool = False) -> Path | None:
    """The folder whose files (data, not notebooks) a checked function may read by relative path:
    the released assignment (nbgrader copies the source's files into it), for the instructor's
    side too, so that both sides fork from the same warm factory. Before a release (or on a Ray
    node, which gets no release folder) the instructor's side reads the source folder; a
    student's side never does (the folder is bound whole, and holds the solutions)."""
    released = course.release_dir(assignment)
    if released.is_dir():
        return released
    return course.source_dir(assignment) if instructor else None


def _by_notebook(checks: tuple[FunctionCheck, ...], spec: GradingSpec) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for k, c in enumerate(checks):
        out.setdefault(c.notebook or spec.notebook, []).append(k)
    return out


def _notebook_cells(path: Path) -> list[tuple[str, str]]:
    nb = read_notebook(path)
    return [(grade_id(c) or f"cell {i}", strip_magics(c.source))
            for i, c in enumerate(nb.cells, start=1) if c.cell_type == "code"]


def hidden_paths(spec: GradingSpec) -> tuple[Path, ...]:
    """What a check's sandbox must not read: the hidden splits and the demo's solutions."""
    from .data import hidden_files
    from .runner.train import PACKAGE_DIR

    datasets = [m.dataset for m in spec.models() if m.dataset]
    return (*hidden_files(dict.fromkeys(datasets)), PACKAGE_DIR / "demo" / "students")


def run_calls(notebook: Path, run: CheckRun, indices: list[int], workdir: Path,
              spec: GradingSpec, files: Path | None = None,
              warm: tuple[str, ...] = ()) -> dict[tuple[int, int], CallResult]:
    """Call the checks ``indices`` of ``run`` on their inputs, with the functions of ``notebook``,
    in one sandbox. ``files``: a folder whose files (not notebooks) the notebook's code may read
    by relative path (the released or source assignment: its ``data/``), read-only. ``warm``:
    modules worth importing once for all submissions (:func:`warm_modules`): the sandbox is then
    a process forked from a warm factory that imported them (:mod:`.runner.warm_kernels`), when
    this machine has one.

    Every call gets a result; a sandbox that could not run at all gives each the same reason.
    """
    from .runner.sandbox import Sandbox
    from .runner.train import PACKAGE_DIR, _read_status

    keys = [(k, s) for k in indices for s in range(run.checks[k].sets)]
    functions = tuple(dict.fromkeys(run.checks[k].function for k in indices))
    try:
        cells = _notebook_cells(notebook)
    except Exception as exc:  # noqa: BLE001 - an unreadable notebook is a reason for every call
        return {key: CallResult(error=f"the notebook could not be read: {exc}") for key in keys}
    sliced = function_slice(cells, functions)
    Path(workdir).mkdir(parents=True, exist_ok=True)
    run_dir = Path(tempfile.mkdtemp(prefix="checks-", dir=workdir))
    try:
        readonly = [PACKAGE_DIR]
        if files is not None and Path(files).is_dir():
            readonly.append(Path(files).resolve())
            for entry in Path(files).iterdir():
                if entry.suffix != ".ipynb" and not entry.name.startswith("."):
                    (run_dir / entry.name).symlink_to(entry.resolve())
        calls = []
        inputs = run.inputs()
        for n, (k, s) in enumerate(keys):
            args, kwargs = inputs[k][s]
            calls.append({"function": run.checks[k].function,
                          "args": write_value(args, run_dir, f"in-{n}-0"),
                          "kwargs": write_value(kwargs, run_dir, f"in-{n}-1")})
        token = secrets.token_hex(16)
        job = {"cells": [list(c) for c in sliced.cells], "calls": calls, "token": token,
               "call_timeout_s": CALL_TIMEOUT_S}
        box = Sandbox(scratch=run_dir, readonly=tuple(readonly), hidden=hidden_paths(spec),
                      limits=spec.limits)
        outcome = (warm and _run_forked(run_dir, job, box, warm)) or _run_cold(run_dir, job, box)
        status = _read_status(run_dir / "status.json", token)
        if outcome.violation or status is None:
            last = ((outcome.stderr or "").strip().splitlines() or ["no output"])[-1][:200]
            why = outcome.violation or (
                f"the process running your functions exited (exit code {outcome.returncode}) before "
                f"giving results back ({last})")
            return {key: CallResult(error=f"the functions could not be checked: {why}") for key in keys}
        results = status.get("results")
        failed = status.get("failed") if isinstance(status.get("failed"), list) else []
        failed = [str(f) for f in failed][:3]
        out = {}
        for n, key in enumerate(keys):
            r = results[n] if isinstance(results, list) and n < len(results) else None
            out[key] = _call_result(r, run.checks[key[0]].function, run_dir, sliced, failed)
        return out
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


@dataclass(frozen=True)
class SandboxRun:
    """How a check's sandbox ended: a limit it broke, its exit code, what it printed."""

    violation: str | None
    returncode: int | None
    stderr: str


WORKER = "autograder.runner.check_worker"


def _run_cold(run_dir: Path, job: dict, box) -> SandboxRun:
    """The check worker in a fresh sandbox (a new Python: every import done again)."""
    from .runner.sandbox import run_sandboxed
    from .sandboxed_eval import package_env

    job = {**job, "folder": str(run_dir), "status": str(run_dir / "status.json")}
    (run_dir / "job.json").write_text(json.dumps(job))
    outcome = run_sandboxed([sys.executable, "-m", WORKER, str(run_dir / "job.json")], box,
                            env=package_env())
    return SandboxRun(outcome.violation, outcome.returncode, outcome.stderr or "")


#: what the forked check worker writes its output to (in its folder; copied back after)
OUTPUT = ".check-output"


def _run_forked(run_dir: Path, job: dict, box, modules: tuple[str, ...]) -> SandboxRun | None:
    """The check worker forked from this process's warm check factory (``modules`` imported
    once), in a sandbox like ``box``, watched like it; None when there is no such factory here
    (the caller then starts a cold sandbox)."""
    import subprocess

    from .runner.metering import record
    from .runner.sandbox import Watchdog
    from .runner.train import PACKAGE_DIR
    from .runner.warm_kernels import FactoryError, FactoryKey, drop_factory, take_factory
    from .sandboxed_eval import package_env

    key = FactoryKey(box.limits, tuple(map(str, box.readonly)), tuple(map(str, box.hidden)), modules)
    factory = take_factory(key, slot="checks")
    if factory is None:
        return None
    work = factory.work
    job = {**job, "folder": str(work), "status": str(work / "status.json")}
    (run_dir / "job.json").write_text(json.dumps(job))
    try:
        forked = factory.fork(run_dir, [str(work / "job.json")], package_env(), module=WORKER,
                              path=(str(PACKAGE_DIR.parent),), output=str(work / OUTPUT))
    except (FactoryError, OSError) as exc:
        print(f"autograder: warm check factory failed ({exc}); checks start cold", file=sys.stderr)
        drop_factory(factory)
        return None
    dog = Watchdog(forked.pid, factory.box)
    dog.start()
    code: int | None = None
    try:
        code = forked.wait(timeout=box.limits.wall_s + 10)
    except subprocess.TimeoutExpired:
        dog.kill(f"time limit of {box.limits.wall_s:g} s exceeded")
        with contextlib.suppress(subprocess.TimeoutExpired):
            code = forked.wait(timeout=30)
    finally:
        dog.stop()
        record(factory.box.purpose, dog.usage())  # the submission's cost
    if code is None:  # not even a kill ended it: this factory is not to be trusted again
        drop_factory(factory)
        return SandboxRun(dog.reason, None, "")
    try:
        factory.finish(run_dir)  # what the worker wrote comes back to run_dir
    except (FactoryError, OSError) as exc:
        drop_factory(factory)
        return SandboxRun(dog.reason or f"the checks' sandbox did not clean up ({exc})", code, "")
    try:
        output = (run_dir / OUTPUT).read_text(errors="replace")[-4000:]
    except OSError:
        output = ""
    return SandboxRun(dog.reason, code, output)


def warm_modules(notebook: Path, functions: tuple[str, ...]) -> tuple[str, ...]:
    """The installed modules the code of ``functions`` in ``notebook`` imports, when one of them is
    slow to import (not the standard library, not numpy): worth a warm factory. Else ``()``: a
    fresh sandbox starts quickly enough."""
    from .notebook_imports import imports_of, installed

    try:
        sliced = function_slice(_notebook_cells(notebook), functions)
    except Exception:  # noqa: BLE001 - no warm factory; the check itself reports the notebook
        return ()
    modules = installed(dict.fromkeys(m for _, code in sliced.cells for m in imports_of(code)))
    light = set(sys.stdlib_module_names) | {"numpy"}
    return modules if any(m.split(".")[0] not in light for m in modules) else ()


def _call_result(r, function: str, run_dir: Path, sliced, failed: list[str]) -> CallResult:
    if not isinstance(r, dict):
        return CallResult(error=f"{function} gave no result back")
    if r.get("ok"):
        try:
            return CallResult(value=read_value(r.get("value"), run_dir))
        except NotPlain as exc:
            return CallResult(error=f"{function} returned {exc}")
    why, message = r.get("why"), str(r.get("message", ""))[:300]
    if why == "missing":
        where = f" ({'; '.join(failed)})" if failed else ""
        if function in sliced.missing:
            return CallResult(error=f"the notebook defines no function '{function}' at the top level "
                                    f"of a cell{where}: keep its def in the notebook you submit")
        return CallResult(error=f"'{function}' could not be defined{where}")
    if why == "timeout":
        return CallResult(error=f"{function} ran longer than {message} on one input set")
    if why == "kind":
        return CallResult(error=f"{function} returned {message}")
    hint = f" (after {'; '.join(failed)})" if failed and "NameError" in message else ""
    return CallResult(error=f"{function} raised {message}{hint}")


@dataclass(frozen=True)
class CellVerdict:
    """The points of one checked cell, as a fraction of its maximum, and why points were lost."""

    fraction: float
    reason: str = ""


def verdicts(run: CheckRun, spec: GradingSpec, student: dict[tuple[int, int], CallResult],
             expected: dict[tuple[int, int], CallResult]) -> dict[tuple[str, str], CellVerdict]:
    """Per ``(notebook, cell)``: the check's verdict (all sets must match unless partial credit)."""
    per_cell: dict[tuple[str, str], list[tuple[float, str]]] = {}
    inputs = run.inputs()
    for k, check in enumerate(run.checks):
        matched, first = 0, ""
        for s in range(check.sets):
            want, got = expected.get((k, s)), student.get((k, s), CallResult(error="not run"))
            if want is None or want.error:
                raise InstructorCheckError(
                    f"the instructor's {check.function} failed on generated inputs "
                    f"{describe_inputs(*inputs[k][s])}: {want.error if want else 'not run'}")
            reason = got.error or compare(got.value, want.value, check,
                                          f"the result of {check.function}")
            if reason:
                first = first or (f"{reason}, on inputs {describe_inputs(*inputs[k][s])}"
                                  if not got.error else reason)
            else:
                matched += 1
        fraction = matched / check.sets
        if fraction < 1:
            first = (f"function check of {check.function}: {matched} of {check.sets} input sets "
                     f"match the expected result; {first}")
        per_cell.setdefault((check.notebook or spec.notebook, check.cell), []).append(
            (fraction if check.partial_credit else float(fraction == 1), first))
    return {key: CellVerdict(sum(f for f, _ in v) / len(v), "; ".join(r for _, r in v if r))
            for key, v in per_cell.items()}


class InstructorCheckError(RuntimeError):
    """The instructor's solution could not produce an expected result (``autograder check``
    reports it before grading)."""


def checked_parts(ctx, student: str, parts: tuple[PartResult, ...]) -> tuple[PartResult, ...]:
    """``parts`` with the points of every checked test cell decided by its function checks.

    A checked cell gets the check's points, capped by what the cell earned when it ran in the
    student's kernel: tampering in the kernel can only lower a cell, never raise it past the
    check, and a cell the kernel already failed (a missing notebook, a limit, a failed assert
    on something else than the function) keeps its 0 and its reason; its sandbox is not started.
    """
    run: CheckRun | None = getattr(ctx, "checks", None)
    spec = ctx.spec
    if run is None or not run.checks:
        return parts

    def key_of(part: PartResult) -> tuple[str, str]:
        return (part.notebook or spec.notebook, part.name.rsplit("/", 1)[-1])

    checked = {(c.notebook or spec.notebook, c.cell) for c in run.checks}
    earned = {key_of(p) for p in parts if p.kind == "test" and p.points > 0 and key_of(p) in checked}
    if not earned:
        return parts
    course = ctx.course
    try:
        expected = run.expected(course, spec)
    except Exception as exc:  # noqa: BLE001 - the grader's own failure: keep nbgrader's points
        print(f"function checks skipped: {exc}", file=sys.stderr)
        return parts
    student_results: dict[tuple[int, int], CallResult] = {}
    for notebook, indices in _by_notebook(run.checks, spec).items():
        path = course.submitted_dir(spec.assignment, student) / f"{notebook}.ipynb"
        if not any((notebook, run.checks[k].cell) in earned for k in indices):
            continue
        if not path.is_file() or path.is_symlink():
            continue
        student_results.update(run_calls(path, run, indices,
                                         course.scratch_dir(spec.assignment, student) / "checks",
                                         spec, files=assignment_files(course, spec.assignment),
                                         warm=run.warm(course, spec, notebook, indices)))
    try:
        found = verdicts(run, spec, student_results, expected)
    except InstructorCheckError as exc:
        print(f"function checks skipped: {exc}", file=sys.stderr)
        return parts
    out = []
    for part in parts:
        key = key_of(part)
        if part.kind != "test" or key not in earned:
            out.append(part)
            continue
        verdict = found[key]
        points = min(part.points, round(verdict.fraction * part.max_points, 4))
        reason = part.reason if points >= part.points else verdict.reason
        functions = ",".join(dict.fromkeys(c.function for c in run.checks
                                           if (c.notebook or spec.notebook, c.cell) == key))
        out.append(dataclasses.replace(part, points=points,
                                       reason=reason if points < part.max_points else "",
                                       checked_by=functions))
    return tuple(out)
