"""Our steps inside ``nbgrader generate_feedback``, as nbgrader preprocessors.

nbgrader builds a student's feedback from the *autograded* notebook, and autograding restores the
instructor's test cells, hidden tests included: out of the box the feedback HTML shows the hidden
test code, and their tracebacks show the failing hidden line and values (a known leak of
nbgrader-based courses). :class:`HideHiddenTests` removes the hidden regions and replaces those
cells' outputs before the HTML is written. :class:`AddModelFeedback` inserts the model section the
grader prepared for the student (``autograder feedback``) after the model's task cell.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbgrader.preprocessors import ClearHiddenTests, NbGraderPreprocessor
from traitlets import Bool, Unicode

HIDDEN_NOTICE = "Hidden tests ran in this cell; their code and output are not shown."


class HideHiddenTests(ClearHiddenTests):
    """Remove hidden test regions from feedback, and every output of the cells that held them.

    Uses nbgrader's own ``ClearHiddenTests`` delimiters (configure them there). A cell's output
    can print hidden values or show the failing hidden line in a traceback, so a cell that held
    hidden tests keeps only a notice, and the error's name when it failed.
    """

    enforce_metadata = Bool(
        False, help="Complain about hidden regions outside grade cells (they are removed anyway)."
    ).tag(config=True)

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type != "code" or not self._remove_hidden_test_region(cell):
            return cell, resources
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=HIDDEN_NOTICE + "\n")]
        if errors:
            ename, evalue = errors[0].get("ename", "Error"), "a test failed (details are hidden)"
            cell.outputs.append(nbformat.v4.new_output("error", ename=ename, evalue=evalue,
                                                       traceback=[f"{ename}: {evalue}"]))
        return cell, resources


def section_folder(results_root: str | Path, assignment: str, student: str) -> Path:
    """Where ``autograder feedback`` puts a student's sections: ``<notebook>/<grade id>.md`` each
    (sections directly in this folder, as older results have them, go into every notebook)."""
    return Path(results_root) / assignment / "feedback" / student


class AddModelFeedback(NbGraderPreprocessor):
    """Insert each prepared section (a model's, or a note on a cell awaiting manual grading) after
    the cell of its grade id in its notebook (else at the end)."""

    results_root = Unicode(
        "", help="The course's results folder (<course>/results); empty: add nothing."
    ).tag(config=True)

    def preprocess(self, nb, resources):
        if not self.results_root:
            return nb, resources
        info = resources.get("nbgrader", {})
        folder = section_folder(self.results_root, info.get("assignment", ""), info.get("student", ""))
        notebook = info.get("notebook", "")
        paths = sorted(folder.glob("*.md"))
        if notebook:
            paths += sorted((folder / notebook).glob("*.md"))
        for path in paths:
            cell = nbformat.v4.new_markdown_cell(path.read_text(encoding="utf-8"))
            cell.metadata["autograder"] = {"model_feedback": path.stem}
            nb.cells.insert(_after_cell(nb, path.stem), cell)
        return nb, resources


def _after_cell(nb, grade_id: str) -> int:
    for i, cell in enumerate(nb.cells):
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id:
            return i + 1
    return len(nb.cells)


def configure_feedback(c) -> None:
    """nbgrader's feedback steps plus ours (called by ``autograder.nbgrader_plugins.configure``)."""
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from nbgrader.preprocessors import GetGrades

    c.GenerateFeedback.preprocessors = [HideHiddenTests, AddModelFeedback, GetGrades,
                                        CSSHTMLHeaderPreprocessor]
    root = c.CourseDirectory.get("root") if "CourseDirectory" in c else None
    if root and "results_root" not in c.AddModelFeedback:
        c.AddModelFeedback.results_root = str(Path(root) / "results")
