"""What the sandbox runs of a notebook to rebuild a model: definitions, never training."""

from __future__ import annotations

import nbformat

from autograder.definitions import definitions_of, notebook_definitions

MIXED = '''
import numpy as np
import keras
from keras import layers
LATENT_DIM = 8
SHAPE: tuple = (28, 28)
L = keras.layers
np.random.seed(0)
x_train = np.load("data.npz")["x"]


class Sampling(layers.Layer):
    def call(self, inputs):
        return inputs[0]


def build_model():
    return None


model = build_model()
model.fit(x_train, x_train)
model.save("model.keras")
'''


def test_a_cell_that_also_trains_gives_only_its_definitions():
    d = definitions_of([("build_model", MIXED)])
    (name, code), = d.cells
    assert name == "build_model"
    assert "class Sampling" in code and "def build_model" in code and "LATENT_DIM = 8" in code
    assert "fit" not in code and "save" not in code and "np.load" not in code and "seed" not in code
    assert {"np", "keras", "layers", "Sampling", "build_model", "LATENT_DIM", "SHAPE", "L"} <= d.defined
    assert "model" not in d.defined and "x_train" not in d.defined
    assert d.missing(("Sampling", "Attention")) == ("Attention",)


def test_a_class_inside_a_block_is_named_in_the_reason():
    d = definitions_of([("layers", "import keras\nif True:\n    class Sampling(keras.layers.Layer):\n"
                                    "        pass\n")])
    assert "Sampling" not in d.defined
    reason = d.why_missing(("Sampling",), "vae_model.keras")
    assert "inside a block" in reason and "'layers'" in reason and "top level" in reason
    assert "register_keras_serializable" not in reason


def test_a_class_the_notebook_never_defines_and_a_broken_cell():
    d = definitions_of([("a", "import keras"), ("b", "def broken(:\n")])
    assert d.unparsable == ("b",)
    reason = d.why_missing(("MyModel",), "m.keras")
    assert "'MyModel'" in reason and "does not define" in reason and "b" in reason


def _notebook(tmp_path, cells):
    nb = nbformat.v4.new_notebook()
    for gid, src in cells:
        cell = nbformat.v4.new_code_cell(src)
        if gid:
            cell.metadata["nbgrader"] = {"grade_id": gid, "solution": True, "grade": False,
                                         "locked": False, "schema_version": 3}
        nb.cells.append(cell)
    nb.cells.append(nbformat.v4.new_markdown_cell("class NotCode: pass"))
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    return path


def test_every_code_cell_or_the_named_cells(tmp_path):
    path = _notebook(tmp_path, [("imports", "%matplotlib inline\nimport os\nos.environ['X'] = '1'"),
                                (None, "class A:\n    pass\nprint(A())"),
                                ("train", "a = A()\nclass B(A):\n    pass")])
    d = notebook_definitions(path)
    assert [name for name, _ in d.cells] == ["imports", "cell 2", "train"]
    assert "NotCode" not in d.defined and {"os", "A", "B"} <= d.defined
    assert all("print" not in code and "environ" not in code for _, code in d.cells)
    named = notebook_definitions(path, ("train",))
    assert named.cells == (("train", "a = A()\nclass B(A):\n    pass"),)  # as written
