"""Code similarity: the code students wrote, copydetect's fingerprints, the template subtracted."""

from __future__ import annotations

import nbformat
import pytest

from autograder.integrity.code import (
    CodeDocument,
    format_lines,
    line_ranges,
    released_cells,
    similar_code,
    student_code,
)

pytest.importorskip("copydetect")

ORIGINAL = '''
def normalize(features):
    mean = features.mean(axis=0)
    std = features.std(axis=0) + 1e-6
    return (features - mean) / std

def build_model(width):
    model = keras.Sequential([keras.Input((20,)), keras.layers.Dense(width, activation="relu"),
                              keras.layers.Dropout(0.1), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    return model

def train(model, inputs, labels):
    for round_ in range(3):
        model.fit(inputs, labels, epochs=50, batch_size=32, verbose=0, shuffle=True)
    return model
'''

#: the same code, names renamed and functions reordered
RENAMED_REORDERED = '''
def fit_it(net, xs, ys):
    for r in range(3):
        net.fit(xs, ys, epochs=50, batch_size=32, verbose=0, shuffle=True)
    return net

def scale(data):
    mu = data.mean(axis=0)
    sigma = data.std(axis=0) + 1e-6
    return (data - mu) / sigma

def make(units):
    net = keras.Sequential([keras.Input((20,)), keras.layers.Dense(units, activation="relu"),
                            keras.layers.Dropout(0.1), keras.layers.Dense(2, activation="softmax")])
    net.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    return net
'''

HONEST = '''
def build_model():
    inputs = keras.Input(shape=(20,))
    hidden = keras.layers.Dense(32, activation="tanh")(inputs)
    outputs = keras.layers.Dense(2, activation="softmax")(hidden)
    model = keras.Model(inputs, outputs)
    model.compile("rmsprop", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model

history = build_model().fit(x, y, validation_split=0.2, epochs=40, verbose=0)
print(max(history.history["val_accuracy"]))
'''


def test_renamed_and_reordered_code_is_found():
    docs = [CodeDocument("alice", "hw", ORIGINAL), CodeDocument("bob", "hw", RENAMED_REORDERED),
            CodeDocument("carol", "hw", HONEST)]
    pairs = similar_code(docs)
    assert [(p.student_a, p.student_b) for p in pairs] == [("alice", "bob")]
    pair = pairs[0]
    assert pair.similarity_a > 0.8 and pair.similarity_b > 0.8 and pair.similarity == max(
        pair.similarity_a, pair.similarity_b)
    # the matching lines: most of each side
    assert pair.lines_a()[0][0] <= 3 and pair.lines_b()
    marked = "".join(pair.code_a[s:e] for s, e in pair.spans_a)
    assert "features.mean" in marked


def test_the_released_template_is_boilerplate():
    shared = ORIGINAL  # both students hand in what the template gave them, plus a line each
    docs = [CodeDocument("alice", "hw", shared + "print('alice')\n"),
            CodeDocument("bob", "hw", shared + "print('bob was here')\n")]
    assert similar_code(docs) and not similar_code(docs, template=shared)


def test_notebooks_are_compared_separately_and_empty_code_is_skipped():
    docs = [CodeDocument("alice", "part1", ORIGINAL), CodeDocument("bob", "part2", ORIGINAL),
            CodeDocument("carol", "part1", ""), CodeDocument("dave", "part2", "  \n")]
    assert similar_code(docs) == []


def test_thresholds():
    docs = [CodeDocument("alice", "hw", ORIGINAL), CodeDocument("bob", "hw", RENAMED_REORDERED)]
    assert not similar_code(docs, threshold=1.01)
    assert not similar_code(docs, min_overlap=10_000)


def _cell(source: str, **nbgrader):
    cell = nbformat.v4.new_code_cell(source)
    if nbgrader:
        gid = nbgrader.pop("grade_id", "c")
        cell.metadata["nbgrader"] = {"grade_id": gid, "schema_version": 3, **nbgrader}
    return cell


def test_student_code_is_solution_cells_and_added_cells(tmp_path):
    release = nbformat.v4.new_notebook()
    release.cells = [_cell("import keras", grade_id="imports", locked=True),
                     _cell("def f():\n    raise NotImplementedError()", grade_id="f", solution=True),
                     _cell("assert f() == 1", grade_id="test_f", grade=True, locked=True, points=1),
                     _cell("x = 1")]  # a plain cell of the template
    nbformat.write(release, tmp_path / "release.ipynb")
    submitted = nbformat.v4.new_notebook()
    submitted.cells = [_cell("import keras", grade_id="imports", locked=True),
                       _cell("%matplotlib inline\ndef f():\n    return 1", grade_id="f", solution=True),
                       _cell("assert f() == 1", grade_id="test_f", grade=True, locked=True, points=1),
                       _cell("x = 1"), _cell("def helper():\n    return 2")]
    nbformat.write(submitted, tmp_path / "submitted.ipynb")
    code = student_code(tmp_path / "submitted.ipynb", tmp_path / "release.ipynb")
    assert "return 1" in code and "def helper" in code and "%matplotlib" not in code
    assert "import keras" not in code and "assert f()" not in code and "x = 1" not in code
    assert released_cells(tmp_path / "release.ipynb")[0] == "import keras"
    assert student_code(tmp_path / "missing.ipynb", tmp_path / "release.ipynb") == ""


def test_line_ranges():
    code = "a\nbb\nccc\ndddd\n"
    assert line_ranges(code, [(0, 1), (2, 4)]) == ((1, 2),)
    assert line_ranges(code, [(9, 13)]) == ((4, 4),)
    assert format_lines(((1, 2), (4, 4))) == "1-2, 4"
