"""What an assignment's notebooks import: the modules a warm kernel factory imports before forking.

A factory that imports TensorFlow costs seconds of CPU and hundreds of MB per grading worker; a
homework that never imports it should not pay for it. The modules are read from the source
notebooks' import statements (the students' notebooks import the same), or named in the spec
(``preload = [...]``).
"""

from __future__ import annotations

import ast
import importlib.util
from collections.abc import Iterable
from pathlib import Path

from .errors import NotebookError
from .notebook import read_notebook, strip_magics


def imports_of(source: str) -> list[str]:
    """Absolute modules a cell imports (``import a.b`` gives ``a.b``, ``from a.b import c`` gives
    ``a.b``), in order; a cell that is not valid Python gives none."""
    try:
        tree = ast.parse(strip_magics(source))
    except SyntaxError:
        return []
    out: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module != "__future__":
                out.append(node.module)
    return out


def notebook_imports(paths: Iterable[Path]) -> list[str]:
    """Every module the code cells of ``paths`` import, each once, in first-seen order."""
    seen: dict[str, None] = {}
    for path in paths:
        try:
            nb = read_notebook(path)
        except NotebookError:
            continue
        for cell in nb.cells:
            if cell.cell_type == "code":
                seen.update(dict.fromkeys(imports_of(cell.source)))
    return list(seen)


def installed(modules: Iterable[str]) -> tuple[str, ...]:
    """The modules whose top-level package is installed here (a student's own helper module or a
    package the grader lacks is left to the kernel, which then imports it or fails as it would)."""
    out = []
    for name in modules:
        try:
            found = importlib.util.find_spec(name.split(".")[0]) is not None
        except (ImportError, ValueError):
            found = False
        if found:
            out.append(name)
    return tuple(out)
