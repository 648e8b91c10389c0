"""``autograder new ASSIGNMENT``: a commented ``spec.toml`` drafted from the source notebooks.

What the notebooks say is filled in (every notebook, the model file a solution cell saves, the task
cell that receives its points, the cells that define ``build_model``, the data files beside the
notebooks); what they cannot say (the task, the metric, the hidden split) is proposed with a
comment, for the instructor to confirm. ``autograder check`` then names whatever is still wrong.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from .course import Course
from .errors import AutograderError
from .source_notebooks import SourceCell, source_cells
from .spec import SPEC_FILE

#: data files a ``[dataset]`` table can read, by suffix
DATA_FORMATS = {".npz": "npz", ".csv": "csv"}


@dataclass(frozen=True)
class ModelDraft:
    """A model the source notebooks save, and where its points and code are."""

    notebook: str
    model_file: str
    grade_id: str
    points: float
    train_cells: tuple[str, ...]
    training_cell: str
    #: ``fit(..., epochs=, batch_size=)`` as the saving cell calls it (train mode's budget)
    epochs: int | None = None
    batch_size: int | None = None


def find_models(cells: list[SourceCell]) -> list[ModelDraft]:
    """One draft per ``.keras`` file a solution cell of the notebook saves."""
    tasks = [c for c in cells if c.task]
    builders = [c for c in cells if "build_model" in c.defined_functions() and c.grade_id]
    setup = [c for c in cells if c.grade_id and c.imports() and not c.grade and not c.task
             and (not builders or c.index < builders[0].index)]
    out = []
    used: set[str] = set()
    for cell in cells:
        for model_file in cell.saved_models():
            # each model's points land on its own task cell: the first unused one after the saving
            # cell, else the first unused one
            free = [t for t in tasks if t.grade_id not in used]
            task = next((t for t in free if t.index > cell.index), free[0] if free else None)
            if task is not None:
                used.add(task.grade_id)
            out.append(ModelDraft(
                notebook=cell.notebook, model_file=model_file, grade_id=task.grade_id if task else "",
                points=task.points if task else 0.0,
                train_cells=tuple(c.grade_id for c in (*setup[:1], *builders[:1])),
                training_cell=cell.grade_id if cell.solution else "",
                epochs=_fit_argument(cells, cell, "epochs"),
                batch_size=_fit_argument(cells, cell, "batch_size"),
            ))
    return out


def _fit_argument(cells: list[SourceCell], saving: SourceCell, name: str) -> int | None:
    """``name=<int>`` of the ``fit`` call in the saving cell (else the nearest cell before it)."""
    for cell in sorted((c for c in cells if c.index <= saving.index), key=lambda c: -c.index):
        found = re.search(rf"\.fit\([^#]*?\b{name}\s*=\s*(\d+)", cell.source, flags=re.S)
        if found:
            return int(found.group(1))
    return None


def data_files(course: Course, assignment: str) -> list[Path]:
    folder = course.source_dir(assignment)
    return sorted(p for p in folder.rglob("*") if p.suffix in DATA_FORMATS and p.is_file())


def draft_spec(course: Course, assignment: str) -> str:
    """The text of a commented spec.toml for ``assignment`` (not written)."""
    notebooks = course.source_notebooks(assignment)
    if not notebooks:
        raise AutograderError(f"no notebooks in {course.source_dir(assignment)}: write the assignment's "
                              "source notebooks first (nbgrader's layout: source/<assignment>/*.ipynb)")
    cells = {n: source_cells(course.source_dir(assignment) / f"{n}.ipynb") for n in notebooks}
    models = [m for n in notebooks for m in find_models(cells[n])]
    lines = [f"# Grading spec of `{assignment}`, drafted by `autograder new {assignment}` from",
             f"# source/{assignment}/*.ipynb. Check every line, then run `autograder check {assignment}`.",
             f'assignment = "{assignment}"',
             f"notebooks = {json.dumps(notebooks)}  # every notebook whose cells are graded"]
    lines += _cell_summary(cells)
    if not models:
        lines += ["", "# No solution cell saves a .keras model: only the notebooks' cells are graded,",
                  "# as `nbgrader autograde` grades them (this file is optional then).",
                  "tests_only = true"]
        return "\n".join(lines) + "\n"
    if len(models) == 1:
        lines += ["", *_model_lines(models[0], course, assignment, part=False)]
    else:
        lines += ["", "# One [[parts]] table per saved model.", 'mode = "load"', "seed = 1234"]
        for i, model in enumerate(models):
            name = re.sub(r"\W", "_", Path(model.model_file).stem) or f"model{i}"
            lines += ["", "[[parts]]", f'name = "{name if name.isidentifier() else f"model{i}"}"',
                      *_model_lines(model, course, assignment, part=True)]
    return "\n".join(lines) + "\n"


def _cell_summary(cells: dict[str, list[SourceCell]]) -> list[str]:
    out = []
    for name, nb in cells.items():
        tests = [f"{c.grade_id} ({c.points:g})" for c in nb if c.is_test]
        manual = [f"{c.grade_id} ({c.points:g})" for c in nb if c.is_manual]
        out.append(f"#   {name}.ipynb: tests {', '.join(tests) or 'none'}; graded by hand or by the "
                   f"model: {', '.join(manual) or 'none'}")
    return ["# Cells with points, as nbgrader grades them:", *out]


def _model_lines(model: ModelDraft, course: Course, assignment: str, *, part: bool) -> list[str]:
    from .tasks import known_tasks

    lines = [f'notebook = "{model.notebook}"  # the notebook that saves the model and holds its task cell']
    if not part:
        lines += ['mode = "load"  # "load": grade the saved model; "train": retrain it from the notebook',
                  "seed = 1234  # seed of train mode's training run"]
    lines += [f'task = "classifier"  # one of: {", ".join(known_tasks())} (or a course plugin\'s)',
              f'model_file = "{model.model_file}"  # what the solution saves',
              f'model_grade_id = "{model.grade_id or "TODO-task-cell"}"  # the task cell that receives the '
              f"model's points{' (none found: add one)' if not model.grade_id else ''}"]
    lines += _dataset_lines(course, assignment, part)
    prefix = "parts." if part else ""
    if model.training_cell:
        lines += ["", f"[{prefix}autograde]  # autograde loads the saved model instead of training again",
                  f'training_cell = "{model.training_cell}"',
                  'model_variable = "model"  # the name later cells use for the trained model']
    budget = [f"{k} = {v}" for k, v in (("epochs", model.epochs), ("batch_size", model.batch_size)) if v]
    if budget:
        lines += ["", f"[{prefix}budget]  # train mode (and train-reference): as the solution's fit call",
                  *budget]
    if model.train_cells:
        lines += ["", f"[{prefix}train]  # train mode: the cells that define the model",
                  f"cells = {json.dumps(list(model.train_cells))}", 'builder = "build_model"']
    lines += ["", f"[[{prefix}metrics]]", 'name = "accuracy"  # see the docs for every metric',
              f"points = {model.points:g}  # the task cell's points",
              'baseline = "majority_class"  # 0 points at this trivial model']
    return lines


def _dataset_lines(course: Course, assignment: str, part: bool) -> list[str]:
    files = data_files(course, assignment)
    table = "[parts.dataset]" if part else "[dataset]"
    if not files:
        return ['dataset = "TODO"  # a registered dataset (e.g. "digits"), or a [dataset] table of files']
    train = files[0]
    fmt = DATA_FORMATS[train.suffix]
    rel = train.relative_to(course.root)
    lines = ["", f"{table}  # what students get, and the hidden split the grader scores on",
             f'format = "{fmt}"', f'train = "{rel}"',
             f'hidden = "TODO: the hidden split\'s {train.suffix} file, outside source/ and release/"']
    lines += _columns(train, fmt)
    return lines


def _columns(path: Path, fmt: str) -> list[str]:
    """The npz array names or the csv label column, guessed from the students' file."""
    if fmt == "csv":
        import csv

        with path.open(newline="", encoding="utf-8") as fh:
            header = next(csv.reader(fh), [])
        label = header[-1] if header else "label"
        return [f'label = "{label}"  # the target column (the last one; columns: {", ".join(header)})']
    import numpy as np

    with np.load(path, allow_pickle=False) as arrays:
        names = list(arrays.files)
    if len(names) == 2:
        x, y = (names if "x" in names[0].lower() or "y" in names[1].lower() else names[::-1])
        return [f'x = "{x}"  # the inputs', f'y = "{y}"  # the targets']
    return [f"# arrays in the file: {', '.join(names)}; name the inputs x = \"...\" and targets y = \"...\""]


def write_draft(course: Course, assignment: str, force: bool = False) -> Path:
    """Write the draft into ``reference_models/<assignment>/spec.toml`` (never over a spec unless
    ``force``)."""
    path = course.reference_dir(assignment) / SPEC_FILE
    if path.exists() and not force:
        raise AutograderError(f"{path} exists; pass --force to replace it with a new draft")
    text = draft_spec(course, assignment)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
