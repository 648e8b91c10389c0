"""Course plugins (autograder/plugins.py): tasks, metrics and datasets of an instructor's package.

Each test puts a small plugin distribution (a module and its ``.dist-info`` with entry points, as
``pip install`` leaves them) on ``sys.path``, as an instructor's installed package would be.
"""

from __future__ import annotations

import sys
import textwrap
import tomllib
from pathlib import Path

import numpy as np
import pytest

from autograder import plugins
from autograder.data import Split, dataset_loader, hidden_files, known_datasets, load_dataset
from autograder.errors import AutograderError, SpecError
from autograder.metrics import get_metric, known_metric
from autograder.scoring import score_metric
from autograder.spec import parse_spec
from autograder.tasks import get_task, known_tasks

MODULE = "agplug_course"
PLUGIN = '''
from pathlib import Path

import numpy as np

from autograder.data import Split
from autograder.metrics import MetricInfo, get_metric


def macro_recall_score(y_true, y_pred):
    """Balanced accuracy: the mean of per-class recalls."""
    y_true, pred = np.asarray(y_true), np.asarray(y_pred).argmax(axis=1)
    return float(np.mean([np.mean(pred[y_true == c] == c) for c in np.unique(y_true)]))


def _worst(y_true, y_pred):
    return float(np.max(np.abs(np.asarray(y_true) - np.asarray(y_pred))))


WORST = MetricInfo("worst", _worst, higher_is_better=False)


class ParityTask:
    name = "parity"

    def expected_output_shape(self, test):
        return (len(test), 2)

    def measure(self, metric, outputs, test):
        return get_metric(metric).func(test.y % 2, outputs)

    def baseline_outputs(self, kind, train, test):
        return np.tile([0.5, 0.5], (len(test), 1))


TASK = ParityTask()


class Blobs:
    """Points around two centres; the hidden split is read from a file beside this module."""

    hidden_path = Path(__file__).with_name("blobs_hidden.npz")

    def load(self, split, source):
        if split == "test":
            with np.load(self.hidden_path) as f:
                return Split(x=f["x"], y=f["y"])
        return Split(x=np.zeros((4, 2), np.float32), y=np.array([0, 1, 0, 1]))

    def hidden_files(self):
        return [self.hidden_path]


BLOBS = Blobs()
'''
ENTRY_POINTS = f"""
[autograder.metrics]
macro_recall_score = {MODULE}:macro_recall_score
worst = {MODULE}:WORST
no_direction = {MODULE}:_worst

[autograder.tasks]
parity = {MODULE}

[autograder.datasets]
blobs = {MODULE}:BLOBS
"""


def write_distribution(site: Path, name: str, entry_points: str, module: str = "", source: str = "") -> Path:
    """An installed distribution as pip leaves it: a module and ``<name>-0.1.dist-info``."""
    info = site / f"{name.replace('-', '_')}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(textwrap.dedent(entry_points))
    if module:
        (site / f"{module}.py").write_text(source)
    return site


@pytest.fixture
def course_plugin(tmp_path, monkeypatch):
    """The instructor's package ``agplug-course``, installed on sys.path."""
    site = write_distribution(tmp_path / "site", "agplug-course", ENTRY_POINTS, MODULE, PLUGIN)
    np.savez(site / "blobs_hidden.npz", x=np.ones((3, 2), np.float32), y=np.array([1, 0, 1]))
    monkeypatch.syspath_prepend(str(site))
    plugins.clear_cache()
    yield site
    sys.modules.pop(MODULE, None)
    plugins.clear_cache()


def test_a_plugin_metric_is_accepted_by_the_spec_and_scored(course_plugin):
    assert known_metric("macro_recall_score") and not known_metric("nonsense_score")
    spec = parse_spec({
        "assignment": "hw", "notebook": "hw", "task": "classifier", "dataset": "digits", "mode": "load",
        "model_file": "m.keras", "model_grade_id": "model", "seed": 1,
        "metrics": [{"name": "macro_recall_score", "points": 4, "baseline": "majority_class"}],
    })
    assert spec.metrics[0].name == "macro_recall_score"
    # a built-in task measures it: 3 of class 0 right, 1 of 1 of class 1 wrong -> (1 + 0) / 2
    test = Split(x=np.zeros((4, 1)), y=np.array([0, 0, 0, 1]))
    outputs = np.array([[1, 0], [1, 0], [1, 0], [1, 0]], dtype=np.float32)
    assert get_task("classifier").measure("macro_recall_score", outputs, test) == 0.5
    assert get_task("classifier").measure("accuracy", outputs, test) == 0.75
    score = score_metric("macro_recall_score", 0.75, baseline=0.5, reference=1.0, max_points=4)
    assert score.higher_is_better and score.points == pytest.approx(2.0)


def test_a_plugin_metric_info_keeps_its_direction(course_plugin):
    assert get_metric("worst").higher_is_better is False
    assert get_task("regression").measure("worst", np.array([1.0, 3.0]),
                                          Split(x=np.zeros(2), y=np.array([1.0, 1.0]))) == 2.0
    score = score_metric("worst", 0.5, baseline=1.0, reference=0.0, max_points=2)
    assert score.points == pytest.approx(1.0)


def test_a_plugin_function_without_a_direction_is_refused(course_plugin):
    with pytest.raises(ValueError, match="no_direction.*MetricInfo"):
        get_metric("no_direction")
    with pytest.raises(SpecError, match=r"metrics\[0\]: cannot infer the direction of metric 'no_direction'"):
        parse_spec({"assignment": "hw", "notebook": "hw", "task": "classifier", "dataset": "digits",
                    "mode": "load", "model_file": "m.keras", "model_grade_id": "model", "seed": 1,
                    "metrics": [{"name": "no_direction", "points": 1, "baseline": "uniform"}]})


def test_a_plugin_cannot_replace_a_builtin_metric(course_plugin, tmp_path, monkeypatch):
    site = write_distribution(tmp_path / "other", "agplug-shadow",
                              f"[autograder.metrics]\naccuracy = {MODULE}:macro_recall_score\n")
    monkeypatch.syspath_prepend(str(site))
    plugins.clear_cache()
    with pytest.raises(ValueError, match="agplug-shadow registers metric 'accuracy', a built-in"):
        get_metric("accuracy")
    assert get_metric("top_2_accuracy").higher_is_better  # the other metrics are unaffected


def test_spec_lists_plugin_metrics_when_a_name_is_unknown(course_plugin):
    with pytest.raises(SpecError, match="unknown metric 'recall'; known: .*'macro_recall_score'"):
        parse_spec({"assignment": "hw", "notebook": "hw", "task": "classifier", "dataset": "digits",
                    "mode": "load", "model_file": "m.keras", "model_grade_id": "model", "seed": 1,
                    "metrics": [{"name": "recall", "points": 1, "baseline": "uniform"}]})


def test_builtin_tasks_refuse_builtin_metrics_of_other_models(course_plugin):
    with pytest.raises(SpecError, match="does not measure 'inception_score'"):
        get_task("classifier").measure("inception_score", np.zeros((2, 2)), Split(np.zeros(2), np.zeros(2)))


def test_a_plugin_task_and_dataset_are_found_by_name(course_plugin):
    assert "parity" in known_tasks() and "classifier" in known_tasks()
    task = get_task("parity")
    assert task.name == "parity"
    assert "blobs" in known_datasets() and "digits" in known_datasets()
    test = load_dataset("blobs", "test")
    assert test.y.tolist() == [1, 0, 1]
    outputs = task.baseline_outputs("any", load_dataset("blobs", "train"), test)
    assert task.measure("accuracy", outputs, test) == pytest.approx(1 / 3)
    # an assignment on the plugin's dataset masks the plugin's hidden file, and only it
    assert hidden_files(["blobs"]) == [course_plugin / "blobs_hidden.npz"]


def test_unknown_names_say_what_is_known(course_plugin):
    with pytest.raises(SpecError, match="unknown task 'segmentation'; known tasks: .*'parity'"):
        get_task("segmentation")
    with pytest.raises(AutograderError, match="unknown dataset 'cells'; known: .*'blobs'"):
        load_dataset("cells", "train")


def test_two_packages_claiming_one_name_are_reported(course_plugin, tmp_path):
    rival = f"[autograder.tasks]\nparity = {MODULE}:ParityTask\n"
    write_distribution(tmp_path / "other", "agplug-rival", rival)
    sys.path.insert(0, str(tmp_path / "other"))
    try:
        plugins.clear_cache()
        with pytest.raises(SpecError, match="'parity' is registered twice.*agplug-course.*agplug-rival"):
            get_task("parity")
    finally:
        sys.path.remove(str(tmp_path / "other"))


def test_a_broken_plugin_names_its_package(tmp_path, monkeypatch):
    broken = "[autograder.tasks]\nbroken = agplug_gone:TASK\n"
    site = write_distribution(tmp_path / "site", "agplug-broken", broken)
    monkeypatch.syspath_prepend(str(site))
    plugins.clear_cache()
    try:
        with pytest.raises(SpecError, match="agplug-broken registers 'broken'.*cannot be loaded"):
            get_task("broken")
        assert get_task("classifier").name == "classifier"  # the rest of the course is unaffected
    finally:
        plugins.clear_cache()


def test_the_bundled_course_registers_every_task_and_dataset_by_entry_point(repo_root):
    """Our own tasks and datasets come through the public mechanism (pyproject.toml's groups)."""
    groups = tomllib.loads((repo_root / "pyproject.toml").read_text())["project"]["entry-points"]
    modules = sorted(p.stem for p in (repo_root / "autograder" / "tasks").glob("*.py")
                     if not p.stem.startswith("_"))
    assert sorted(groups["autograder.tasks"]) == modules
    for name in modules:
        assert get_task(name).name == name
    for name, value in groups["autograder.datasets"].items():
        assert callable(dataset_loader(name).load), (name, value)
    assert set(groups["autograder.datasets"]) <= set(known_datasets())
