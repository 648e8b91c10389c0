"""The integrity checks of one assignment: code of every graded notebook, then every saved model.

Reads ``submitted/<student>/<assignment>/`` (the notebooks and, in load mode, the model files) and
``release/<assignment>/`` (the template, subtracted from the code). Writes nothing: see
:mod:`autograder.integrity.report` for the report files.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..course import Course
from . import code, hidden, weights
from .code import CODE_THRESHOLD, MIN_OVERLAP
from .findings import IntegrityFindings
from .hidden import K
from .weights import NEAR, RATIO


@dataclass(frozen=True)
class Thresholds:
    """Every threshold of the checks (defaults: the modules' constants; see docs/integrity.md)."""

    code: float = CODE_THRESHOLD
    code_min_overlap: int = MIN_OVERLAP
    weights_ratio: float = RATIO
    weights_near: float = NEAR
    hidden_k: float = K


def class_code(course: Course, assignment: str, notebooks: tuple[str, ...],
               students: list[str]) -> tuple[list[code.CodeDocument], dict[str, str]]:
    """Each student's own code per notebook, and each notebook's released template code."""
    docs, templates = [], {}
    for nb in notebooks:
        released = course.release_dir(assignment) / f"{nb}.ipynb"
        templates[nb] = "\n\n".join(code.released_cells(released)) + "\n"
        for student in students:
            submitted = course.submitted_dir(assignment, student) / f"{nb}.ipynb"
            docs.append(code.CodeDocument(student, nb, code.student_code(submitted, released)))
    return docs, templates


def check_integrity(course: Course, assignment: str, *, models: bool = True,
                    thresholds: Thresholds = Thresholds()) -> IntegrityFindings:
    """Code similarity across the class, and with ``models`` (load mode) shared models and
    possible training on the hidden data.

    Args:
        course: the course.
        assignment: the assignment's name.
        models: load every saved model (seconds per hundred small models); False checks code only.
        thresholds: the checks' thresholds.
    """
    spec = course.spec(assignment)
    students = course.submitted_students(assignment)
    notes: list[str] = []
    docs, templates = class_code(course, assignment, spec.graded_notebooks, students)
    code_pairs = []
    for nb, template in templates.items():
        code_pairs += code.similar_code([d for d in docs if d.notebook == nb], template,
                                        threshold=thresholds.code, min_overlap=thresholds.code_min_overlap)
    empty = sorted({d.student for d in docs} - {d.student for d in docs if d.code.strip()})
    if empty:
        notes.append(f"no code of their own in any notebook: {', '.join(empty)}")
    findings = dict(code_pairs=tuple(code_pairs))
    if not spec.models():
        notes.append("no graded model: code similarity only")
    elif not models:
        notes.append("models were not checked (--no-models)")
    else:
        from .models import inspect_models

        found = inspect_models(course, spec, students)
        notes += found.notes
        pairs, nearest = weights.shared_models(found.summaries, ratio=thresholds.weights_ratio,
                                               near=thresholds.weights_near)
        flags, stats = hidden.hidden_data_flags(found.gaps, k=thresholds.hidden_k)
        measured = {g.model for g in found.gaps}
        for name in sorted(measured - {s.model for s in stats}):
            notes.append(f"{name}: fewer than {hidden.MIN_MODELS} distinct models measured, "
                         "no hidden-data check")
        findings.update(model_pairs=tuple(pairs), nearest=tuple(nearest), gaps=found.gaps,
                        gap_stats=tuple(stats), hidden_flags=tuple(flags))
    return IntegrityFindings(assignment=assignment, students=tuple(students), code_threshold=thresholds.code,
                             notes=tuple(notes), **findings)
