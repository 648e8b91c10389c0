"""Simulated students: ``autograder/demo/students/<assignment>.py`` defines ``STUDENTS``.

Each simulated student is a fixture submission named by its outcome (``correct``, ``weak_model``,
``cell_raises``, ...): what it writes into each solution cell of the released notebook.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SimulatedStudent:
    student_id: str
    description: str
    answers: dict[str, str]  # grade id of a solution cell -> the code the student writes there


def demo_assignments() -> list[str]:
    """Assignments that have simulated students."""
    folder = Path(__file__).parent
    return sorted(p.stem for p in folder.glob("*.py") if not p.stem.startswith("_"))


def students_of(assignment: str) -> tuple[SimulatedStudent, ...]:
    return importlib.import_module(f"{__name__}.{assignment}").STUDENTS
