"""What sandboxed evaluation costs per submission (issue "custom layers ... graded in a sandbox").

    .venv/bin/python benchmarks/sandboxed_eval.py --n 9     # a class of 9 digits models, 3 custom

A class of ``n`` saved digits classifiers in which a third have a custom layer (a pass-through
``Probe`` layer between two Dense layers: safe mode refuses it, so each is run in a sandbox that
runs the notebook's class definitions), graded as ``autograder grade`` grades a model in load mode
(``measure_model_file`` with the submission's notebook, this thread's architecture cache); then one
VAE of the ``vae`` assignment's shape with a ``Sampling`` layer (three sandboxes: encoder, decoder on
``mu``, decoder on samples) beside the same VAE built from Keras' own layers; then one plain
classifier under ``[evaluation] sandbox = "always"``. Weights are untrained: only time is measured.
Prints a markdown table (seconds per model) and one JSON line. Not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

IMPORTS = "import numpy as np\nimport keras\nfrom keras import layers\n"
PROBE = '''
class Probe(layers.Layer):
    def call(self, x):
        return x
'''
CLASSIFIER = '''
def build_model(custom):
    images = keras.Input(shape=(28, 28))
    x = layers.Dense(64, activation="relu")(layers.Flatten()(images))
    if custom:
        x = Probe()(x)
    return keras.Model(images, layers.Dense(10, activation="softmax")(x))
'''
SAMPLING = '''
class Sampling(layers.Layer):
    def call(self, inputs):
        mu, log_var = inputs
        return mu + keras.ops.exp(0.5 * log_var) * keras.random.normal(keras.ops.shape(mu))


def build_vae(custom):
    images = keras.Input(shape=(784,))
    h = layers.Dense(64, activation="relu")(layers.Dense(128, activation="relu")(images))
    encoder = keras.Model(images, [layers.Dense(8)(h), layers.Dense(8)(h)], name="encoder")
    z_in = keras.Input(shape=(8,))
    h = layers.Dense(128, activation="relu")(layers.Dense(64, activation="relu")(z_in))
    decoder = keras.Model(z_in, layers.Dense(784, activation="sigmoid")(h), name="decoder")
    mu, log_var = encoder(images)
    z = Sampling()([mu, log_var]) if custom else layers.Add()([mu, layers.GaussianNoise(1.0)(log_var)])
    return keras.Model(images, decoder(z), name="vae")
'''


def spec(task: str, dataset: str, metrics: list[tuple[str, str]], sandbox: str = "auto"):
    from autograder.spec import parse_spec

    return parse_spec({
        "assignment": "bench", "notebook": "nb", "task": task, "dataset": dataset, "mode": "load",
        "model_file": "model.keras", "model_grade_id": "model_quality", "seed": 1,
        "metrics": [{"name": n, "points": 1, "baseline": b} for n, b in metrics],
        "evaluation": {"sandbox": sandbox},
    })


def notebook(path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(IMPORTS),
                nbformat.v4.new_code_cell(PROBE + CLASSIFIER + SAMPLING)]
    nbformat.write(nb, path)
    return path


def timed(path: Path, grading_spec, task, test, nb: Path, work: Path, cache) -> tuple[float, str]:
    from autograder.evaluate import measure_model_file
    from autograder.sandboxed_eval import EvaluationSource

    start = time.perf_counter()
    measured = measure_model_file(path, grading_spec, task, test, cache=cache,
                                  source=EvaluationSource(nb, grading_spec, work / "scratch"))
    if measured.error is not None:
        raise SystemExit(f"{path.name}: {measured.error.reason}")
    return time.perf_counter() - start, measured.evaluation


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=9, help="classifiers in the class (a third custom)")
    args = parser.parse_args(argv)
    import keras

    from autograder.data import load_dataset
    from autograder.model_reuse import ArchitectureCache
    from autograder.runner.sandbox import isolation_mode
    from autograder.tasks import get_task

    work = Path(tempfile.mkdtemp(prefix="bench-sandbox-"))
    nb = notebook(work / "nb.ipynb")
    namespace: dict = {"__name__": "__main__"}
    exec(IMPORTS + PROBE + CLASSIFIER + SAMPLING, namespace)
    digits, images = load_dataset("digits", "test"), load_dataset("digit_images", "test")
    classifier = spec("classifier", "digits", [("accuracy", "majority_class")])
    vae = spec("vae", "digit_images", [("mean_squared_error", "mean_image"),
                                       ("kl_in_range_score", "mean_image"),
                                       ("valid_sample_score", "mean_image")])
    cache = ArchitectureCache()
    rows: dict[str, list[float]] = {}
    for i in range(args.n):
        custom = i % 3 == 2
        keras.utils.set_random_seed(i)
        path = work / f"s{i:03d}.keras"
        namespace["build_model"](custom).save(path)
        seconds, how = timed(path, classifier, get_task("classifier"), digits, nb, work, cache)
        rows.setdefault(f"digits classifier, {how}", []).append(seconds)
    for custom in (False, True):
        path = work / f"vae-{custom}.keras"
        namespace["build_vae"](custom).save(path)
        seconds, how = timed(path, vae, get_task("vae"), images, nb, work, cache)
        rows.setdefault(f"vae, {how}", []).append(seconds)
    seconds, how = timed(work / "s000.keras", spec("classifier", "digits", [("accuracy", "majority_class")],
                                                   sandbox="always"),
                         get_task("classifier"), digits, nb, work, ArchitectureCache())
    rows.setdefault(f"digits classifier, {how} (sandbox = \"always\")", []).append(seconds)
    print(f"isolation: {isolation_mode()}, {os.cpu_count()} CPU cores")
    print("| model | evaluation | models | seconds per model |")
    print("|---|---|---|---|")
    for key, values in rows.items():
        name, how = key.split(", ", 1)
        print(f"| {name} | {how} | {len(values)} | {sum(values) / len(values):.2f} |")
    print(json.dumps({k: [round(v, 3) for v in vs] for k, vs in rows.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
