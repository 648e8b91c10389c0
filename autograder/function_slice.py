"""The code a notebook's function needs, and nothing else: what a function check runs.

A function check (:mod:`autograder.function_checks`) calls a notebook's function outside the
student's kernel. It runs, of the notebook's code cells, only the top-level statements that bind
a name the function uses, and, in turn, the names those statements use: ``import numpy as np``
for a function that calls ``np``, ``vocabulary = ...`` and the ``data = np.load(...)`` it reads
for one that looks up ``vocabulary``; never a training loop, a print or a test. The names a
function uses are read from Python's own symbol tables (:mod:`symtable`), so its arguments and
local variables pull in nothing. Statements keep their notebook order.

This module only reads code (no TensorFlow, no execution).
"""

from __future__ import annotations

import ast
import builtins
import symtable
from dataclasses import dataclass

_BUILTINS = frozenset(dir(builtins))


def _bound(stmt: ast.stmt) -> set[str]:
    """The module-level names a top-level statement binds."""
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {stmt.name}
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in stmt.names if a.name != "*"}
    names: set[str] = set()
    for node in ast.walk(stmt):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names if a.name != "*"}
        elif isinstance(node, ast.Global):
            names |= set(node.names)
    return names


def _globals_of(table: symtable.SymbolTable) -> set[str]:
    out = {s.get_name() for s in table.get_symbols()
           if s.is_global() or (table.get_type() == "module" and s.is_referenced())}
    for child in table.get_children():
        out |= _globals_of(child)
    return out


def _used(stmt: ast.stmt) -> set[str]:
    """The global names a top-level statement reads (its functions' and classes' included)."""
    try:
        table = symtable.symtable(ast.unparse(stmt), "<cell>", "exec")
    except (SyntaxError, ValueError, RecursionError):
        return set()
    return _globals_of(table) - _BUILTINS


@dataclass(frozen=True)
class Slice:
    """What a check runs: ``(cell name, code)`` pairs, and whether each wanted name is bound."""

    cells: tuple[tuple[str, str], ...]
    missing: tuple[str, ...] = ()
    unparsable: tuple[str, ...] = ()


def function_slice(cells: list[tuple[str, str]], wanted: tuple[str, ...]) -> Slice:
    """The statements of ``(cell name, code)`` pairs that ``wanted`` names need, transitively.

    A name bound by several statements keeps all of them (a later cell may redefine a
    function: the last definition wins when they run in order, as in the kernel).
    """
    parsed: list[tuple[str, list[ast.stmt]]] = []
    unparsable = []
    for name, source in cells:
        try:
            parsed.append((name, ast.parse(source).body))
        except (SyntaxError, ValueError, RecursionError):
            unparsable.append(name)
    flat = [(cell, i, stmt, _bound(stmt)) for cell, body in parsed for i, stmt in enumerate(body)]
    bound_anywhere = set().union(*(b for *_, b in flat)) if flat else set()
    needed, todo, kept = set(wanted), list(wanted), set()
    while todo:
        name = todo.pop()
        for k, (_cell, _i, stmt, bound) in enumerate(flat):
            if k in kept or name not in bound:
                continue
            kept.add(k)
            for used in _used(stmt) - needed:
                if used in bound_anywhere:
                    needed.add(used)
                    todo.append(used)
    out: list[tuple[str, str]] = []
    for k, (cell, _i, stmt, _b) in enumerate(flat):
        if k in kept:
            out.append((cell, ast.unparse(stmt)))  # one by one: a failure stops only its own
    return Slice(cells=tuple(out), missing=tuple(n for n in wanted if n not in bound_anywhere),
                 unparsable=tuple(unparsable))
