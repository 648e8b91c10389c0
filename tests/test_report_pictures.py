"""Pictures of models (numbers, then PNGs), in the instructor report and in student feedback."""

from __future__ import annotations

import dataclasses
import io
import shutil
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image
from report_helpers import REPO, fake_result

from autograder.course import Course
from autograder.data import Split
from autograder.pictures import (
    ClassifierPictures,
    ReconstructionPictures,
    class_pictures,
    classifier_pictures,
    model_pictures,
    pictures_of_outputs,
    reconstruction_pictures,
)
from autograder.reports import figures
from autograder.reports.report import build_report, class_confusion
from autograder.student_feedback import figures_of, student_pictures


def is_png(data: bytes) -> bool:
    with Image.open(io.BytesIO(data)) as img:
        img.verify()
    return np.asarray(Image.open(io.BytesIO(data)).convert("L")).std() > 5


def test_confusion_matrix_and_most_confident_mistakes():
    y = np.array([0, 1, 2, 2])
    scores = np.array([[0.9, 0.1, 0.0],    # right
                       [0.2, 0.7, 0.1],    # right
                       [0.6, 0.1, 0.3],    # wrong, 0.6 sure; second guess 2
                       [0.1, 0.85, 0.05]])  # wrong, 0.85 sure: first mistake
    p = classifier_pictures(scores, Split(np.arange(4)[:, None], y))
    assert p.confusion.tolist() == [[1, 0, 0], [0, 1, 0], [1, 1, 0]]
    assert p.mistake_images[:, 0].tolist() == [3, 2]
    assert p.mistake_true.tolist() == [2, 2]
    assert p.mistake_top2.tolist() == [[1, 0], [0, 2]]


def test_classifier_pictures_refuse_mismatched_scores():
    with pytest.raises(ValueError, match="do not match"):
        classifier_pictures(np.zeros((3, 2)), Split(np.zeros((4, 1)), np.zeros(4, dtype=int)))


def test_best_and_worst_reconstructions():
    targets = np.zeros((6, 64))
    outputs = targets + np.arange(6)[:, None] / 10  # error grows with the index
    p = reconstruction_pictures(outputs, Split(targets, targets), n=2)
    assert p.n_best == 2
    assert np.argsort(p.errors).tolist() == [0, 1, 3, 2]  # best two, then worst first
    assert p.outputs[:, 0].tolist() == pytest.approx([0.0, 0.1, 0.5, 0.4])
    with pytest.raises(ValueError, match="do not match"):
        reconstruction_pictures(outputs[:, :10], Split(targets, targets))


def test_which_pictures_suit_which_outputs():
    images = Split(np.zeros((4, 64)), np.zeros((4, 64)))
    points = Split(np.zeros((4, 1)), np.zeros((4, 1)))
    assert pictures_of_outputs("regression", np.zeros((4, 1)), points) is None
    vae_outputs = SimpleNamespace(reconstruction=np.ones((4, 64)))
    assert isinstance(pictures_of_outputs("vae", vae_outputs, images), ReconstructionPictures)


def test_figure_inputs_are_checked():
    with pytest.raises(ValueError, match="square"):
        figures.confusion_matrix_plot(np.zeros((2, 3)), "x")
    with pytest.raises(ValueError, match="not square"):
        figures.as_image(np.zeros(10))
    with pytest.raises(ValueError, match="at least one row"):
        figures.image_grid([], [], [], "x")
    assert figures.as_image(np.zeros((5, 5, 1))).shape == (5, 5)


def test_report_shows_the_class_confusion_matrix_and_reconstructions():
    digits = ClassifierPictures(np.eye(3, dtype=int), np.zeros((0, 8, 8)), np.zeros(0), np.zeros((0, 2)))
    bigger = ClassifierPictures(np.ones((4, 4), dtype=int), np.zeros((0, 8, 8)), np.zeros(0),
                                np.zeros((0, 2)))
    assert class_confusion([digits, bigger]).tolist()[0] == [2, 1, 1, 1]
    t = np.random.default_rng(0).random((4, 64))
    recon = reconstruction_pictures(t * 0.9, Split(t, t), n=2)
    results = [fake_result("perfect", 2.0, 0.97, 0.96), fake_result("weak", 2.0, 0.5, 0.3)]
    report = build_report("toy", results, pictures={
        "model_quality": {"perfect": digits, "weak": bigger},
        "second_model": {"perfect": recon, "weak": recon},
    })
    stems = {f.stem: f for f in report.figures}
    assert {"confusion_model_quality", "reconstructions_second_model"} <= set(stems)
    assert "confusion_second_model" not in stems
    assert all(is_png(f.png) for f in report.figures)


def test_feedback_figures_for_each_kind_of_model():
    images = ClassifierPictures(np.eye(10, dtype=int), np.ones((2, 28, 28)) * 0.5, np.array([3, 5]),
                                np.array([[8, 3], [6, 5]]))
    assert len(figures_of(images)) == 2
    flowers = ClassifierPictures(np.eye(3, dtype=int), np.ones((2, 4)), np.array([1, 2]),
                                 np.array([[2, 1]] * 2))
    assert [f.caption.split(" ")[0] for f in figures_of(flowers)] == ["Confusion"]  # inputs are not images
    t = np.random.default_rng(1).random((4, 64))
    assert all(is_png(f.png) for f in figures_of(reconstruction_pictures(t * 0.5, Split(t, t))))
    assert figures_of(None) == []


@pytest.fixture()
def digits_course(tmp_path):
    root = tmp_path / "course"
    shutil.copytree(REPO / "reference_models" / "digits", root / "reference_models" / "digits")
    (root / "nbgrader_config.py").write_text("c = get_config()  # noqa: F821\n")
    return Course.at(root)


@pytest.mark.slow
def test_student_pictures_run_their_model_on_their_training_split_only(digits_course, monkeypatch):
    import keras

    import autograder.data as data

    spec = digits_course.spec("digits")
    folder = digits_course.submitted_dir("digits", "weak")
    folder.mkdir(parents=True)
    model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(),
                              keras.layers.Dense(10, activation="softmax")])
    model.save(folder / spec.model_file)
    asked = []
    real = data.load_dataset
    monkeypatch.setattr(data, "load_dataset",
                        lambda name, split, **kw: asked.append(split) or real(name, split))
    result = dataclasses.replace(fake_result("weak", 2.0, 0.5, 0.3), assignment="digits")
    pictures = student_pictures(digits_course, result, limit=50)
    assert asked == ["train"]
    p = pictures[spec.model_grade_id]
    assert isinstance(p, ClassifierPictures) and p.confusion.sum() == 50
    # the instructor's pictures use the hidden split, and say why when there are none
    found = class_pictures(digits_course, "digits", ["weak", "no_model"], limit=20)
    assert asked[-1] == "test"
    assert set(found.by_model[spec.model_grade_id]) == {"weak"}
    (folder / spec.model_file).write_bytes(b"not a keras file")
    assert model_pictures(folder / spec.model_file, spec, Split(np.zeros((2, 28, 28)), np.zeros(2))) is None
    assert "no saved model could be run" in class_pictures(digits_course, "digits", ["weak"], limit=20).note


def test_class_pictures_without_a_spec_say_why(tmp_path):
    (tmp_path / "nbgrader_config.py").write_text("")
    found = class_pictures(Course.at(tmp_path), "digits", ["weak"])
    assert found.by_model == {} and "no grading spec" in found.note


def test_colour_images_and_stacked_frames_are_drawn():
    rgb = np.zeros((8, 8, 3))
    rgb[..., 0] = 1.0  # red
    assert figures.as_image(rgb).shape == (8, 8, 3)
    frames = np.concatenate([rgb, 1 - rgb], axis=-1)  # two colour frames on the channel axis
    assert np.array_equal(figures.as_image(frames), rgb)
    assert figures.as_image(np.ones((8, 8, 2)) * 2).tolist() == np.ones((8, 8)).tolist()  # clipped
    png = figures.image_grid([[rgb, frames]], ["example"], ["input", "output"], "colour")
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).reshape(-1, 3).astype(int)
    assert ((pixels[:, 0] > 200) & (pixels[:, 1] < 60)).sum() > 100  # red pixels were drawn


def test_each_model_of_a_multi_model_assignment_gets_its_pictures(tmp_path, monkeypatch):
    import autograder.data as data
    from autograder.pictures import student_model_pictures

    (tmp_path / "nbgrader_config.py").write_text("")
    course = Course.at(tmp_path)
    models = tuple(SimpleNamespace(dataset="iris", model_file=f"{g}.keras", model_grade_id=g)
                   for g in ("first_quality", "second_quality"))
    monkeypatch.setattr(Course, "spec", lambda self, a: SimpleNamespace(models=lambda: models))
    asked = []
    real = data.load_dataset
    monkeypatch.setattr(data, "load_dataset",
                        lambda name, split, **kw: asked.append(split) or real(name, split))
    assert student_model_pictures(course, "toy", "weak", "train") == {"first_quality": None,
                                                                       "second_quality": None}
    assert asked == ["train", "train"]
    assert class_pictures(course, "toy", ["weak"]).by_model == {}
