"""Nearest-neighbour pictures of embedding models (face recognition) and their feedback figure."""

from __future__ import annotations

import numpy as np
import pytest

from autograder.data import Split
from autograder.pictures import NeighbourPictures, neighbour_pictures, pictures_of_outputs
from autograder.student_feedback import figures_of

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def split():
    x = np.random.default_rng(0).uniform(0, 1, size=(6, 8, 8, 1)).astype(np.float32)
    return Split(x=x, y=np.array([0, 0, 1, 1, 2, 2]))


def test_right_matches_first_then_closest_mistakes(split):
    # 1-D encodings: identity 0 at 0 and 0.1 (right), 1 at 5 and 9, 2 at 5.5 and 20.
    enc = np.array([[0.0], [0.1], [5.0], [9.0], [5.5], [20.0]])
    pics = neighbour_pictures(enc, split, n=2)
    assert isinstance(pics, NeighbourPictures)
    # nearest: 0->1 (same), 1->0 (same: the same pair, shown once), 2->4 (wrong, 0.25),
    # 4->2 (the same pair), 3->4 (wrong, 12.25), 5->3 (wrong, 121)
    assert list(pics.same) == [True, False, False]
    assert pics.distances == pytest.approx([0.01, 0.25, 12.25])
    assert np.array_equal(pics.queries[1], split.x[2]) and np.array_equal(pics.matches[1], split.x[4])
    assert pics.recall_at_1 == pytest.approx(2 / 6)


def test_embedding_task_gets_neighbour_pictures(split):
    enc = np.arange(12, dtype=np.float64).reshape(6, 2)
    assert isinstance(pictures_of_outputs("embedding", enc, split), NeighbourPictures)


def test_mismatched_encodings_raise(split):
    with pytest.raises(ValueError, match="do not match 6 identities"):
        neighbour_pictures(np.zeros((5, 2)), split)


def test_feedback_figure_is_a_png_with_a_caption(split):
    pics = neighbour_pictures(np.array([[0.0], [0.1], [5.0], [9.0], [5.5], [20.0]]), split)
    (figure,) = figures_of(pics)
    assert figure.png.startswith(PNG) and len(figure.png) > 1000
    assert "closest matches" in figure.caption and "33%" in figure.caption
