"""The files of the `style_transfer` assignment: the committed ones are what the module writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from autograder.data import load_dataset
from autograder.data import style_transfer as st

DATA = Path(__file__).resolve().parents[1] / "source" / "style_transfer" / "data"


def test_images_are_small_rgb_and_committed_byte_for_byte(tmp_path):
    content, style = st.images()
    for image in (content, style):
        assert image.shape == (st.SIZE, st.SIZE, 3) and image.dtype == np.uint8
        assert image.std() > 10  # a real photo, not a flat image
    written = st.write_student_files(tmp_path)
    assert sorted(p.name for p in written) == sorted([st.IMAGES_FILE, st.EXTRACTOR_FILE])
    assert (tmp_path / st.IMAGES_FILE).read_bytes() == (DATA / st.IMAGES_FILE).read_bytes()
    split = load_dataset("style_transfer", "train")
    assert np.array_equal(split.x[0], content) and np.array_equal(split.x[1], style)


def test_committed_extractor_has_the_seeded_weights():
    import keras

    committed = keras.models.load_model(DATA / st.EXTRACTOR_FILE)
    fresh = st.build_extractor()
    for a, b in zip(committed.get_weights(), fresh.get_weights(), strict=True):
        assert np.array_equal(a, b)
    maps = committed(np.zeros((1, st.SIZE, st.SIZE, 3), "float32"))
    assert [tuple(m.shape) for m in maps] == [(1, 64, 64, 8), (1, 32, 32, 16), (1, 16, 16, 32)]
