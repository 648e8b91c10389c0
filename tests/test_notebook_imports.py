"""autograder.notebook_imports and kernel_preload: kernel factories import what the notebooks do."""

from __future__ import annotations

import nbformat
import pytest

from autograder.course import Course
from autograder.errors import SpecError
from autograder.notebook_imports import imports_of, installed, notebook_imports
from autograder.runner.grade import kernel_overrides, kernel_preload
from autograder.spec import inferred_spec, parse_spec


@pytest.mark.parametrize("source, expected", [
    ("import numpy as np\nimport os.path", ["numpy", "os.path"]),
    ("from mlxtend.data import mnist_data\nfrom . import local", ["mlxtend.data"]),
    ("from __future__ import annotations\nimport a, b.c", ["a", "b.c"]),
    ("%matplotlib inline\n!pip install x\nimport sklearn", ["sklearn"]),
    ("def f():\n    import keras\n    return keras", ["keras"]),
    ("this is not python (", []),
])
def test_imports_of_a_cell(source, expected):
    assert imports_of(source) == expected


def test_installed_keeps_only_packages_found_here():
    assert installed(["numpy", "my_own_helpers_xyz", "os.path"]) == ("numpy", "os.path")


def _course(tmp_path, cells: dict[str, list[str]]) -> Course:
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()  # noqa: F821\n")
    for name, sources in cells.items():
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
        nb.cells.append(nbformat.v4.new_markdown_cell("import x"))  # markdown: not code
        (tmp_path / "source" / "hw").mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, tmp_path / "source" / "hw" / f"{name}.ipynb")
    return Course.at(tmp_path)


def test_a_homework_without_tensorflow_never_preloads_it(tmp_path):
    course = _course(tmp_path, {"a": ["import numpy as np", "import matplotlib.pyplot as plt"],
                                "b": ["from mlxtend.data import mnist_data\nimport numpy"]})
    assert notebook_imports(course.source_dir("hw").glob("*.ipynb")) == [
        "numpy", "matplotlib.pyplot", "mlxtend.data"]
    spec = course.spec("hw")
    # pyplot picks the plotting backend the kernel sets up itself: not preloaded
    assert kernel_preload(course, spec) == ("numpy", "mlxtend.data")
    assert kernel_overrides(spec, course)["SandboxedKernelManager.preload"] == ["numpy", "mlxtend.data"]


def test_the_spec_overrides_what_the_notebooks_import(tmp_path):
    course = _course(tmp_path, {"a": ["import tensorflow"]})
    assert kernel_preload(course, inferred_spec("hw", ["a"])) == ("tensorflow",)
    spec = parse_spec({"assignment": "hw", "notebook": "a", "tests_only": True, "preload": []})
    assert kernel_preload(course, spec) == ()
    with pytest.raises(SpecError, match="preload must list module names"):
        parse_spec({"assignment": "hw", "notebook": "a", "tests_only": True, "preload": ["no way"]})


def test_the_factory_key_carries_the_modules():
    from autograder.runner.kernel import SandboxedKernelManager
    from autograder.runner.warm_kernels import PRELOAD

    assert SandboxedKernelManager().factory_key().modules == PRELOAD
    light = SandboxedKernelManager(preload=["numpy"]).factory_key()
    assert light.modules == ("numpy",) and light != SandboxedKernelManager().factory_key()


def test_grading_an_assignment_never_released_says_so(tmp_path):
    from autograder.errors import AutograderError
    from autograder.runner.grade import grade_assignment

    course = _course(tmp_path, {"a": ["import numpy"]})
    (tmp_path / "submitted" / "s1" / "hw").mkdir(parents=True)
    with pytest.raises(AutograderError, match="run `nbgrader generate_assignment hw` first"):
        grade_assignment(course, "hw", log=lambda m: None)
