"""``autograder check ASSIGNMENT``: every mismatch between spec, notebooks, data and reference,
one line each with its fix, before a single student is graded (in the spirit of ``ruff check``).

The checks read files only: no notebook runs, no model is trained, TensorFlow is not imported.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .course import Course
from .errors import AutograderError, SpecError
from .source_notebooks import SourceCell, readable_cells
from .spec import METRICS_FILE, SPEC_FILE, GradingSpec, load_spec


@dataclass(frozen=True)
class Problem:
    """One thing to fix: the file it is in (relative to the course) and what to do."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


def check_assignment(course: Course, assignment: str) -> list[Problem]:
    """Every problem of ``assignment`` that can be found without grading anyone."""
    spec_path = course.reference_dir(assignment) / SPEC_FILE
    problems: list[Problem] = []
    where = _rel(course, spec_path)
    raw: dict[str, Any] = {}
    spec: GradingSpec | None = None
    if spec_path.is_file():
        try:
            raw = tomllib.loads(spec_path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            return [Problem(where, f"not valid TOML: {exc}")]
        try:
            spec = load_spec(course.reference_dir(assignment))
        except SpecError as exc:
            problems.append(Problem(where, _without_prefix(str(exc), spec_path)))
    else:
        try:
            spec = course.spec(assignment)
        except SpecError as exc:
            return [Problem(_rel(course, course.source_dir(assignment)), str(exc))]
    problems += _notebook_problems(course, assignment, raw, spec, where)
    problems += _release_problems(course, assignment, raw, spec)
    if spec is not None and spec.checks:
        problems += _function_check_problems(course, spec, where)
    if spec is not None:
        problems += _model_problems(course, spec, where)
    return problems


def _rel(course: Course, path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(course.root))
    except ValueError:
        return str(path)


def _without_prefix(message: str, path: Path) -> str:
    for prefix in (f"{path}: ", f"{path.name}: "):
        if message.startswith(prefix):
            return message[len(prefix):]
    return message


# --- spec against notebooks --------------------------------------------------------------------


@dataclass(frozen=True)
class _Model:
    """A model as the raw spec names it (checked even when the spec does not parse)."""

    label: str
    notebook: str
    grade_id: str
    model_file: str
    cells: tuple[str, ...]
    training_cell: str


def _raw_models(raw: dict[str, Any]) -> Iterator[_Model]:
    if raw.get("tests_only"):
        return
    shared = {k: v for k, v in raw.items() if k != "parts"}
    parts = raw.get("parts") if isinstance(raw.get("parts"), list) else [{}]
    for part in parts:
        if not isinstance(part, dict):
            continue
        merged = {**shared, **part}
        train = merged.get("train") if isinstance(merged.get("train"), dict) else {}
        autograde = merged.get("autograde") if isinstance(merged.get("autograde"), dict) else {}
        cells = train.get("cells", []) if isinstance(train.get("cells", []), list) else []
        yield _Model(
            label=f"part {part['name']!r}: " if part.get("name") else "",
            notebook=str(merged.get("notebook", "")), grade_id=str(merged.get("model_grade_id", "")),
            model_file=str(merged.get("model_file", "")), cells=tuple(str(c) for c in cells),
            training_cell=str(autograde.get("training_cell", "")),
        )


def _named_notebooks(raw: dict[str, Any], spec: GradingSpec | None) -> list[str]:
    if spec is not None:
        return list(spec.graded_notebooks)
    names = [n for n in raw.get("notebooks", []) if isinstance(n, str)] if isinstance(
        raw.get("notebooks"), list) else []
    names += [m.notebook for m in _raw_models(raw) if m.notebook]
    if isinstance(raw.get("notebook"), str):
        names.append(raw["notebook"])
    return list(dict.fromkeys(names))


def _notebook_problems(course: Course, assignment: str, raw: dict[str, Any], spec: GradingSpec | None,
                       where: str) -> list[Problem]:
    problems = []
    source = course.source_dir(assignment)
    cells: dict[str, list[SourceCell]] = {}
    for name in _named_notebooks(raw, spec):
        found = readable_cells(source / f"{name}.ipynb")
        if found is None:
            problems.append(Problem(where, f"notebook {name!r} is not in {_rel(course, source)}/ (or is "
                                    f"unreadable): name it as its file is named, without .ipynb"))
        else:
            cells[name] = found
    for model in _raw_models(raw):
        nb = cells.get(model.notebook)
        if nb is None:
            continue
        by_id = {c.grade_id: c for c in nb if c.grade_id}
        task = by_id.get(model.grade_id)
        if task is None:
            problems.append(Problem(where, f"{model.label}model_grade_id {model.grade_id!r} is not a cell of "
                                    f"{model.notebook}.ipynb: add a task cell (nbgrader 'Manually graded "
                                    "task') with the model's points and give it that grade id"))
        elif not task.task:
            problems.append(Problem(where, f"{model.label}model_grade_id {model.grade_id!r} is not a task "
                                    f"cell in {model.notebook}.ipynb: make it an nbgrader 'Manually graded "
                                    "task' cell (the model's points land there)"))
        if model.model_file and not any(model.model_file in c.saved_models() for c in nb):
            saved = sorted({f for c in nb for f in c.saved_models()})
            hint = f" (the notebook saves {', '.join(saved)})" if saved else ""
            problems.append(Problem(where, f"{model.label}no cell of {model.notebook}.ipynb saves "
                                    f"model_file {model.model_file!r}{hint}: the solution must call "
                                    f"model.save({model.model_file!r})"))
        for gid in (*model.cells, model.training_cell):
            if gid and gid not in by_id:
                problems.append(Problem(where, f"{model.label}cell {gid!r} (named in [train] or "
                                        f"[autograde]) is not in {model.notebook}.ipynb"))
    return problems


def _function_check_problems(course: Course, spec: GradingSpec, where: str) -> list[Problem]:
    """``[[checks]]``: each names a test cell of its notebook and a function the solution defines
    at the top level of a solution cell, callable with the declared arguments."""
    problems = []
    for i, check in enumerate(spec.checks):
        label = f"checks[{i}] ({check.function}): "
        notebook = check.notebook or spec.notebook
        cells = readable_cells(course.source_dir(spec.assignment) / f"{notebook}.ipynb")
        if cells is None:
            problems.append(Problem(where, f"{label}notebook {notebook!r} is not in "
                                    f"source/{spec.assignment}/: name it as its file is named"))
            continue
        by_id = {c.grade_id: c for c in cells if c.grade_id}
        cell = by_id.get(check.cell)
        if cell is None:
            problems.append(Problem(where, f"{label}cell {check.cell!r} is not a cell of {notebook}.ipynb: "
                                    "name the grade id of the test cell whose points the check decides"))
        elif not cell.is_test:
            problems.append(Problem(where, f"{label}cell {check.cell!r} is not an autograded test cell "
                                    "(nbgrader 'Autograder tests' with points): a check decides a test "
                                    "cell's points"))
        defs = [(c, node) for c in cells if c.cell_type == "code"
                for node in _top_level_defs(c.source) if node.name == check.function]
        if not defs:
            problems.append(Problem(where, f"{label}{notebook}.ipynb defines no function "
                                    f"{check.function!r} at the top level of a cell: define it in the "
                                    "solution cell the students fill in"))
            continue
        c, node = defs[-1]
        if not c.solution:
            problems.append(Problem(where, f"{label}{check.function!r} is defined in cell "
                                    f"{c.grade_id or c.index!r}, which is not a solution cell: the "
                                    "students' own function would not be the one checked"))
        a = node.args
        positional = len(a.posonlyargs) + len(a.args)
        wanted = sum(1 for x in check.args if not x.name)
        names = {x.arg for x in (*a.posonlyargs, *a.args, *a.kwonlyargs)}
        if wanted > positional and a.vararg is None:
            problems.append(Problem(where, f"{label}args declares {wanted} positional arguments; "
                                    f"{check.function} takes {positional}"))
        required = positional - len(a.defaults)
        if wanted < required:
            problems.append(Problem(where, f"{label}args declares {wanted} positional arguments; "
                                    f"{check.function} needs {required}"))
        for x in check.args:
            if x.name and x.name not in names and a.kwarg is None:
                problems.append(Problem(where, f"{label}argument {x.name!r} is not a parameter of "
                                        f"{check.function} ({', '.join(sorted(names)) or 'none'})"))
    return problems


def _top_level_defs(source: str) -> list:
    import ast

    from .notebook import strip_magics

    try:
        tree = ast.parse(strip_magics(source))
    except (SyntaxError, ValueError):
        return []
    return [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


def _release_problems(course: Course, assignment: str, raw: dict[str, Any],
                      spec: GradingSpec | None) -> list[Problem]:
    release = course.release_dir(assignment)
    missing = [n for n in _named_notebooks(raw, spec)
               if (course.source_dir(assignment) / f"{n}.ipynb").is_file()
               and not (release / f"{n}.ipynb").is_file()]
    if missing:
        return [Problem(_rel(course, release), f"{', '.join(m + '.ipynb' for m in missing)} not released: "
                        f"run `autograder generate {assignment}` (nbgrader generate_assignment)")]
    return []


# --- models: task, data, reference -------------------------------------------------------------


def _model_problems(course: Course, spec: GradingSpec, where: str) -> list[Problem]:
    from .data import hidden_files, load_dataset
    from .tasks import get_task

    problems = []
    for model in spec.models():
        label = f"part {model.part!r}: " if model.part else ""
        try:
            get_task(model.task)
        except (SpecError, AutograderError) as exc:
            problems.append(Problem(where, f"{label}{exc}"))
        try:
            test = load_dataset(model.dataset, "test")
        except (SpecError, AutograderError, OSError, ValueError) as exc:
            problems.append(Problem(where, f"{label}dataset {model.dataset}: {exc}"))
            continue
        problems += _reference_problems(course, model, test.fingerprint, label)
        problems += _leaked_hidden_files(course, spec.assignment, hidden_files([model.dataset]), label, where)
    return problems


def _reference_problems(course: Course, model: GradingSpec, fingerprint: str, label: str) -> list[Problem]:
    path = course.model_reference_dir(model) / METRICS_FILE
    where = _rel(course, path)
    fix = f"run `autograder train-reference {model.assignment}`"
    if not path.is_file():
        return [Problem(where, f"{label}no reference yet: {fix}")]
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        reference, baseline = data["reference"], data["baseline"]
    except (ValueError, KeyError, TypeError) as exc:
        return [Problem(where, f"{label}unreadable ({type(exc).__name__}: {exc}): {fix}")]
    problems = []
    for m in model.metrics:
        if m.name not in reference or m.baseline not in baseline.get(m.name, {}):
            problems.append(Problem(where, f"{label}no reference/baseline ({m.baseline}) value for metric "
                                    f"{m.name!r}: {fix}"))
    if data.get("data_fingerprint") != fingerprint:
        problems.append(Problem(where, f"{label}the hidden data changed since the reference was measured "
                                f"({data.get('data_fingerprint')} then, {fingerprint} now): {fix}"))
    return problems


def _leaked_hidden_files(course: Course, assignment: str, hidden: list[Path], label: str,
                         where: str) -> list[Problem]:
    """A copy of a hidden file inside what students get (source/ and release/ of the assignment)."""
    digests = {_digest(p): p for p in hidden if Path(p).is_file()}
    if not digests:
        return []
    problems = []
    for folder in (course.source_dir(assignment), course.release_dir(assignment)):
        for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
            if path.is_file() and not path.is_symlink() and path.suffix != ".ipynb":
                original = digests.get(_digest(path))
                if original is not None:
                    problems.append(Problem(where, f"{label}{_rel(course, path)} is a copy of the hidden "
                                            f"file {original}: students get it; remove it from the "
                                            "assignment's folders"))
    return problems


def _digest(path: Path, limit: int = 2**30) -> str:
    from .picture_cache import file_digest

    path = Path(path)
    return f"too-large:{path}" if path.stat().st_size > limit else file_digest(path)
