"""The code that defines a notebook's custom classes, without the code that trains or runs.

A model built from custom layers (a VAE's ``Sampling`` layer, an attention block, a subclassed
``keras.Model``) can only be loaded by a process that has those classes. The grader's own process
never runs student code, so such a model is evaluated in a sandbox
(:mod:`autograder.sandboxed_eval`) that first runs the notebook's *definitions*: of every code
cell, only its top-level imports, ``def`` and ``class`` statements and assignments of constants
(``LATENT_DIM = 8``, ``layers = keras.layers``). A cell that also loads data and trains gives its
class and function definitions; its training is left out. A spec can name the cells to run as
written instead (``[evaluation] cells``).

This module only reads notebooks (no TensorFlow): what runs where is the sandbox's business.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from .notebook import cell_sources, grade_id, read_notebook, strip_magics

#: statements kept as they are
_DEFINITIONS = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


@dataclass(frozen=True)
class Definitions:
    """The class-defining code of a notebook, and what of it was left out.

    Attributes:
        cells: ``(cell name, code)`` pairs, run in order (the cell's grade id, or ``cell <n>``).
        defined: the top-level names the kept code defines (classes, functions, constants).
        nested: ``(class name, cell name)`` of classes defined inside a block (``if``, ``with``,
            ``for``, ``try`` or a function), which are left out with that block.
        unparsable: cells that are not valid Python (left out).
    """

    cells: tuple[tuple[str, str], ...]
    defined: frozenset[str] = frozenset()
    nested: tuple[tuple[str, str], ...] = ()
    unparsable: tuple[str, ...] = ()

    def missing(self, needed: tuple[str, ...]) -> tuple[str, ...]:
        """The names of ``needed`` that the kept code does not define."""
        return tuple(n for n in needed if n not in self.defined)

    def why_missing(self, names: tuple[str, ...], model_file: str) -> str:
        """A reason for the student: ``model_file`` needs ``names``, which the code run does not
        define."""
        listed = ", ".join(f"'{n}'" for n in names)
        where = {name: cell for name, cell in self.nested if name in names}
        if where:
            name, cell = next(iter(where.items()))
            return (
                f"'{model_file}' needs the class {listed}, but the notebook defines '{name}' inside "
                f"a block (if/with/for/try or a function) of cell '{cell}': the grader runs only "
                "the top-level imports, classes, functions and constants of your cells, so define "
                "the class at the top level of a cell and submit again"
            )
        broken = f" (cells {', '.join(self.unparsable)} are not valid Python)" if self.unparsable else ""
        return (
            f"'{model_file}' needs the class {listed}, which the notebook does not define{broken}: "
            "the grader rebuilds your model from the classes your notebook's cells define at their "
            "top level (imports, classes, functions and constants; training is left out), so keep "
            "the class definition in the notebook you submit, not in another file or only in a "
            "session that has since been restarted"
        )


def _constant(value: ast.expr) -> bool:
    """A literal (``8``, ``(28, 28)``) or a dotted name (``keras.layers``)."""
    try:
        ast.literal_eval(value)
        return True
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        pass
    while isinstance(value, ast.Attribute):
        value = value.value
    return isinstance(value, ast.Name)


def _kept(stmt: ast.stmt) -> bool:
    if isinstance(stmt, _DEFINITIONS):
        return True
    if isinstance(stmt, ast.Assign):
        return all(isinstance(t, ast.Name) for t in stmt.targets) and _constant(stmt.value)
    if isinstance(stmt, ast.AnnAssign):
        return isinstance(stmt.target, ast.Name) and stmt.value is not None and _constant(stmt.value)
    return False


def _names(stmt: ast.stmt) -> set[str]:
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {stmt.name}
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in stmt.names}
    if isinstance(stmt, ast.Assign):
        return {t.id for t in stmt.targets if isinstance(t, ast.Name)}
    if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
        return {stmt.target.id}
    return set()


def definitions_of(cells: list[tuple[str, str]]) -> Definitions:
    """The definitions of ``(cell name, code)`` pairs: each cell reduced to its kept statements."""
    kept: list[tuple[str, str]] = []
    defined: set[str] = set()
    nested: list[tuple[str, str]] = []
    unparsable: list[str] = []
    for name, source in cells:
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError):
            unparsable.append(name)
            continue
        body = []
        for stmt in tree.body:
            if _kept(stmt):
                body.append(stmt)
                defined |= _names(stmt)
            else:
                nested += [(node.name, name) for node in ast.walk(stmt) if isinstance(node, ast.ClassDef)]
        if body:
            kept.append((name, ast.unparse(ast.Module(body=body, type_ignores=[]))))
    return Definitions(cells=tuple(kept), defined=frozenset(defined), nested=tuple(nested),
                       unparsable=tuple(unparsable))


def notebook_definitions(path: Path, cells: tuple[str, ...] = ()) -> Definitions:
    """The definitions of the notebook at ``path``: every code cell reduced to its definitions, or,
    when ``cells`` names grade ids, those cells run as written.

    Raises:
        NotebookError: the notebook cannot be read, or a named cell is missing.
    """
    if cells:
        sources = cell_sources(path, cells)
        whole = definitions_of(sources)
        return Definitions(cells=tuple(sources), defined=whole.defined, nested=whole.nested,
                           unparsable=whole.unparsable)
    nb = read_notebook(path)
    code = [(grade_id(c) or f"cell {i}", strip_magics(c.source))
            for i, c in enumerate(nb.cells, start=1) if c.cell_type == "code"]
    return definitions_of(code)
