"""Reading submitted notebooks: cells by nbgrader grade id, and why test cells failed."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

from .errors import NotebookError

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """Read a notebook, turning every way it can be broken into a :class:`NotebookError`."""
    path = Path(path)
    if not path.is_file():
        raise NotebookError(f"the notebook '{path.name}' is missing from the submission")
    try:
        return nbformat.read(path, as_version=4)
    except Exception as exc:
        raise NotebookError(f"'{path.name}' is not a readable notebook: {exc}") from exc


def grade_id(cell: nbformat.NotebookNode) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def strip_magics(source: str) -> str:
    """Neutralise IPython magics and shell escapes: the grader runs plain Python."""
    if source.lstrip().startswith("%%"):
        return "pass  # cell magic removed: " + source.lstrip().splitlines()[0]
    out = []
    for line in source.splitlines():
        stripped = line.lstrip()
        if stripped.startswith(("%", "!")):
            line = line[: len(line) - len(stripped)] + "pass  # " + stripped
        out.append(line)
    return "\n".join(out)


def cell_sources(path: Path, grade_ids: tuple[str, ...]) -> list[tuple[str, str]]:
    """The code of the cells with ``grade_ids``, in the order given."""
    nb = read_notebook(path)
    by_id = {grade_id(c): c for c in nb.cells if grade_id(c) and c.cell_type == "code"}
    out = []
    for gid in grade_ids:
        if gid not in by_id:
            raise NotebookError(
                f"the notebook has no code cell '{gid}': do not delete or re-create graded cells"
            )
        out.append((gid, strip_magics(by_id[gid].source)))
    return out


def cell_failures(path: Path) -> dict[str, str]:
    """For each graded cell of an executed notebook that failed, a one-line reason."""
    nb = read_notebook(path)
    failures: dict[str, str] = {}
    for cell in nb.cells:
        gid = grade_id(cell)
        if not gid or cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                evalue = _ANSI.sub("", str(out.get("evalue", ""))).strip()
                failures[gid] = f"{out.get('ename', 'Error')}: {evalue}"[:500]
                break
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                text = _ANSI.sub("", out.get("text", "")).strip().splitlines()
                failures[gid] = "the cell wrote to stderr: " + (text[0] if text else "")[:400]
                break
    return failures
