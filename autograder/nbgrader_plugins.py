"""Our steps inside nbgrader, written as nbgrader preprocessors and configured in nbgrader_config.py.

:class:`ServeSavedModels` and :class:`RestoreServedCells` make autograde load the model a student
saved instead of training it again (see :func:`serving_source`).

nbgrader gives 0 points to any test cell that writes to stderr. TensorFlow and Keras write log
lines and Python warnings there on their own (at import, on the first ``predict``), which would
zero a correct student's test cell. :class:`StripFrameworkLogs` removes exactly those lines after
execution and before nbgrader saves the grades; anything else a cell writes to stderr stays.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool, Dict, Integer, List, Unicode

from .quiet_stderr import ABSL_LINE, ABSL_NOTICE, CPU_FEATURES

# absl/TensorFlow C++ log lines of every severity, and TensorFlow's start-up notices
_DEFAULT_PATTERNS = [
    ABSL_LINE.format(levels="IWEF"),
    ABSL_NOTICE,
    CPU_FEATURES,
    r"^(WARNING|INFO):(absl|tensorflow|keras):.*$",
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWE] tensorflow/.*$",
]
# Python warnings: "path/to/file.py:123: UserWarning: message" followed by the offending source line.
_PY_WARNING = re.compile(r"^\S.*:\d+: \w*Warning: .*$")


KERNEL_ARGS = ["--IPKernelApp.log_level=CRITICAL"]


class StripFrameworkLogs(NbGraderPreprocessor):
    """Remove TensorFlow/Keras log lines and Python warnings from cells' stderr."""

    enabled = Bool(True, help="Strip framework log lines from stderr before grading.").tag(
        config=True
    )
    patterns = List(
        Unicode(), default_value=_DEFAULT_PATTERNS,
        help="Regular expressions of stderr lines to remove (matched line by line).",
    ).tag(config=True)
    strip_python_warnings = Bool(
        True, help="Also remove Python warnings (e.g. Keras UserWarnings)."
    ).tag(config=True)

    def strip(self, text: str) -> str:
        regexes = [re.compile(p) for p in self.patterns]
        kept: list[str] = []
        skip_source_line = False
        for line in text.splitlines(keepends=True):
            bare = line.rstrip("\n")
            if skip_source_line and line.startswith((" ", "\t")):
                skip_source_line = False
                continue
            skip_source_line = False
            if any(r.match(bare) for r in regexes):
                continue
            if self.strip_python_warnings and _PY_WARNING.match(bare):
                skip_source_line = True
                continue
            kept.append(line)
        return "".join(kept)

    def preprocess_cell(self, cell, resources, cell_index):
        if not self.enabled or cell.cell_type != "code":
            return cell, resources
        outputs = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                text = self.strip(out.get("text", ""))
                if not text.strip():
                    continue
                out["text"] = text
            outputs.append(out)
        cell.outputs = outputs
        return cell, resources


class LimitOutputBytes(NbGraderPreprocessor):
    """Fail a cell whose outputs exceed a size limit (nbgrader's LimitOutput counts lines only).

    A graded test cell over the limit gets 0 points (its outputs become one error), so printing
    megabytes cannot bloat the gradebook's notebooks or feedback, nor keep a cell's points.
    """

    max_kb = Integer(512, help="Largest total output of one cell, in KB.").tag(config=True)

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type != "code":
            return cell, resources
        size = sum(len(json.dumps(out)) for out in cell.get("outputs", []))
        if size > self.max_kb * 1024:
            cell.outputs = [nbformat.v4.new_output(
                "error", ename="OutputLimitExceeded",
                evalue=f"output limit of {self.max_kb} KB exceeded ({size // 1024} KB)",
                traceback=[],
            )]
        return cell, resources


#: where ServeSavedModels leaves the original sources for RestoreServedCells (cell index -> source)
SERVED_KEY = "autograder_served"


def serving_source(model_file: str, variable: str, original: str,
                   json_variables: dict[str, str] | None = None) -> str:
    """The code autograde runs in place of a training cell: load the saved model into ``variable``
    (and each of ``json_variables``, name -> file, from the JSON file the cell saved).

    The student already trained this model and saved it as ``model_file``; the notebook's tests
    then run against exactly that model (uncompiled when its compile settings cannot be restored,
    e.g. a loss defined in the notebook). When the file cannot be loaded, the cell's own code runs
    (``original``, through IPython's transformer so magics work) and nothing is lost.
    """
    return (
        "# autograder: this cell trained the model when you ran it; grading loads the model you saved.\n"
        "import keras as _autograder_keras\n"
        "try:\n"
        "    try:\n"
        f"        {variable} = _autograder_keras.saving.load_model({model_file!r})\n"
        "    except Exception:  # e.g. a loss function defined in the notebook: load it uncompiled\n"
        f"        {variable} = _autograder_keras.saving.load_model({model_file!r}, compile=False)\n"
        + "".join(
            f"    with open({file!r}) as _autograder_file:\n"
            f"        {name} = __import__('json').load(_autograder_file)\n"
            for name, file in sorted((json_variables or {}).items())
        )
        + "except Exception as _autograder_error:\n"
        f"    print(f'autograder: could not load {model_file} ({{_autograder_error}}); '\n"
        "          'running your training code instead')\n"
        "    del _autograder_error\n"
        f"    exec(compile(get_ipython().transform_cell({original!r}), '<training cell>', 'exec'))\n"
        "else:\n"
        f"    print('autograder: loaded {model_file}, the model you saved, instead of training it again')\n"
        "del _autograder_keras\n"
    )


class ServeSavedModels(NbGraderPreprocessor):
    """Before execution: replace each configured training cell by :func:`serving_source`.

    A cell is served only when the submission holds its model file; otherwise it trains as
    written. :class:`RestoreServedCells` puts the student's code back after execution, so the
    graded notebook and its feedback show the student's own cell (with the serving output).
    """

    cells = Dict(
        help="grade id of a training cell -> {'file': saved model file, 'variable': its name}",
    ).tag(config=True)

    def preprocess(self, nb, resources):
        folder = Path((resources.get("metadata") or {}).get("path") or ".")
        served: dict[int, str] = {}
        for index, cell in enumerate(nb.cells):
            target = self.cells.get(cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", ""))
            if cell.cell_type != "code" or not target or not (folder / target["file"]).is_file():
                continue
            served[index] = cell.source
            cell.source = serving_source(target["file"], target["variable"], cell.source,
                                         target.get("json"))
        resources[SERVED_KEY] = served
        return nb, resources


class RestoreServedCells(NbGraderPreprocessor):
    """After execution: the served cells get the student's source back (outputs stay)."""

    def preprocess(self, nb, resources):
        for index, source in resources.pop(SERVED_KEY, {}).items():
            nb.cells[index].source = source
        return nb, resources


def serve_config(specs) -> dict[str, dict[str, str]]:
    """``ServeSavedModels.cells`` for the models of a spec (those with an [autograde] table)."""
    return {
        m.autograde.training_cell: {"file": m.model_file, "variable": m.autograde.model_variable,
                                    "json": dict(m.autograde.json_variables)}
        for m in specs if m.autograde.training_cell
    }


def configure(c) -> None:
    """Apply the autograder's nbgrader settings to config ``c`` (call from nbgrader_config.py)."""
    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbgrader.preprocessors import (
        AssignLatePenalties,
        CheckCellMetadata,
        Execute,
        IgnorePattern,
        LimitOutput,
        SaveAutoGrades,
    )

    # Quiet TensorFlow in every kernel nbgrader starts (kernels inherit this environment).
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    c.Autograde.autograde_preprocessors = [
        ServeSavedModels,
        Execute,
        RestoreServedCells,
        StripFrameworkLogs,
        LimitOutputBytes,
        IgnorePattern,
        ClearMetadataPreprocessor,
        LimitOutput,
        SaveAutoGrades,
        AssignLatePenalties,
        CheckCellMetadata,
    ]
    # Training cells take longer than nbgrader's 30 s default.
    c.Execute.timeout = 600
    # ipykernel logs a security notice about local TCP at every start; it says nothing to graders.
    c.Execute.extra_arguments = KERNEL_ARGS
    # Student code runs only in sandboxed kernels (namespaces, no network, resource limits).
    from autograder.runner.kernel import SandboxedKernelManager

    c.Execute.kernel_manager_class = SandboxedKernelManager
    # Each assignment masks its own hidden files: the grader adds them per assignment
    # (autograder.runner.grade.kernel_overrides), so no other dataset's files are hidden here.
    # Feedback never shows hidden tests, and carries the model section the grader prepared.
    from autograder.nbgrader_feedback import configure_feedback

    configure_feedback(c)
