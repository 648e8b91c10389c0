"""An assignment's source notebooks as the grader sees them: cells, their nbgrader roles, and what
their code saves and defines (for ``autograder new`` and ``autograder check``)."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import NotebookError
from .notebook import read_notebook, strip_magics

#: ``model.save("name.keras")`` (or any ``.save(...)`` of a ``.keras`` file named by a literal)
_SAVE = re.compile(r"""\.save\(\s*(?:filepath\s*=\s*)?['"]([^'"]+\.keras)['"]""")


@dataclass(frozen=True)
class SourceCell:
    """One cell of a source notebook with its nbgrader metadata."""

    notebook: str
    index: int
    cell_type: str
    source: str
    grade_id: str = ""
    solution: bool = False
    grade: bool = False
    task: bool = False
    points: float = 0.0

    @property
    def is_test(self) -> bool:
        """nbgrader's autograder tests: a graded code cell that is not an answer."""
        return self.grade and not self.solution and self.cell_type == "code"

    @property
    def is_manual(self) -> bool:
        """A cell graded by hand: a graded answer, a graded markdown cell, or a task."""
        return self.task or (self.grade and not self.is_test)

    def saved_models(self) -> list[str]:
        """``.keras`` files this code cell saves."""
        return _SAVE.findall(self.source) if self.cell_type == "code" else []

    def defined_functions(self) -> list[str]:
        """Top-level functions this code cell defines."""
        if self.cell_type != "code":
            return []
        try:
            tree = ast.parse(strip_magics(self.source))
        except SyntaxError:
            return []
        return [n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]

    def imports(self) -> bool:
        """Whether this code cell only sets things up (imports at its top level)."""
        try:
            tree = ast.parse(strip_magics(self.source))
        except SyntaxError:
            return False
        return any(isinstance(n, ast.Import | ast.ImportFrom) for n in tree.body)


def source_cells(path: Path) -> list[SourceCell]:
    """Every cell of the notebook at ``path`` (a :class:`NotebookError` when it is unreadable)."""
    nb = read_notebook(path)
    out = []
    for i, cell in enumerate(nb.cells):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        out.append(SourceCell(
            notebook=Path(path).stem, index=i, cell_type=cell.cell_type, source=cell.source,
            grade_id=meta.get("grade_id", "") or "", solution=bool(meta.get("solution")),
            grade=bool(meta.get("grade")), task=bool(meta.get("task")),
            points=float(meta.get("points", 0) or 0),
        ))
    return out


def readable_cells(path: Path) -> list[SourceCell] | None:
    """:func:`source_cells`, or None when the notebook is missing or unreadable."""
    try:
        return source_cells(path)
    except NotebookError:
        return None
