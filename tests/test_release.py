"""release/ must be what nbgrader generates from source/ today (it is never edited by hand).

The test copies source/ and nbgrader_config.py into a temporary course, runs nbgrader's
generate_assignment in-process for every assignment, and compares with the committed release/.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest

from autograder.course import Course

REPO = Path(__file__).resolve().parents[1]
SOURCE = REPO / "source"
RELEASE = REPO / "release"
ASSIGNMENTS = sorted(p.name for p in SOURCE.iterdir() if p.is_dir() and not p.name.startswith("."))
HOW_TO_FIX = "release/ is stale: run `make release` (or `autograder generate --all`) and commit it"


def _files(folder: Path) -> set[str]:
    return {
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and ".ipynb_checkpoints" not in p.parts
    }


def _notebook_view(path: Path) -> dict:
    nb = nbformat.read(path, as_version=4)
    return {
        "metadata": dict(nb.metadata),
        "cells": [
            {"cell_type": c.cell_type, "source": c.source, "metadata": dict(c.metadata)}
            for c in nb.cells
        ],
    }


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("course")
    shutil.copytree(SOURCE, root / "source")
    shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    api = Course.at(root).nbgrader_api()
    for name in ASSIGNMENTS:
        result = api.generate_assignment(name, force=True, create=True)
        assert result["success"], (
            f"nbgrader generate_assignment {name} failed:\n{result.get('error')}\n"
            f"{result.get('log')}"
        )
    return root / "release"


def test_there_are_assignments():
    assert "digits" in ASSIGNMENTS


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_release_is_current(generated, name):
    ours, committed = generated / name, RELEASE / name
    assert committed.is_dir(), f"release/{name} is missing; {HOW_TO_FIX}"
    assert _files(ours) == _files(committed), (
        f"release/{name} files differ from a fresh generate "
        f"(fresh: {sorted(_files(ours))}, committed: {sorted(_files(committed))}); {HOW_TO_FIX}"
    )
    for rel in sorted(_files(ours)):
        if rel.endswith(".ipynb"):
            fresh, old = _notebook_view(ours / rel), _notebook_view(committed / rel)
            assert fresh["metadata"] == old["metadata"], (
                f"release/{name}/{rel}: notebook metadata differs; {HOW_TO_FIX}"
            )
            assert len(fresh["cells"]) == len(old["cells"]), (
                f"release/{name}/{rel}: {len(fresh['cells'])} cells generated, "
                f"{len(old['cells'])} committed; {HOW_TO_FIX}"
            )
            for i, (a, b) in enumerate(zip(fresh["cells"], old["cells"], strict=True)):
                assert a == b, f"release/{name}/{rel}: cell {i} differs; {HOW_TO_FIX}"
        else:
            assert (ours / rel).read_bytes() == (committed / rel).read_bytes(), (
                f"release/{name}/{rel} differs from source; {HOW_TO_FIX}"
            )


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_release_hides_solutions(name):
    notebooks = sorted((RELEASE / name).rglob("*.ipynb"))
    assert notebooks, f"release/{name} has no notebook; {HOW_TO_FIX}"
    for path in notebooks:
        text = path.read_text(encoding="utf-8")
        for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS",
                       "END HIDDEN TESTS"):
            assert marker not in text, f"{path.relative_to(REPO)} contains {marker!r}"
        nb = nbformat.read(path, as_version=4)
        solution_cells = [c for c in nb.cells
                          if c.metadata.get("nbgrader", {}).get("solution")]
        assert solution_cells, f"{path.relative_to(REPO)} has no solution cells"
        for cell in solution_cells:
            gid = cell.metadata["nbgrader"].get("grade_id")
            assert "YOUR CODE HERE" in cell.source or "YOUR ANSWER HERE" in cell.source, (
                f"{path.relative_to(REPO)}: solution cell {gid!r} does not say YOUR CODE HERE"
            )
            if cell.cell_type == "code":
                assert "raise NotImplementedError()" in cell.source, gid


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_source_keeps_solutions(name):
    """The instructor version must have something to hide (else release/ would give it away)."""
    text = "".join(p.read_text(encoding="utf-8") for p in (SOURCE / name).rglob("*.ipynb"))
    assert "### BEGIN SOLUTION" in text and "### END SOLUTION" in text
