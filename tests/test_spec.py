"""Tests for autograder.spec: the committed digits spec, validation errors, reference metrics."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest

from autograder.errors import ReferenceMissingError, SpecError
from autograder.spec import (
    METRICS_FILE,
    SPEC_FILE,
    Budget,
    GradingSpec,
    MetricSpec,
    TrainSpec,
    load_reference_metrics,
    load_spec,
    parse_spec,
)

REPO = Path(__file__).resolve().parents[1]
DIGITS_REF = REPO / "reference_models" / "digits"

VALID: dict = {
    "assignment": "demo",
    "notebook": "demo",
    "task": "classifier",
    "dataset": "digits",
    "mode": "load",
    "model_file": "model.keras",
    "model_grade_id": "model_quality",
    "seed": 7,
    "metrics": [
        {"name": "accuracy", "points": 5, "baseline": "majority_class"},
        {"name": "top_2_accuracy", "points": 1, "baseline": "majority_class",
         "extra_credit": True},
    ],
    "budget": {"epochs": 3, "batch_size": 32},
    "train": {"cells": ["imports", "build_model"]},
}

VALID_TOML = """\
assignment = "{name}"
notebook = "{name}"
task = "classifier"
dataset = "digits"
mode = "load"
model_file = "model.keras"
model_grade_id = "model_quality"
seed = 1

[[metrics]]
name = "accuracy"
points = 6
baseline = "majority_class"
"""


def valid(**changes) -> dict:
    data = copy.deepcopy(VALID)
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def spec_error(data: dict) -> str:
    with pytest.raises(SpecError) as info:
        parse_spec(data)
    return str(info.value)


# --- the committed digits spec ---------------------------------------------------------------


def test_committed_digits_spec_loads(monkeypatch):
    monkeypatch.chdir(REPO)
    spec = load_spec(Path("reference_models/digits"))
    assert isinstance(spec, GradingSpec)
    assert spec.assignment == "digits"
    assert spec.notebook == "digits"
    assert spec.task == "classifier"
    assert spec.dataset == "digits"
    assert spec.mode == "load"
    assert spec.model_file == "digits_model.keras"
    assert spec.model_grade_id == "model_quality"
    assert spec.seed == 1234
    assert spec.reference_seed == 1234
    assert spec.budget == Budget(epochs=8, batch_size=64, time_limit_s=300.0, max_model_mb=20)
    assert spec.train == TrainSpec(cells=("imports", "build_model"), builder="build_model")
    assert spec.metrics == (
        MetricSpec("accuracy", 6.0, "majority_class", extra_credit=False),
        MetricSpec("top_2_accuracy", 1.0, "majority_class", extra_credit=True),
    )
    assert spec.max_model_points == 6.0


def test_parse_valid_spec_defaults():
    data = valid(budget=None, train=None)
    spec = parse_spec(data)
    assert spec.budget == Budget()
    assert spec.train == TrainSpec()
    assert spec.reference_seed == spec.seed == 7
    assert all(isinstance(m.points, float) for m in spec.metrics)
    assert spec.max_model_points == 5.0


def test_with_mode():
    spec = parse_spec(valid())
    trained = spec.with_mode("train")
    assert trained.mode == "train"
    assert spec.mode == "load"  # the original is unchanged (frozen)
    assert trained.metrics == spec.metrics and trained.train == spec.train
    with pytest.raises(SpecError, match="bogus"):
        spec.with_mode("bogus")


def test_model_file_is_needed_in_load_mode_only():
    assert "mode 'load' needs model_file" in spec_error(valid(model_file=None))
    spec = parse_spec(valid(model_file=None, mode="train"))  # e.g. a task grading notebook code
    assert spec.model_file == ""


# --- parse_spec errors ------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["assignment", "notebook", "task", "dataset", "mode",
                                 "model_grade_id", "seed"])
def test_missing_required_key(key):
    msg = spec_error(valid(**{key: None}))
    assert "missing required key" in msg and repr(key) in msg


@pytest.mark.parametrize(
    "changes",
    [
        {"budget": {"epochs": "3"}},
        {"budget": {"epochs": 2.5}},
        {"budget": {"max_model_mb": -1}},
        {"budget": [1]},
        {"train": {"cells": "imports"}},
        {"reference_seed": "x"},
        {"metrics": [1]},
        {"metrics": [{"name": "accuracy", "points": 1, "baseline": "majority_class",
                      "extra_credit": "no"}]},
    ],
    ids=["epochs-str", "epochs-float", "model-mb-negative", "budget-not-table", "cells-str",
         "reference-seed-str", "metric-not-table", "extra-credit-str"],
)
def test_malformed_tables_raise_spec_error(changes):
    spec_error(valid(**changes))


def test_missing_metrics():
    assert "[[metrics]]" in spec_error(valid(metrics=None))
    assert "[[metrics]]" in spec_error(valid(metrics=[]))


def test_missing_metric_key():
    msg = spec_error(valid(metrics=[{"name": "accuracy", "points": 1}]))
    assert "metrics[0]" in msg and "'baseline'" in msg


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [("seed", "7", "int"), ("seed", 1.5, "int"), ("seed", True, "int"),
     ("assignment", 3, "str"), ("mode", 1, "str")],
)
def test_wrong_type(key, value, expected):
    msg = spec_error(valid(**{key: value}))
    assert repr(key) in msg and f"must be {expected}" in msg


def test_wrong_metric_points_type():
    msg = spec_error(valid(metrics=[{"name": "accuracy", "points": "6",
                                     "baseline": "majority_class"}]))
    assert "'points'" in msg and "must be float" in msg


def test_bad_mode():
    msg = spec_error(valid(mode="predict"))
    assert "mode" in msg and "'predict'" in msg and "load" in msg and "train" in msg


def test_unknown_metric():
    msg = spec_error(valid(metrics=[{"name": "f1", "points": 1, "baseline": "majority_class"}]))
    assert "unknown metric 'f1'" in msg and "accuracy" in msg


def test_negative_points():
    msg = spec_error(valid(metrics=[{"name": "accuracy", "points": -1,
                                     "baseline": "majority_class"}]))
    assert "points must be >= 0" in msg and "metrics[0]" in msg


def test_duplicate_metric():
    m = {"name": "accuracy", "points": 1, "baseline": "majority_class"}
    assert "listed twice" in spec_error(valid(metrics=[m, dict(m)]))


def test_unknown_top_level_key():
    msg = spec_error(valid(epochs=3))
    assert "unknown keys" in msg and "'epochs'" in msg


def test_unknown_budget_key():
    msg = spec_error(valid(budget={"epochs": 2, "gpus": 4}))
    assert "[budget]" in msg and "gpus" in msg


def test_unknown_train_key():
    msg = spec_error(valid(train={"cells": ["a"], "fit": "x"}))
    assert "[train]" in msg and "'fit'" in msg


@pytest.mark.parametrize("train", [None, {}, {"cells": []}])
def test_train_mode_without_cells(train):
    msg = spec_error(valid(mode="train", train=train))
    assert "mode 'train'" in msg and "cells" in msg


def test_train_mode_with_cells_parses():
    assert parse_spec(valid(mode="train")).mode == "train"


@pytest.mark.parametrize("budget", [{"epochs": 0}, {"epochs": -2}, {"batch_size": 0},
                                    {"time_limit_s": 0}])
def test_non_positive_budget(budget):
    assert "must be positive" in spec_error(valid(budget=budget))


def test_where_prefixes_messages():
    with pytest.raises(SpecError, match=r"^my\.toml: "):
        parse_spec(valid(seed="x"), where="my.toml")
    with pytest.raises(SpecError, match=r"^my\.toml: metrics\[0\]: "):
        parse_spec(valid(metrics=[{"name": "nope"}]), where="my.toml")


def test_bad_mode_message_names_where():
    with pytest.raises(SpecError, match=r"^my\.toml: "):
        parse_spec(valid(mode="x"), where="my.toml")


# --- load_spec --------------------------------------------------------------------------------


def test_assignment_must_match_folder(tmp_path):
    folder = tmp_path / "other"
    folder.mkdir()
    (folder / SPEC_FILE).write_text(VALID_TOML.format(name="digits"), encoding="utf-8")
    with pytest.raises(SpecError) as info:
        load_spec(folder)
    msg = str(info.value)
    assert "'digits'" in msg and "'other'" in msg and "does not match" in msg


def test_load_spec_from_tmp(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / SPEC_FILE).write_text(VALID_TOML.format(name="mine"), encoding="utf-8")
    spec = load_spec(folder)
    assert spec.assignment == "mine" and spec.metrics[0].points == 6.0


def test_invalid_toml(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / SPEC_FILE).write_text('assignment = "mine\nseed = [', encoding="utf-8")
    with pytest.raises(SpecError, match="not valid TOML"):
        load_spec(folder)


def test_invalid_spec_names_file(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    text = VALID_TOML.format(name="mine").replace("seed = 1", 'seed = "1"')
    (folder / SPEC_FILE).write_text(text, encoding="utf-8")
    with pytest.raises(SpecError, match=r"spec\.toml"):
        load_spec(folder)


def test_missing_spec_file(tmp_path):
    with pytest.raises(SpecError) as info:
        load_spec(tmp_path / "nothing")
    assert "spec.toml" in str(info.value)


# --- load_reference_metrics -------------------------------------------------------------------


def test_committed_metrics_load():
    spec = load_spec(DIGITS_REF)
    ref = load_reference_metrics(DIGITS_REF, spec)
    assert ref.data_fingerprint and ref.version
    for m in spec.metrics:
        reference = ref.reference[m.name]
        baseline = ref.baseline_value(m)
        assert 0.0 <= baseline < reference <= 1.0, (m.name, baseline, reference)
    # Keys that are not part of the typed record land in ``extra``.
    assert ref.extra["assignment"] == "digits"
    assert "reference" not in ref.extra


def _copy_reference(tmp_path: Path) -> Path:
    dest = tmp_path / "digits"
    dest.mkdir()
    for name in (SPEC_FILE, METRICS_FILE):
        shutil.copy(DIGITS_REF / name, dest / name)
    return dest


def test_metrics_missing_a_metric(tmp_path):
    dest = _copy_reference(tmp_path)
    data = json.loads((dest / METRICS_FILE).read_text(encoding="utf-8"))
    del data["reference"]["top_2_accuracy"]
    (dest / METRICS_FILE).write_text(json.dumps(data), encoding="utf-8")
    spec = load_spec(dest)
    with pytest.raises(ReferenceMissingError) as info:
        load_reference_metrics(dest, spec)
    msg = str(info.value)
    assert "top_2_accuracy" in msg and "autograder train-reference digits" in msg


def test_metrics_missing_a_baseline(tmp_path):
    dest = _copy_reference(tmp_path)
    data = json.loads((dest / METRICS_FILE).read_text(encoding="utf-8"))
    data["baseline"]["accuracy"] = {}
    (dest / METRICS_FILE).write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ReferenceMissingError, match="autograder train-reference"):
        load_reference_metrics(dest, load_spec(dest))


def test_metrics_file_missing(tmp_path):
    dest = _copy_reference(tmp_path)
    (dest / METRICS_FILE).unlink()
    with pytest.raises(ReferenceMissingError) as info:
        load_reference_metrics(dest, load_spec(dest))
    assert "metrics.json" in str(info.value)
    assert "autograder train-reference digits" in str(info.value)


# --- multi-model assignments: [[parts]] ------------------------------------------------------

PART_KEYS_OF_VALID = ("task", "dataset", "model_file", "model_grade_id", "metrics")


def with_parts(*names: str, **part_changes) -> dict:
    shared = {k: v for k, v in copy.deepcopy(VALID).items() if k not in PART_KEYS_OF_VALID}
    parts = []
    for i, name in enumerate(names):
        part = {k: copy.deepcopy(VALID[k]) for k in PART_KEYS_OF_VALID}
        part.update(name=name, model_file=f"{name}.keras", model_grade_id=f"{name}_quality")
        part["metrics"] = [{"name": "accuracy", "points": 2 + i, "baseline": "majority_class"}]
        part.update(part_changes)
        parts.append(part)
    return {**shared, "parts": parts}


def test_parts_inherit_shared_keys_and_merge_train_and_budget():
    data = with_parts("first", "second")
    data["parts"][1]["train"] = {"builder": "build_second"}
    data["parts"][1]["budget"] = {"epochs": 9}
    spec = parse_spec(data)
    first, second = spec.models()
    assert [m.part for m in spec.models()] == ["first", "second"] and spec.part == ""
    assert second.train == TrainSpec(cells=("imports", "build_model"), builder="build_second")
    assert second.budget == Budget(epochs=9, batch_size=32)  # batch size from the shared [budget]
    assert first.budget.epochs == 3 and first.seed == second.seed == 7
    assert spec.max_model_points == 2 + 3
    trained = spec.with_mode("train")
    assert trained.mode == "train" and all(m.mode == "train" for m in trained.models())


def test_a_single_model_spec_is_its_only_model():
    spec = parse_spec(valid())
    assert spec.models() == (spec,) and spec.part == ""


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d.update(parts=[]), "one or more [[parts]]"),
        (lambda d: d.update(parts=["x"]), "one or more [[parts]]"),
        (lambda d: d.update(task="classifier"), "belong in each [[parts]] table"),
        (lambda d: d["parts"][0].pop("name"), "missing required key 'name'"),
        (lambda d: d["parts"][0].update(name="a/b"), "plain identifier"),
        (lambda d: d["parts"][0].update(seed=3), "unknown keys ['seed']"),
        (lambda d: d["parts"][1].update(name="first"), "its own name"),
        (lambda d: d["parts"][1].update(model_file="first.keras"), "its own model_file"),
        (lambda d: d["parts"][1].update(model_grade_id="first_quality"), "its own model_grade_id"),
        (lambda d: d["parts"][1].update(metrics=[]), "part 'second': at least one [[metrics]]"),
    ],
)
def test_bad_parts_raise_spec_error(change, expected):
    data = with_parts("first", "second")
    change(data)
    assert expected in spec_error(data)


def test_train_mode_needs_cells_in_every_part():
    data = with_parts("first", "second")
    data.pop("train")
    with pytest.raises(SpecError, match="part 'first'"):
        parse_spec(data).with_mode("train")


def test_committed_restoration_spec_has_four_parts_with_references():
    from autograder.course import Course

    course = Course.at(REPO)
    spec = course.spec("restoration")
    assert [m.part for m in spec.models()] == ["colorize", "upres", "inpaint", "frames"]
    for model in spec.models():
        refm = course.reference_metrics(model)
        assert (course.model_reference_dir(model) / "reference.keras").is_file()
        for metric in model.metrics:  # every reference beats its part's baseline
            better = refm.reference[metric.name] > refm.baseline_value(metric)
            assert better == (metric.name == "peak_signal_noise_ratio"), (model.part, metric.name)


# --- [autograde]: the training cell autograde serves from the saved model ---------------------


def test_autograde_table_names_the_training_cell_and_variable():
    spec = parse_spec(valid(autograde={"training_cell": "train_model", "model_variable": "model"}))
    assert spec.autograde.training_cell == "train_model" and spec.autograde.model_variable == "model"
    assert parse_spec(valid()).autograde.training_cell == ""  # optional: autograde runs every cell
    extra = {"training_cell": "t", "model_variable": "m", "json_variables": {"history": "h.json"}}
    assert parse_spec(valid(autograde=extra)).autograde.json_variables == (("history", "h.json"),)


@pytest.mark.parametrize(
    ("autograde", "expected"),
    [
        ({"training_cell": "train_model"}, "missing required key 'model_variable'"),
        ({"training_cell": "t", "model_variable": "my model"}, "must be a Python name"),
        ({"training_cell": "t", "model_variable": "m", "file": "x"}, "unknown keys ['file']"),
        ({"training_cell": 3, "model_variable": "m"}, "'training_cell' must be str"),
        ({"training_cell": "t", "model_variable": "m", "json_variables": {"h": "h.npz"}}, ".json files"),
        ({"training_cell": "t", "model_variable": "m", "json_variables": ["h"]}, "must be dict"),
    ],
)
def test_bad_autograde_tables_raise_spec_error(autograde, expected):
    assert expected in spec_error(valid(autograde=autograde))


def test_autograde_needs_the_model_file_it_serves():
    data = valid(mode="train", model_file=None,
                 autograde={"training_cell": "train_model", "model_variable": "model"})
    assert "needs model_file" in spec_error(data)


def test_each_part_has_its_own_autograde_table():
    data = with_parts("first", "second")
    data["parts"][1]["autograde"] = {"training_cell": "train_second", "model_variable": "second"}
    first, second = parse_spec(data).models()
    assert first.autograde.training_cell == "" and second.autograde.training_cell == "train_second"
    data["autograde"] = {"training_cell": "train", "model_variable": "m"}
    assert "belong in each [[parts]] table" in spec_error(data)


def test_evaluation_table_sets_where_models_run():
    spec = parse_spec({**copy.deepcopy(VALID), "evaluation": {"sandbox": "always", "cells": ["layers"]}})
    assert spec.evaluation.sandbox == "always" and spec.evaluation.cells == ("layers",)
    assert parse_spec(copy.deepcopy(VALID)).evaluation.sandbox == "auto"
    for bad, fragment in (({"sandbox": "sometimes"}, "auto, always, never"),
                          ({"cells": [1]}, "grade ids"), ({"sandboxed": True}, "unknown keys")):
        with pytest.raises(SpecError, match=fragment):
            parse_spec({**copy.deepcopy(VALID), "evaluation": bad})
