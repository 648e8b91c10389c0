"""Tests for autograder.nbgrader_plugins: StripFrameworkLogs and the nbgrader configuration."""

from __future__ import annotations

import copy
import os

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output
from nbgrader.utils import determine_grade
from traitlets.config import Config

from autograder.nbgrader_plugins import StripFrameworkLogs, configure

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

TF_CPP_INFO = (
    "I0000 00:00:1795610472.030549    3152 cpu_feature_guard.cc:227] This TensorFlow binary is "
    "optimized to use available CPU instructions in performance-critical operations.\n"
)
TF_CPP_WARNING = "W0000 00:00:1795610472.030549    3152 some_file.cc:12] something happened\n"
TF_CPP_ERROR = "E0000 00:00:1795610472.123456   77 cuda_dnn.cc:8310] Unable to register cuDNN\n"
ABSL = (
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
)
AVX = (
    "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow "
    "with the appropriate compiler flags.\n"
)
PY_WARNING = (
    "/x/keras/src/layers/core/dense.py:93: UserWarning: Do not pass an `input_shape`/`input_dim` "
    "argument to a layer. When using Sequential models, prefer using an `Input(shape)` object "
    "as the first layer in the model instead.\n"
    "  super().__init__(activity_regularizer=activity_regularizer, **kwargs)\n"
)
TF_LOGS = TF_CPP_INFO + TF_CPP_WARNING + TF_CPP_ERROR + ABSL + AVX + PY_WARNING
STUDENT_LINE = "x\n"  # what print("x", file=sys.stderr) writes



def stderr(text: str):
    return new_output("stream", name="stderr", text=text)


def stdout(text: str):
    return new_output("stream", name="stdout", text=text)


def error_output():
    return new_output("error", ename="AssertionError", evalue="boom", traceback=["tb"])


def grade_cell(outputs, points: float = 2.0):
    cell = new_code_cell(source="assert True", outputs=list(outputs), execution_count=1)
    cell.metadata["nbgrader"] = {
        "grade": True, "solution": False, "locked": True, "task": False,
        "grade_id": "test_x", "points": points, "schema_version": 3,
    }
    return cell


def run(cell):
    cell = copy.deepcopy(cell)
    out, resources = StripFrameworkLogs().preprocess_cell(cell, {}, 0)
    return out


# --- strip() line by line ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        TF_CPP_INFO,
        TF_CPP_WARNING,
        TF_CPP_ERROR,
        ABSL,
        AVX,
        PY_WARNING,
        TF_LOGS,
    ],
    ids=["cpp-info", "cpp-warning", "cpp-error", "absl", "avx", "py-warning", "all"],
)
def test_strip_removes_framework_lines(text):
    assert StripFrameworkLogs().strip(text) == ""


def test_strip_removes_python_logging_and_dated_lines():
    text = (
        "WARNING:tensorflow:5 out of the last 5 calls triggered tf.function retracing.\n"
        "INFO:absl:Fingerprint not found.\n"
        "2024-05-01 12:00:00.123456: I tensorflow/core/platform/cpu_feature_guard.cc:182] x\n"
    )
    assert StripFrameworkLogs().strip(text) == ""


def test_strip_keeps_student_text_between_logs():
    text = TF_CPP_INFO + STUDENT_LINE + PY_WARNING + "second line\n" + ABSL
    assert StripFrameworkLogs().strip(text) == STUDENT_LINE + "second line\n"


def test_indented_student_line_not_after_a_warning_is_kept():
    text = "  indented by the student\n" + TF_CPP_INFO + "  also kept\n"
    assert StripFrameworkLogs().strip(text) == "  indented by the student\n  also kept\n"


def test_only_one_source_line_is_skipped_after_a_warning():
    text = PY_WARNING + "  second indented line\n"
    assert StripFrameworkLogs().strip(text) == "  second indented line\n"


def test_python_warnings_kept_when_disabled():
    strip = StripFrameworkLogs(strip_python_warnings=False)
    assert strip.strip(PY_WARNING) == PY_WARNING
    assert strip.strip(TF_CPP_INFO) == ""


def test_custom_patterns_replace_defaults():
    strip = StripFrameworkLogs(patterns=[r"^noise$"])
    assert strip.strip("noise\n" + TF_CPP_INFO) == TF_CPP_INFO


# --- preprocess_cell --------------------------------------------------------------------------


def test_stderr_output_that_becomes_empty_is_dropped():
    cell = run(grade_cell([stdout("hello\n"), stderr(TF_LOGS), stdout("bye\n")]))
    assert [o.get("name") for o in cell.outputs] == ["stdout", "stdout"]
    assert [o.text for o in cell.outputs] == ["hello\n", "bye\n"]


def test_stderr_with_student_text_is_kept_and_trimmed():
    cell = run(grade_cell([stderr(TF_CPP_INFO + STUDENT_LINE + ABSL)]))
    assert len(cell.outputs) == 1
    assert cell.outputs[0].name == "stderr"
    assert cell.outputs[0].text == STUDENT_LINE


def test_stdout_and_errors_untouched():
    outputs = [stdout(TF_LOGS), error_output()]
    cell = run(grade_cell(outputs))
    assert cell.outputs == outputs


def test_whitespace_only_stderr_is_dropped():
    cell = run(grade_cell([stderr(TF_CPP_INFO + "\n  \n")]))
    assert cell.outputs == []


def test_markdown_cells_and_disabled_preprocessor_untouched():
    md = nbformat.v4.new_markdown_cell("I0000 00:00:1.0 1 a.cc:1] x")
    out, _ = StripFrameworkLogs().preprocess_cell(copy.deepcopy(md), {}, 0)
    assert out == md
    cell = grade_cell([stderr(TF_LOGS)])
    out, _ = StripFrameworkLogs(enabled=False).preprocess_cell(copy.deepcopy(cell), {}, 0)
    assert out == cell


def test_preprocess_whole_notebook():
    nb = new_notebook(cells=[grade_cell([stderr(TF_LOGS)]), new_code_cell("x = 1")])
    out, _ = StripFrameworkLogs().preprocess(copy.deepcopy(nb), {})
    assert out.cells[0].outputs == []
    nbformat.validate(out)


# --- nbgrader's own grading -------------------------------------------------------------------


def test_tf_logs_alone_get_full_points_only_after_stripping():
    cell = grade_cell([stdout("validation accuracy: 0.950\n"), stderr(TF_LOGS)], points=2)
    assert determine_grade(cell) == (0, 2.0)  # what nbgrader does without our preprocessor
    assert determine_grade(run(cell)) == (2.0, 2.0)


def test_warnings_and_absl_lines_alone_get_full_points():
    cell = grade_cell([stderr(ABSL + PY_WARNING + AVX)], points=1)
    assert determine_grade(cell) == (0, 1.0)
    assert determine_grade(run(cell)) == (1.0, 1.0)


def test_student_stderr_still_gets_zero():
    cell = grade_cell([stderr(TF_CPP_INFO + STUDENT_LINE)], points=2)
    assert determine_grade(run(cell)) == (0, 2.0)


def test_errors_still_get_zero():
    cell = grade_cell([stderr(TF_LOGS), error_output()], points=2)
    assert determine_grade(run(cell)) == (0, 2.0)


# --- configure --------------------------------------------------------------------------------


def test_configure_inserts_preprocessor(monkeypatch):
    from nbgrader.preprocessors import Execute, SaveAutoGrades

    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    c = Config()
    configure(c)
    pre = list(c.Autograde.autograde_preprocessors)
    i = pre.index(Execute)
    assert pre[i + 1].__name__ == "RestoreServedCells" and pre[i + 2] is StripFrameworkLogs
    assert pre[i - 1].__name__ == "ServeSavedModels"
    assert pre.index(StripFrameworkLogs) < pre.index(SaveAutoGrades)
    # Kernels start quietly and sandboxed.
    assert "--IPKernelApp.log_level=CRITICAL" in c.Execute.extra_arguments
    from autograder.runner.kernel import SandboxedKernelManager

    assert c.Execute.kernel_manager_class is SandboxedKernelManager
    assert c.Execute.timeout >= 600
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "2"


def test_configure_matches_nbgrader_defaults_otherwise():
    """Only our steps are added: every one of nbgrader's default autograde steps stays, in order."""
    from nbgrader.converters import Autograde

    defaults = list(Autograde.autograde_preprocessors.default())
    c = Config()
    configure(c)
    from autograder.nbgrader_plugins import LimitOutputBytes, RestoreServedCells, ServeSavedModels

    ours = [p for p in c.Autograde.autograde_preprocessors
            if p not in (StripFrameworkLogs, LimitOutputBytes, ServeSavedModels, RestoreServedCells)]
    assert ours == defaults


def test_limit_output_bytes_fails_a_cell_with_huge_output():
    from nbformat.v4 import new_code_cell, new_output
    from nbgrader.utils import determine_grade

    from autograder.nbgrader_plugins import LimitOutputBytes

    cell = new_code_cell("print('x' * 10**6)")
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": "t", "points": 1, "solution": False,
                                 "locked": True, "schema_version": 3, "task": False}
    cell.outputs = [new_output("stream", name="stdout", text="x" * 10**6)]
    pre = LimitOutputBytes(max_kb=64)
    cell, _ = pre.preprocess_cell(cell, {}, 0)
    assert determine_grade(cell) == (0, 1.0)
    assert "output limit of 64 KB exceeded" in cell.outputs[0]["evalue"]
    small = new_code_cell("print(1)")
    small.outputs = [new_output("stream", name="stdout", text="1\n")]
    assert pre.preprocess_cell(small, {}, 0)[0].outputs == small.outputs


# --- never train twice: ServeSavedModels / RestoreServedCells --------------------------------

TRAINING = "model = build()\nmodel.fit(x, y)\nmodel.save('m.keras')"


def served_notebook():
    cells = [new_code_cell("x = 1"), new_code_cell(TRAINING), new_code_cell("assert model")]
    cells[1].metadata["nbgrader"] = {"grade_id": "train_model", "solution": True, "grade": False}
    cells[2].metadata["nbgrader"] = {"grade_id": "test_model", "solution": False, "grade": True}
    return new_notebook(cells=cells)


def serve(folder, nb):
    from autograder.nbgrader_plugins import ServeSavedModels

    pre = ServeSavedModels(cells={"train_model": {"file": "m.keras", "variable": "model"}})
    return pre.preprocess(nb, {"metadata": {"path": str(folder)}})


def test_a_training_cell_is_served_when_its_model_file_was_submitted(tmp_path):
    from autograder.nbgrader_plugins import RestoreServedCells, serving_source

    (tmp_path / "m.keras").write_bytes(b"saved")
    nb, resources = serve(tmp_path, served_notebook())
    assert nb.cells[1].source == serving_source("m.keras", "model", TRAINING)
    assert nb.cells[0].source == "x = 1" and nb.cells[2].source == "assert model"
    nb.cells[1].outputs = [new_output("stream", name="stdout", text="autograder: loaded\n")]
    nb, resources = RestoreServedCells().preprocess(nb, resources)
    assert nb.cells[1].source == TRAINING  # the student's code is back, with the serving output
    assert nb.cells[1].outputs[0]["text"] == "autograder: loaded\n"


def test_a_training_cell_runs_as_written_without_its_model_file(tmp_path):
    nb, resources = serve(tmp_path, served_notebook())
    assert nb.cells[1].source == TRAINING and resources["autograder_served"] == {}


def test_unconfigured_serving_changes_nothing(tmp_path):
    from autograder.nbgrader_plugins import ServeSavedModels

    (tmp_path / "m.keras").write_bytes(b"saved")
    nb, _ = ServeSavedModels().preprocess(served_notebook(), {"metadata": {"path": str(tmp_path)}})
    assert nb.cells[1].source == TRAINING


@pytest.fixture
def shell(tmp_path, monkeypatch):
    """A real IPython shell running in tmp_path (what the kernel runs served cells with)."""
    from IPython.core.interactiveshell import InteractiveShell

    monkeypatch.chdir(tmp_path)
    sh = InteractiveShell.instance()
    yield sh
    InteractiveShell.clear_instance()


def test_served_code_loads_the_saved_model(shell, tmp_path, capsys):
    import keras
    import numpy as np

    from autograder.nbgrader_plugins import serving_source

    saved = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(2)])
    saved.save(tmp_path / "m.keras")
    (tmp_path / "h.json").write_text('{"loss": [1.5, 0.5]}')
    result = shell.run_cell(serving_source("m.keras", "model", "raise RuntimeError('trained again')",
                                           {"history": "h.json"}))
    assert result.success, result.error_in_exec
    assert shell.user_ns["history"] == {"loss": [1.5, 0.5]}
    loaded = shell.user_ns["model"]
    x = np.ones((1, 3), dtype="float32")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), saved.predict(x, verbose=0))
    assert "loaded m.keras, the model you saved" in capsys.readouterr().out
    assert "_autograder_keras" not in shell.user_ns


def test_an_unloadable_model_file_runs_the_students_own_cell(shell, tmp_path, capsys):
    from autograder.nbgrader_plugins import serving_source

    (tmp_path / "m.keras").write_bytes(b"not a keras file")
    original = "model = 'trained in the cell'\n%time steps = 3"  # magics work too
    result = shell.run_cell(serving_source("m.keras", "model", original))
    assert result.success, result.error_in_exec
    assert shell.user_ns["model"] == "trained in the cell" and shell.user_ns["steps"] == 3
    assert "could not load m.keras" in capsys.readouterr().out


def test_serve_config_lists_every_part_with_a_training_cell():
    from autograder.course import Course
    from autograder.nbgrader_plugins import serve_config

    spec = Course.at(REPO).spec("restoration")
    cells = serve_config(spec.models())
    assert cells["train_upres"] == {"file": "upres.keras", "variable": "upres", "json": {}}
    assert len(cells) == 4
    assert serve_config(Course.at(REPO).spec("data_pipeline").models()) == {}


def test_a_missing_json_result_runs_the_students_own_cell(shell, tmp_path, capsys):
    import keras

    from autograder.nbgrader_plugins import serving_source

    keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(2)]).save(tmp_path / "m.keras")
    result = shell.run_cell(serving_source("m.keras", "model", "model, history = 'own', 'own'",
                                           {"history": "h.json"}))
    assert result.success, result.error_in_exec
    assert shell.user_ns["history"] == "own" and shell.user_ns["model"] == "own"
    assert "h.json" in capsys.readouterr().out


def test_a_model_compiled_with_a_notebook_loss_is_served_uncompiled(shell, tmp_path, capsys):
    import keras

    from autograder.nbgrader_plugins import serving_source

    def notebook_loss(y_true, y_pred):  # not registered: Keras cannot restore the compile settings
        return keras.ops.mean(y_pred)

    model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(2)])
    model.compile(optimizer="adam", loss=notebook_loss)
    model.save(tmp_path / "m.keras")
    result = shell.run_cell(serving_source("m.keras", "model", "raise RuntimeError('trained again')"))
    assert result.success, result.error_in_exec
    assert isinstance(shell.user_ns["model"], keras.Model)
    assert "loaded m.keras, the model you saved" in capsys.readouterr().out
