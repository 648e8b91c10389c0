"""Restoration data (bundled photos, generated clips) and the restoration task's baselines."""

from __future__ import annotations

import numpy as np
import pytest

from autograder.data import Split, load_dataset
from autograder.data import restoration as data
from autograder.errors import SpecError
from autograder.tasks import get_task

TASK = get_task("restoration")


def test_checkerboard_tiles_keep_hidden_tiles_out_of_the_students_file():
    train, test = data.tiles("train"), data.tiles("test")
    assert train.shape[1:] == test.shape[1:] == (32, 32, 3)
    students = {t.tobytes() for t in (train * 255).round().astype(np.uint8)}
    assert not students & {t.tobytes() for t in (test * 255).round().astype(np.uint8)}


def test_portrait_halves_do_not_overlap():
    left, right = data.portrait_half("train"), data.portrait_half("test")
    assert left.shape == right.shape == (600, 256, 3)
    assert not np.array_equal(left, right)


def test_student_file_holds_exactly_the_training_material(tmp_path):
    [path] = data.write_student_files(tmp_path)
    with np.load(path) as f:
        assert np.allclose(f["tiles"] / 255.0, data.tiles("train"))
        assert np.array_equal(f["portrait"], data.portrait_half("train"))
        assert f["clips"].shape == (1000, 3, 32, 32, 3)
    again = data.write_student_files(tmp_path / "again")[0]
    assert again.read_bytes() == path.read_bytes()  # deterministic


def test_inputs_are_made_as_the_notebook_describes():
    colour = load_dataset("restoration.colorize", "test")
    assert np.allclose(colour.x[..., 0], colour.y.max(axis=-1), atol=1 / 255)  # grey = HSV value
    assert np.ptp(colour.x, axis=-1).max() == 0
    inpaint = load_dataset("restoration.inpaint", "test")
    assert inpaint.x[:, 8:24, 8:24].max() == 0
    assert np.array_equal(inpaint.x[:, :8], inpaint.y[:, :8])
    upres = load_dataset("restoration.upres", "test")
    assert upres.x.shape[1:] == (64, 64, 3) and upres.y.shape[1:] == (256, 256, 3)
    assert np.allclose(upres.x[0].mean(), upres.y[0].mean(), atol=0.01)  # area averaging keeps the mean


def test_clips_move_at_constant_speed():
    clips = data.moving_shape_clips(50, seed=3)
    assert clips.shape == (50, 3, 32, 32, 3) and clips.dtype == np.uint8
    for clip in clips[:10]:
        colours, counts = np.unique(clip[0].reshape(-1, 3), axis=0, return_counts=True)
        background = colours[counts.argmax()]  # the shape covers less than half the frame
        centres = []
        for frame in clip:
            ys, xs = np.nonzero(np.any(frame != background, axis=-1))
            assert len(ys) > 0, "the shape is inside every frame"
            centres.append((ys.mean(), xs.mean()))
        (y1, x1), (y2, x2), (y3, x3) = centres
        assert abs(y2 - (y1 + y3) / 2) < 0.51 and abs(x2 - (x1 + x3) / 2) < 0.51


def test_hidden_files_are_the_source_images():
    names = {p.name for p in data.hidden_files()}
    assert names == {"china.jpg", "flower.jpg", "grace_hopper.jpg"}


def test_baselines():
    x = np.zeros((2, 2, 2, 6), np.float32)
    x[..., :3], x[..., 3:] = 0.2, 0.6
    frames = Split(x=x, y=np.zeros((2, 2, 2, 3), np.float32))
    assert np.allclose(TASK.baseline_outputs("frame_average", frames, frames), 0.4)
    small = Split(x=np.arange(8, dtype=np.float32).reshape(2, 2, 2, 1), y=np.zeros((2, 4, 4, 1), np.float32))
    up = TASK.baseline_outputs("nearest_upsample", small, small)
    assert up.shape == (2, 4, 4, 1) and np.array_equal(up[0, :2, :2, 0], np.zeros((2, 2)))
    assert up[0, 3, 3, 0] == 3.0
    same = Split(x=np.ones((1, 2, 2, 3), np.float32), y=np.zeros((1, 2, 2, 3), np.float32))
    assert np.array_equal(TASK.baseline_outputs("input", same, same), same.x)
    with pytest.raises(SpecError, match="unknown restoration baseline"):
        TASK.baseline_outputs("majority_class", same, same)
    with pytest.raises(SpecError, match="multiple of 3"):
        odd = Split(x=np.ones((1, 2, 2, 4), np.float32), y=same.y)
        TASK.baseline_outputs("frame_average", odd, odd)


def test_only_offline_sources():
    from autograder.errors import AutograderError

    with pytest.raises(AutograderError, match="offline only"):
        load_dataset("restoration.frames", "test", source="online")
