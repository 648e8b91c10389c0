"""Function checks, the grader's side: sandboxes for the student's and the instructor's functions,
the comparison, and the points of each checked cell.

For one grading run (:class:`CheckRun`, made with the :class:`~autograder.runner.grade.GradingContext`)
a seed is drawn with :mod:`secrets`; it stays in this process. The inputs of every check are drawn
from it. The instructor's outputs are computed once per run (per grading process), in a sandbox
that runs the source notebook's solution; they are kept in this process's memory only. For each
student, all checks of a notebook run in ONE sandbox (:mod:`autograder.runner.check_worker`) that
runs only what the checked functions need from the submitted notebook; its values come back as
plain data and are compared here (:func:`autograder.function_checks.compare`).
"""

from __future__ import annotations

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

    def inputs(self) -> list[list[tuple[list, dict]]]:
        """Per check, its input sets."""
        if self._inputs is None:
            self._inputs = [draw_inputs(c, self.seed + k) for k, c in enumerate(self.checks)]
        return self._inputs

    def expected(self, course, spec: GradingSpec) -> dict[tuple[int, int], CallResult]:
        """The instructor's output of every (check, set), computed once per run."""
        if self._expected is None:
            self._expected = {}
            for notebook, indices in _by_notebook(self.checks, spec).items():
                path = course.source_dir(spec.assignment) / f"{notebook}.ipynb"
                scratch = course.scratch_dir(spec.assignment, ".instructor-checks")
                self._expected.update(run_calls(path, self, indices, scratch, spec,
                                                files=course.source_dir(spec.assignment)))
        return self._expected


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
              spec: GradingSpec, files: Path | None = None) -> dict[tuple[int, int], CallResult]:
    """Call the checks ``indices`` of ``run`` on their inputs, with the functions of ``notebook``,
    in one sandbox. ``files``: a folder whose files (not notebooks) the notebook's code may read
    by relative path (the released or source assignment: its ``data/``), read-only.

    Every call gets a result; a sandbox that could not run at all gives each the same reason.
    """
    from .runner.sandbox import Sandbox, run_sandboxed
    from .runner.train import PACKAGE_DIR, _read_status
    from .sandboxed_eval import package_env

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
        job = {"cells": [list(c) for c in sliced.cells], "calls": calls, "folder": str(run_dir),
               "status": str(run_dir / "status.json"), "token": token,
               "call_timeout_s": CALL_TIMEOUT_S}
        (run_dir / "job.json").write_text(json.dumps(job))
        box = Sandbox(scratch=run_dir, readonly=tuple(readonly), hidden=hidden_paths(spec),
                      limits=spec.limits)
        outcome = run_sandboxed([sys.executable, "-m", "autograder.runner.check_worker",
                                 str(run_dir / "job.json")], box, env=package_env())
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
                                         spec, files=course.release_dir(spec.assignment)))
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
